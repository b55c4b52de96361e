import { Command } from 'commander';
import { registerBot } from './commands/bot.ts';
import { registerPraise } from './commands/praise.ts';
import { registerStart } from './commands/start.ts';
import { registerWorker } from './commands/worker.ts';

const program = new Command('kuakua').description('夸夸群 praise bot');
registerStart(program);
registerBot(program);
registerPraise(program);
registerWorker(program);
await program.parseAsync(process.argv);
