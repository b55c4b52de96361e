import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Core } from '../../src/adapter.ts';
import { createCore } from '../../src/core.ts';
import type { IncomingMessage } from '../../src/events.ts';
import type { AppConfig } from '../../src/app/config.ts';
import { createLogger } from '../../src/logger.ts';
import { replyQueueName } from '../../src/queue/contracts.ts';
import { createEngine } from '../../worker/engine/index.ts';
import type { Engine } from '../../worker/engine/types.ts';
import { startWorker, type RunningWorker } from '../../worker/service.ts';
import { makeRandomModel } from '../helpers/model.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { testConfig, waitFor } from '../service/support.ts';

/** Everything behind an adapter, all real: a private redis-server, the Core, and a worker running a tiny random model. */
export interface Stack {
  config: AppConfig;
  core: Core;
  logger: Logger;
  /** Every log line written by the core, the worker and the adapter under test. */
  logs: string[];
  /**
   * Resolves once no praise job and no reply job is waiting, delayed or running: every message the core has queued
   * so far has been answered and delivered. Call it after the message was handed to the core (see `handled`).
   */
  idle(): Promise<void>;
  /** Resolves with the core's action once the adapter's dispatcher has handed message `messageId` to the core. */
  handled(messageId: string): Promise<string>;
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
  const connection = { url: redis.url };
  const queues = [config.queue.name, replyQueueName(config.queue.name, core.instanceId)].map((name) => new Queue(name, { connection, prefix: config.redis.prefix }));
  const busy = async () => {
    for (const q of queues) {
      const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      if (Object.values(counts).some((n) => n > 0)) return true;
    }
    return false;
  };
  return {
    config,
    core,
    logger,
    logs,
    async idle() {
      await waitFor(async () => !(await busy()) || undefined, 'the praise and reply queues to empty');
    },
    handled(messageId) {
      return waitFor(() => {
        for (const line of logs) {
          if (!line.includes('"message handled"')) continue;
          const entry = JSON.parse(line) as { messageId?: string; action?: string };
          if (entry.messageId === messageId) return entry.action;
        }
        return undefined;
      }, `message ${messageId} handled by the core`);
    },
    async close() {
      await Promise.all(queues.map((q) => q.close()));
      await core.close();
      await worker.close();
      await engine.close();
      await redis.close();
    },
  };
}

/** `core`, also keeping every message an adapter hands to it in `handed`, in order. */
export function recordingCore(core: Core, handed: IncomingMessage[]): Core {
  return {
    instanceId: core.instanceId,
    handle: (m) => {
      handed.push(m);
      return core.handle(m);
    },
    onDelivery: (p, d) => core.onDelivery(p, d),
    status: () => core.status(),
    close: () => core.close(),
  };
}
