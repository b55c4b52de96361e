import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { PROJECT_ROOT } from '../projectRoot.ts';
import { loadEnvFile } from './envFile.ts';

// Everything kuakua writes (WeChat logins, the private Redis's data and password) is for its own user alone, from the
// first file on: bin/kuakua.mjs sets the same before it builds.
process.umask(0o077);

const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };

/** Each command's module, loaded on demand: `kuakua praise` needs neither the queue nor the web adapter. */
const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  start: async () => (await import('./commands/start.ts')).registerStart,
  bot: async () => (await import('./commands/bot.ts')).registerBot,
  praise: async () => (await import('./commands/praise.ts')).registerPraise,
  worker: async () => (await import('./commands/worker.ts')).registerWorker,
};

try {
  loadEnvFile();
} catch (err) {
  process.stderr.write(`kuakua: ${(err as Error).message}\n`);
  process.exit(2);
}

const program = new Command('kuakua').description('夸夸群 praise bot').version(version, '-v, --version', 'print the version');
// Only the command being run is loaded (every command for help and errors): loading them all made `kuakua praise` start
// a sixth slower, BENCHMARKS.md#cli-start-up.
const named = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
const wanted = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
for (const name of wanted) (await COMMANDS[name]!())(program);
await program.parseAsync(process.argv);
