import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Core } from '../../src/adapter.ts';
import { createCore } from '../../src/core.ts';
import type { AppConfig } from '../../src/app/config.ts';
import type { Delivery, IncomingMessage, Platform } from '../../src/events.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { createEngine } from '../../worker/engine/index.ts';
import type { Engine } from '../../worker/engine/types.ts';
import { startPostReader } from '../../worker/engine/postReader.ts';
import { startWorker, type RunningWorker } from '../../worker/service.ts';
import { recordLogs } from '../helpers/logs.ts';
import { makeRandomModel } from '../helpers/model.ts';
import { praiseQueues, queuesIdle } from '../helpers/queues.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { testConfig, waitFor } from '../service/support.ts';

/**
 * Everything behind an adapter, all real: a private redis-server, the Core with the bundled post reader, and a worker
 * running a tiny random model.
 */
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
  const { logger, lines: logs, entries } = recordLogs();
  const engine: Engine = await createEngine({ modelDir: await makeRandomModel(), threads: 1, logger });
  const worker: RunningWorker = await startWorker({ config, logger, engine });
  const reader = await startPostReader(resolve(PROJECT_ROOT, config.reader.dir));
  const core = await createCore({ config, logger, reader });
  const queues = praiseQueues(config, redis.url, [core.instanceId]);
  return {
    config,
    core,
    logger,
    logs,
    idle: () => queuesIdle(queues),
    handled(messageId) {
      return waitFor(
        () => entries('message handled').find((e) => e.messageId === messageId)?.action as string | undefined,
        `message ${messageId} handled by the core`,
      );
    },
    async close() {
      await Promise.all(queues.map((q) => q.close()));
      await core.close();
      await reader.close();
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

/** `core`, with deliveries that can be held back; see `gatedCore`. */
export interface GatedCore {
  core: Core;
  /** From now on deliveries wait at the gate. */
  hold(): void;
  /** Lets the waiting deliveries (and later ones) through. */
  release(): void;
  /** Every delivery that reached the gate, in order. */
  arrived: Delivery[];
  /** Hands `d` straight to the deliverer registered last for its platform, as one attempt of the core would. */
  deliver(d: Delivery): Promise<void>;
}

/**
 * `core`, except that a delivery can be held at a gate; once let through it goes to the deliverer registered last for
 * its platform, as after an adapter restart the core's next attempt reaches the new adapter.
 */
export function gatedCore(core: Core): GatedCore {
  const deliverers = new Map<Platform, (d: Delivery) => Promise<void>>();
  const arrived: Delivery[] = [];
  let gate = Promise.resolve();
  let open = () => {};
  const deliver = async (d: Delivery) => {
    const to = deliverers.get(d.platform);
    if (!to) throw new Error(`no ${d.platform} deliverer registered`);
    await to(d);
  };
  return {
    core: {
      instanceId: core.instanceId,
      handle: (m) => core.handle(m),
      onDelivery(platform, deliver) {
        deliverers.set(platform, deliver);
        core.onDelivery(platform, async (d) => {
          arrived.push(d);
          await gate;
          await deliver(d);
        });
      },
      status: () => core.status(),
      close: () => core.close(),
    },
    hold() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release: () => open(),
    arrived,
    deliver,
  };
}
