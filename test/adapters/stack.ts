import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Core } from '../../src/adapter.ts';
import { createCore } from '../../src/core.ts';
import type { AppConfig } from '../../src/app/config.ts';
import type { Delivery, IncomingMessage, Platform } from '../../src/events.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { createEngine } from '../../worker/engine/index.ts';
import type { Engine, GenerateRequest } from '../../worker/engine/types.ts';
import { startPostReader } from '../../worker/engine/postReader.ts';
import { startWorker, type RunningWorker } from '../../worker/service.ts';
import { recordLogs } from '../helpers/logs.ts';
import { makeRandomModel } from '../helpers/model.ts';
import { praiseQueues, queuesIdle } from '../helpers/queues.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { testConfig, waitFor } from '../service/support.ts';

/**
 * Everything behind an adapter, all real: a private redis-server, the Core with the bundled post reader, and a worker
 * running a tiny random model (or the bundled generator and judge, `StackOptions.bundledSeed`).
 */
export interface Stack {
  config: AppConfig;
  core: Core;
  logger: Logger;
  /** Every log line written by the core, the worker and the adapter under test. */
  logs: string[];
  /** Those log lines with message `msg`, parsed. */
  entries(msg: string): Record<string, unknown>[];
  /**
   * Resolves once no praise job and no reply job is waiting, delayed or running: every message the core has queued
   * so far has been answered and delivered. Call it after the message was handed to the core (see `handled`).
   */
  idle(): Promise<void>;
  /** Resolves with the core's action once the adapter's dispatcher has handed message `messageId` to the core. */
  handled(messageId: string): Promise<string>;
  /** Every candidate the engine sampled for `post` so far, as it sampled them (before the policy tidies them). */
  sampled(post: string): string[];
  close(): Promise<void>;
}

export interface StackOptions {
  /**
   * Run the bundled generator and judge (config.model: dir, judgeDir, variant, candidates, maxNewTokens) with every
   * request's seed fixed at this (the worker sets none), instead of a tiny random model sampling one short candidate.
   */
  bundledSeed?: number;
}

export async function startStack(patch: Parameters<typeof testConfig>[1] = {}, opts: StackOptions = {}): Promise<Stack> {
  const redis: TestRedis = await startRedis();
  const bundled = opts.bundledSeed !== undefined;
  const config = testConfig(redis.url, {
    model: bundled ? { threads: 1 } : { candidates: 1, maxNewTokens: 8, threads: 1 },
    // With the bundled model the tests require a generated praise: retrieved ones would compete with it, and a frame
    // would raise the bar to policy.minScoreOverFrame. Sampling is seeded, but its floats, and so its samples, differ
    // between CPU models: a few more batches let a post the model handles well get a generated praise on any machine.
    ...(bundled && { retrieval: { dir: '' }, frames: { dir: '' }, policy: { resampleAttempts: 4 } }),
    ...patch,
  });
  const { logger, lines: logs, entries } = recordLogs();
  const engine = recordingEngine(
    bundled
      ? await createEngine({
          modelDir: resolve(PROJECT_ROOT, config.model.dir),
          judgeDir: resolve(PROJECT_ROOT, config.model.judgeDir),
          variant: config.model.variant,
          threads: 1,
          replicas: 1,
          logger,
        })
      : await createEngine({ modelDir: await makeRandomModel(), threads: 1, logger }),
    opts.bundledSeed,
  );
  const worker: RunningWorker = await startWorker({ config, logger, engine: engine.engine });
  const reader = await startPostReader(resolve(PROJECT_ROOT, config.reader.dir));
  const core = await createCore({ config, logger, reader });
  const queues = praiseQueues(config, redis.url, [core.instanceId]);
  return {
    config,
    core,
    logger,
    logs,
    entries,
    idle: () => queuesIdle(queues),
    handled(messageId) {
      return waitFor(
        () => entries('message handled').find((e) => e.messageId === messageId)?.action as string | undefined,
        `message ${messageId} handled by the core`,
      );
    },
    sampled: (post) => engine.sampled.get(post) ?? [],
    async close() {
      await Promise.all(queues.map((q) => q.close()));
      await core.close();
      await reader.close();
      await worker.close();
      await engine.engine.close();
      await redis.close();
    },
  };
}

/**
 * `inner`, keeping every candidate it samples by post. When `seed` is given, a post's first request is sampled with
 * that seed and each later one (a resample) with the next.
 */
function recordingEngine(inner: Engine, seed?: number): { engine: Engine; sampled: Map<string, string[]> } {
  const sampled = new Map<string, string[]>();
  const calls = new Map<string, number>();
  const seeded = (r: GenerateRequest): GenerateRequest => {
    const n = calls.get(r.post) ?? 0;
    calls.set(r.post, n + 1);
    return { ...r, seed: seed! + n };
  };
  const engine: Engine = {
    modelName: inner.modelName,
    async generate(reqs) {
      const results = await inner.generate(seed === undefined ? reqs : reqs.map(seeded));
      for (const [i, r] of reqs.entries()) sampled.set(r.post, [...(sampled.get(r.post) ?? []), ...results[i]!.candidates]);
      return results;
    },
    close: () => inner.close(),
    on: inner.on && ((event, listener) => inner.on!(event, listener)),
  };
  return { engine, sampled };
}

/** `core`, also keeping every message an adapter hands to it in `handed`, in order. */
export function recordingCore(core: Core, handed: IncomingMessage[]): Core {
  return {
    instanceId: core.instanceId,
    handle: (m) => {
      handed.push(m);
      return core.handle(m);
    },
    onDelivery: (p, d, o) => core.onDelivery(p, d, o),
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
      onDelivery(platform, deliver, options) {
        deliverers.set(platform, deliver);
        core.onDelivery(
          platform,
          async (d) => {
            arrived.push(d);
            await gate;
            await deliver(d);
          },
          options,
        );
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
