import type { Command } from 'commander';
import { assertBindAllowed } from '../../adapters/web/index.ts';
import { loadConfigOrExit } from '../config.ts';
import { createLogger } from '../logger.ts';
import { ensureRedis } from '../redis.ts';
import { stopAll } from '../shutdown.ts';
import { runRole, startBotRole } from './bot.ts';
import { startWorkerRole } from './worker.ts';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run everything in one process: Redis if none answers, a worker with the model, the web playground and the configured platform adapters')
    .action(async () => {
      const config = loadConfigOrExit();
      const logger = createLogger({ level: config.log.level });
      await runRole('start', logger, async () => {
        // Fail before the slow model load when the web server could not start anyway.
        assertBindAllowed(config.http.host, config.secrets.apiToken);
        const redis = await ensureRedis({ url: config.secrets.redisUrl, logger, autoStart: config.redis.autoStart, dataDir: config.redis.dataDir });
        const worker = await startWorkerRole(config, logger, redis.url);
        const bot = await startBotRole(config, logger, redis.url).catch(async (err: unknown) => {
          await stopAll(logger, worker);
          throw err;
        });
        // Adapters and web stop taking messages first, then the worker finishes what it holds, then the core and Redis.
        const parts = [...bot.front, ...worker, bot.core];
        if (redis.stop) parts.push({ name: 'redis', stop: redis.stop });
        return { parts, banner: `kuakua is running: open ${bot.url}  (adapters: ${bot.adapters.join(', ')}; model: ${config.model.dir})` };
      });
    });
}
