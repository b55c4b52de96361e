import { Command } from 'commander';
import { registerPraise } from './commands/praise.ts';

const program = new Command('kuakua').description('夸夸群 praise bot');
registerPraise(program);
await program.parseAsync(process.argv);
