import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { createEngine } from '../../worker/engine/index.ts';
import { startWorker } from '../../worker/service.ts';
import { loadConfigOrExit, type Config } from '../config.ts';
import { createLogger } from '../logger.ts';
import { ensureRedis } from '../redis.ts';
import { exitOnSignals, stopAll } from '../shutdown.ts';

/** Loads the engine and starts a queue worker; returns the parts to stop, in order (worker first, so jobs in hand finish). */
export async function startWorkerRole(config: Config, logger: Logger, redisUrl: string): Promise<{ name: string; stop(): Promise<void> }[]> {
  const engine = await createEngine({
    modelDir: resolve(config.model.dir),
    variant: config.model.variant,
    threads: config.model.threads || undefined,
    executionProvider: config.model.executionProvider,
    logger: logger.child({ component: 'engine' }),
  });
  try {
    const worker = await startWorker({ config, logger, engine, redisUrl });
    return [
      { name: 'worker', stop: () => worker.close() },
      { name: 'engine', stop: () => engine.close() },
    ];
  } catch (err) {
    await engine.close();
    throw err;
  }
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a queue worker: generate praise for every bot that shares this Redis (REDIS_URL)')
    .option('--model <dir>', 'model directory (model.dir / KUAKUA_MODEL_DIR)')
    .option('--variant <variant>', 'fp32 | int8 | q4 (model.variant / KUAKUA_MODEL_VARIANT)')
    .option('--concurrency <n>', 'jobs generated at once (worker.concurrency / KUAKUA_WORKER_CONCURRENCY)')
    .action(async (o: { model?: string; variant?: string; concurrency?: string }) => {
      const env = { ...process.env };
      if (o.model) env.KUAKUA_MODEL_DIR = o.model;
      if (o.variant) env.KUAKUA_MODEL_VARIANT = o.variant;
      if (o.concurrency) env.KUAKUA_WORKER_CONCURRENCY = o.concurrency;
      const config = loadConfigOrExit({ env });
      const logger = createLogger({ level: config.log.level });
      try {
        const redis = await ensureRedis({ url: config.secrets.redisUrl, logger, autoStart: config.redis.autoStart, dataDir: config.redis.dataDir });
        const parts = await startWorkerRole(config, logger, redis.url);
        if (redis.stop) parts.push({ name: 'redis', stop: redis.stop });
        exitOnSignals(logger, () => stopAll(logger, parts));
      } catch (err) {
        logger.fatal({ err: (err as Error).message }, 'worker could not start');
        process.stderr.write(`kuakua worker: ${(err as Error).message}\n`);
        process.exit(1);
      }
    });
}
