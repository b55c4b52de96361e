import type { Logger } from 'pino';
import type { Core } from '../../src/adapter.ts';
import { createCore } from '../../src/core.ts';
import type { Config } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createEngine } from '../../worker/engine/index.ts';
import type { Engine } from '../../worker/engine/types.ts';
import { startWorker, type RunningWorker } from '../../worker/service.ts';
import { makeRandomModel } from '../helpers/model.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { testConfig } from '../service/support.ts';

/** Everything behind an adapter, all real: a private redis-server, the Core, and a worker running a tiny random model. */
export interface Stack {
  config: Config;
  core: Core;
  logger: Logger;
  /** Every log line written by the core, the worker and the adapter under test. */
  logs: string[];
  close(): Promise<void>;
}

export async function startStack(patch: Parameters<typeof testConfig>[1] = {}): Promise<Stack> {
  const redis: TestRedis = await startRedis();
  const config = testConfig(redis.url, {
    model: { candidates: 1, maxNewTokens: 8, threads: 1 },
    ...patch,
  });
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } });
  const engine: Engine = await createEngine({ modelDir: await makeRandomModel(), threads: 1, logger });
  const worker: RunningWorker = await startWorker({ config, logger, engine });
  const core = await createCore({ config, logger });
  return {
    config,
    core,
    logger,
    logs,
    async close() {
      await core.close();
      await worker.close();
      await engine.close();
      await redis.close();
    },
  };
}
