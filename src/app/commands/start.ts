import type { Command } from 'commander';
import { assertBindAllowed, assertPortFree } from '../../../adapters/web/index.ts';
import { stopAll } from '../shutdown.ts';
import { bannerWithNotes, startBotRole } from './bot.ts';
import { runRole } from '../role.ts';
import { startWorkerRole } from './worker.ts';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run everything in one process: Redis if none answers, a worker with the model, the web playground and the configured platform adapters')
    .action(() =>
      runRole('start', async ({ config, logger, redis, guard }) => {
        // Fail before the slow model load when the web server could not start anyway.
        assertBindAllowed(config.http.host, config.secrets.apiToken);
        await assertPortFree(config.http.host, config.http.port);
        const worker = await startWorkerRole(config, logger, redis);
        const bot = await startBotRole(config, logger, redis, { guard }).catch(async (err: unknown) => {
          await stopAll(logger, worker);
          throw err;
        });
        // Adapters and web stop taking messages first, then the worker finishes what it holds, then the core.
        return {
          parts: [...bot.front, ...worker, bot.core],
          banner: bannerWithNotes(`kuakua is running: open ${bot.url}  (adapters: ${bot.adapters.join(', ')}; model: ${config.model.dir})`, bot.notes),
        };
      }),
    );
}
