import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { createEngine } from '../../../worker/engine/index.ts';
import { startWorker } from '../../../worker/service.ts';
import type { RedisTarget } from '../../redisTarget.ts';
import type { AppConfig } from '../config.ts';
import { runRole, type Part } from '../role.ts';

/** Loads the engine and starts a queue worker; returns the parts to stop, in order (worker first, so jobs in hand finish). */
export async function startWorkerRole(config: AppConfig, logger: Logger, redis: RedisTarget): Promise<Part[]> {
  const engine = await createEngine({
    modelDir: resolve(config.model.dir),
    variant: config.model.variant,
    judgeDir: config.model.judgeDir ? resolve(config.model.judgeDir) : undefined,
    threads: config.model.threads || undefined,
    replicas: config.model.replicas || undefined,
    executionProvider: config.model.executionProvider,
    logger: logger.child({ component: 'engine' }),
  });
  try {
    const worker = await startWorker({ config, logger, engine, redis });
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
    .description('run a queue worker: generate praise for every bot that shares this Redis (REDIS_URL or REDIS_SENTINELS)')
    .option('--model <dir>', 'model directory (model.dir / KUAKUA_MODEL_DIR)')
    .option('--variant <variant>', 'fp32 | int8 | q4 (model.variant / KUAKUA_MODEL_VARIANT)')
    .option('--concurrency <n>', 'jobs generated at once (worker.concurrency / KUAKUA_WORKER_CONCURRENCY)')
    .action(async (o: { model?: string; variant?: string; concurrency?: string }) => {
      const env = { ...process.env };
      if (o.model) env.KUAKUA_MODEL_DIR = o.model;
      if (o.variant) env.KUAKUA_MODEL_VARIANT = o.variant;
      if (o.concurrency) env.KUAKUA_WORKER_CONCURRENCY = o.concurrency;
      await runRole(
        'worker',
        async ({ config, logger, redis }) => ({
          parts: await startWorkerRole(config, logger, redis),
          banner: `kuakua worker: model ${config.model.dir} (${config.model.variant}), concurrency ${config.worker.concurrency}`,
        }),
        env,
      );
    });
}
