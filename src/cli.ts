import { Command } from 'commander';
import { registerPraise } from './commands/praise.ts';
import { registerWorker } from './commands/worker.ts';

const program = new Command('kuakua').description('夸夸群 praise bot');
registerPraise(program);
registerWorker(program);
await program.parseAsync(process.argv);
