import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerBot } from './commands/bot.ts';
import { registerPraise } from './commands/praise.ts';
import { registerStart } from './commands/start.ts';
import { registerWorker } from './commands/worker.ts';
import { loadEnvFile } from './envFile.ts';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

try {
  loadEnvFile();
} catch (err) {
  process.stderr.write(`kuakua: ${(err as Error).message}\n`);
  process.exit(2);
}

const program = new Command('kuakua').description('夸夸群 praise bot').version(version, '-v, --version', 'print the version');
registerStart(program);
registerBot(program);
registerPraise(program);
registerWorker(program);
await program.parseAsync(process.argv);
