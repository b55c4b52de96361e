import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Core } from '../../src/adapter.ts';
import { createCore } from '../../src/core.ts';
import { loadConfig, type AppConfig } from '../../src/app/config.ts';
import type { Delivery } from '../../src/events.ts';
import { idempotencyKey, jobIdFor, redisKeys } from '../../src/queue/contracts.ts';
import { createEngine, type Engine } from '../../worker/engine/index.ts';
import { startWorker } from '../../worker/service.ts';
import { recordLogs } from '../helpers/logs.ts';
import { makeRandomModel } from '../helpers/model.ts';
import { praiseQueues, queuesIdle } from '../helpers/queues.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { collect, message, silentLogger, waitFor } from '../service/support.ts';
import type { KuakuaProcess } from '../helpers/cli.ts';
import { configFile, requestQueue, slowModel, startWorkerProcess } from './support.ts';

// Faults with real parts: a private redis-server, `kuakua worker` processes and the real engine on random models.
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function redisServer(opts: { aof?: boolean } = {}): Promise<TestRedis> {
  const r = await startRedis(opts);
  cleanups.push(() => r.close());
  return r;
}
async function core(config: Parameters<typeof createCore>[0]['config'], instanceId: string): Promise<{ bot: Core; got: Delivery[] }> {
  const bot = await createCore({ config, logger: silentLogger, instanceId });
  cleanups.push(() => bot.close());
  return { bot, got: collect(bot) };
}
async function workerProcess(url: string, configPath: string): Promise<KuakuaProcess> {
  const w = await startWorkerProcess(url, configPath);
  cleanups.push(() => w.stop());
  return w;
}
/** The request queue and the bot's reply queue, closed after the test. */
function queues(config: AppConfig, url: string, instanceId: string): [Queue, Queue] {
  const [requests, replies] = praiseQueues(config, url, [instanceId]) as [Queue, Queue];
  cleanups.push(() => Promise.all([requests.close(), replies.close()]));
  return [requests, replies];
}
/** Who gave the one answer to a message: "reply:<bot>" (a worker), "timeout:<bot>" (the timeout policy). */
async function answeredBy(url: string, prefix: string, key: string): Promise<string | null> {
  const admin = new Redis(url);
  try {
    return await admin.get(redisKeys(prefix).answered(key));
  } finally {
    admin.disconnect();
  }
}

describe('a worker killed in the middle of a generation', () => {
  it('with the default lock, stall and timeout settings, another worker answers the request once, with the model', async () => {
    const defaults = loadConfig({ env: {} }).queue;
    const redis = await redisServer();
    const { path, config } = configFile(redis.url, {
      model: { dir: await slowModel(), variant: 'fp32', threads: 1, candidates: 4, maxNewTokens: 400 },
      worker: { concurrency: 1, heartbeatSeconds: 1 },
      policy: { minReplyChars: 1 },
    });
    // The timings under test are the shipped defaults.
    expect(config.queue).toMatchObject({
      lockDurationMs: defaults.lockDurationMs,
      stalledIntervalMs: defaults.stalledIntervalMs,
      timeoutMs: defaults.timeoutMs,
    });

    const { bot, got } = await core(config, 'rel-kill');
    const first = await workerProcess(redis.url, path);
    const msg = message({ text: '求夸 我今天把论文写完了' });
    const queued = await bot.handle(msg);
    expect(queued.action).toBe('queued');
    const [requests, replies] = queues(config, redis.url, 'rel-kill');
    // Active: the job is in the worker's hands (its generation takes seconds), and it dies with it.
    await waitFor(async () => (await requests.getActiveCount()) === 1, 'the first worker to take the job');
    first.proc.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await first.exited).toBe('SIGKILL');
    expect(first.output()).not.toContain('praise generated');
    expect(got).toEqual([]);

    const second = await workerProcess(redis.url, path);
    const secondReadyAt = Date.now();
    await waitFor(() => got.length === 1, 'the answer from the second worker', config.queue.timeoutMs + 10_000);
    const answeredAt = Date.now();
    const key = idempotencyKey(msg);
    // Measured from the kill: the dead worker's lock runs out within lockDurationMs, and the next stall check (every
    // stalledIntervalMs) of a running worker hands the job on, so it is taken within 15 s of the kill, or of the second
    // worker's start if that came later. processedOn is when the second worker took it. The 5 s over that bound are
    // for a loaded machine (a CI run measured 17.9 s; a lock twice as long misses it by seconds); the answer (the
    // generation on top) comes before queue.timeoutMs.
    const takenAt = (await requests.getJob(jobIdFor(key, 'req')))!.processedOn!;
    const { lockDurationMs, stalledIntervalMs, timeoutMs } = config.queue;
    expect(takenAt, 'taken again after the kill').toBeGreaterThan(killedAt);
    expect(takenAt - killedAt, 'ms from the kill to the take-over').toBeLessThanOrEqual(
      Math.max(lockDurationMs, secondReadyAt - killedAt) + stalledIntervalMs + 5000,
    );
    expect(answeredAt - killedAt, 'ms from the kill to the answer').toBeLessThan(timeoutMs);
    expect(await answeredBy(redis.url, config.redis.prefix, key)).toBe('reply:rel-kill');
    expect(got[0]).toMatchObject({ replyToMessageId: msg.messageId, chatId: msg.chatId });
    expect(['praise', 'fallback']).toContain(got[0]!.kind);
    // The worker logs its answer after queueing the reply, so the log line may come just after the reply arrives.
    await waitFor(() => second.output().includes('praise generated'), 'the second worker logging its answer');
    // Answered before queue.timeoutMs: the pending timeout was withdrawn unrun, and nothing else arrives.
    expect(await replies.getJob(jobIdFor(key, 'timeout'))).toBeUndefined();
    const job = await requests.getJob(jobIdFor(key, 'req'));
    expect(await job?.getState()).toBe('completed');
    await queuesIdle([requests, replies]);
    expect(got).toHaveLength(1);
  }, 120_000);
});

describe('Redis restarts', () => {
  it('50 requests queued before a Redis restart (AOF on) are all answered once after it, none twice', async () => {
    const redis = await redisServer({ aof: true });
    const { path, config } = configFile(redis.url, {
      model: { dir: await makeRandomModel(), variant: 'fp32', threads: 1, candidates: 1, maxNewTokens: 8 },
      worker: { concurrency: 4, heartbeatSeconds: 1 },
      cooldown: { userSeconds: 0 },
      rateLimit: { chatPerMinute: 0 },
      queue: { timeoutMs: 120_000 },
    });
    const { bot, got } = await core(config, 'rel-restart');
    const msgs = Array.from({ length: 50 }, (_, i) => message({ chatId: `restart-chat-${i % 5}`, userId: `restart-user-${i}` }));
    for (const m of msgs) expect((await bot.handle(m)).action).toBe('queued');

    await redis.stop();
    await redis.start();
    const requests = requestQueue(config, redis.url);
    cleanups.push(() => requests.close());
    expect(await requests.getWaitingCount()).toBe(50);

    // The same bot process (its connections reconnect by themselves) and a worker started now.
    await workerProcess(redis.url, path);
    await waitFor(() => got.length >= 50, '50 answers', 90_000);
    await queuesIdle(queues(config, redis.url, 'rel-restart'));
    expect(got).toHaveLength(50);
    expect(got.map((d) => d.replyToMessageId).sort()).toEqual(msgs.map((m) => m.messageId).sort());
    const by = await Promise.all(msgs.map((m) => answeredBy(redis.url, config.redis.prefix, idempotencyKey(m))));
    expect(new Set(by)).toEqual(new Set(['reply:rel-restart']));
  }, 150_000);
});

/** The engine, with a promise that resolves once it is first asked to generate. */
function watchGenerate(engine: Engine): { engine: Engine; generating: Promise<void> } {
  let asked!: () => void;
  const generating = new Promise<void>((resolve) => (asked = resolve));
  return {
    generating,
    engine: {
      get modelName() {
        return engine.modelName;
      },
      generate(reqs) {
        const result = engine.generate(reqs);
        asked();
        return result;
      },
      close: () => engine.close(),
      on: (event, listener) => engine.on?.(event, listener),
    },
  };
}

describe('the engine thread crashes', () => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('the worker logs it, the engine restarts, the job is retried and answered once, and the worker goes on', async () => {
    const redis = await redisServer();
    const { config } = configFile(redis.url, {
      model: { candidates: 4, maxNewTokens: 400 },
      worker: { concurrency: 1, heartbeatSeconds: 1 },
      cooldown: { userSeconds: 0 },
      queue: { backoff: { type: 'fixed', delayMs: 100 } },
      policy: { minReplyChars: 1 },
    });
    const { logger, lines } = recordLogs('info');
    engine = await createEngine({ modelDir: await slowModel(), variant: 'fp32', threads: 1, logger });
    const watched = watchGenerate(engine);
    const worker = await startWorker({ config, logger, engine: watched.engine });
    cleanups.push(() => worker.close());
    const { bot, got } = await core(config, 'rel-engine');
    const requests = requestQueue(config, redis.url);
    cleanups.push(() => requests.close());

    const msg = message({ text: '求夸 我学会了游泳' });
    await bot.handle(msg);
    await watched.generating;
    // Messages to the engine thread keep their order: once this turn's microtasks have posted the request, the crash drill lands during its generation.
    await nextTurn();
    const restarted = new Promise<void>((resolve) => engine!.on!('restart', () => resolve()));
    (engine as Engine & { simulateCrash(): void }).simulateCrash();
    await restarted;
    await waitFor(() => got.length === 1, 'the answer after the restart', 60_000);
    expect(await answeredBy(redis.url, config.redis.prefix, idempotencyKey(msg))).toBe('reply:rel-engine');
    const job = await requests.getJob(jobIdFor(idempotencyKey(msg), 'req'));
    expect(job?.attemptsMade).toBe(2);
    const log = lines.join('');
    expect(log).toContain('engine thread crashed; it is being restarted');
    expect(log).toContain('engine thread restarted');

    // Same worker, same engine object: the next request is answered too.
    const next = message({ text: '夸我 我今天早起了' });
    await bot.handle(next);
    await waitFor(() => got.length === 2, 'the next answer', 60_000);
    expect(got.map((d) => d.replyToMessageId)).toEqual([msg.messageId, next.messageId]);
  }, 120_000);
});
