import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../src/config.ts';
import { beat, removeBeat } from '../src/heartbeat.ts';
import { metrics } from '../src/metrics.ts';
import { candidateCount } from '../src/candidateCount.ts';
import { CLOSE_WAIT_MS, closeOrDrop, deadline, quitOrDrop } from '../src/closing.ts';
import { withTimeout } from '../src/timeout.ts';
import { policyRules, PraiseHistory } from '../src/policy.ts';
import {
  finishedJobRetention,
  jobIdFor,
  praiseJobSchema,
  redisKeys,
  replyJobOptions,
  replyJobSchema,
  replyQueueName,
  type PraiseJob,
} from '../src/queue/contracts.ts';
import { createRedis } from '../src/redis.ts';
import { redisTarget, type RedisTarget } from '../src/redisTarget.ts';
import { keepReplyQueue } from '../src/retention.ts';
import { SendCounts } from '../src/variety.ts';
import type { Engine } from './engine/index.ts';
import { praiseStep, type PraiseOutcome } from './praise.ts';
import { PraiseIndex } from './retrieval.ts';
import { loadFramesOrWarn } from '../src/frames.ts';

export interface StartWorkerOptions {
  config: Config;
  logger: Logger;
  engine: Engine;
  /** Defaults to the config's (REDIS_URL, or the sentinels). */
  redis?: RedisTarget;
}

export interface RunningWorker {
  readonly id: string;
  /** Stops taking jobs, lets the jobs in hand finish (or, after worker.shutdownTimeoutMs, puts them back in the queue). */
  close(): Promise<void>;
}

class ShutdownAbort extends Error {}

/** Resolves with p, or rejects as soon as the signal fires (the engine keeps computing, but the job is released). */
function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new ShutdownAbort('worker shutting down'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The praise corpus to retrieve from; one that cannot be read leaves generated praise alone, with a warning. */
function loadIndex(dir: string, log: Logger): PraiseIndex | undefined {
  if (!dir) return undefined;
  try {
    const index = PraiseIndex.load(resolve(dir));
    log.info({ dir, posts: index.size }, 'praise corpus loaded for retrieval');
    return index;
  } catch (err) {
    log.warn({ dir, err: (err as Error).message }, 'praise corpus not loaded (retrieval.dir / KUAKUA_RETRIEVAL_DIR): generated praise only');
    return undefined;
  }
}

/** Consumes the request queue with the engine, applies the praise policy and sends each answer to the reply queue of the bot that asked. */
export async function startWorker(opts: StartWorkerOptions): Promise<RunningWorker> {
  const { config, engine } = opts;
  const id = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const log = opts.logger.child({ component: 'worker', worker: id });
  const prefix = config.redis.prefix;
  const keys = redisKeys(prefix);
  const redis = createRedis(opts.redis ?? redisTarget(config), { logger: log });
  await redis.ping();
  const history = new PraiseHistory(redis, keys, config.policy.historySize);
  const sent = new SendCounts(redis, keys, config.policy.maxSendsPerDay);
  const rules = policyRules(config.policy);
  const index = loadIndex(config.retrieval.dir, log);
  const frames = loadFramesOrWarn(config.frames.dir, log);
  const requests = new Queue(config.queue.name, { connection: redis, prefix });
  // Without a listener BullMQ prints every reconnect attempt of a queue to stderr, outside the log.
  const onQueueError = (err: Error) => log.debug({ err: err.message }, 'queue connection problem');
  requests.on('error', onQueueError);
  const replyQueues = new Map<string, Queue>();
  const replyQueue = (instanceId: string) => {
    let q = replyQueues.get(instanceId);
    if (!q) {
      q = new Queue(replyQueueName(config.queue.name, instanceId), { connection: redis, prefix, defaultJobOptions: replyJobOptions(config.queue.retention) });
      q.on('error', onQueueError);
      replyQueues.set(instanceId, q);
    }
    return q;
  };

  async function generate(job: PraiseJob, signal?: AbortSignal): Promise<PraiseOutcome & { candidates: number }> {
    const avoid = await history.recent(job.platform, job.chatId);
    const n = candidateCount({
      configured: config.model.candidates,
      // A chorus needs a candidate for each of its replies, even under load.
      minimum: Math.max(config.model.minCandidates, job.chorus),
      waiting: await requests.getWaitingCount(),
      concurrency: config.worker.concurrency,
    });
    const out = await praiseStep(
      engine,
      { post: job.post, avoid, n, maxNewTokens: config.model.maxNewTokens, intent: job.intent, subject: job.subject, count: job.chorus },
      {
        rules,
        resampleAttempts: config.policy.resampleAttempts,
        retrieval: index && { index, options: config.retrieval },
        frames,
        overused: (texts) => sent.overused(texts),
        around: (p) => abortable(p, signal),
        onRejected: (rejected, attempt) => log.debug({ rejected, attempt }, 'no acceptable candidate'),
      },
    );
    if (out.kind === 'fallback') {
      metrics.fallbacks.inc({ reason: out.reason, tone: out.tone, form: out.form });
      log.info(
        { platform: job.platform, chatId: job.chatId, reason: out.reason, tone: out.tone, form: out.form },
        "no generated reply was good enough: replying in the post's tone",
      );
    }
    return { ...out, candidates: n };
  }

  // Three parameters: BullMQ then passes an AbortSignal, which close() fires when the shutdown grace period ends.
  const processor = async (job: Job, token?: string, signal?: AbortSignal): Promise<string> => {
    const parsed = praiseJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed praise job: ${parsed.error.issues[0]?.message}`);
    const p = parsed.data;
    // The bot already answered (timeout policy) or an earlier attempt of this job did: generating again would be wasted.
    if (await redis.exists(keys.answered(p.key))) return 'already answered';
    const queueWaitMs = Math.max(0, (job.processedOn ?? Date.now()) - job.timestamp);
    metrics.queueWait.observe(queueWaitMs / 1000);

    let out: PraiseOutcome & { candidates: number };
    try {
      out = await generate(p, signal);
    } catch (err) {
      if (!(err instanceof ShutdownAbort) || !token) throw err;
      // Back to the queue without spending one of the job's attempts.
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    const also = out.kind === 'praise' ? out.also : [];
    for (const text of [out.text, ...also]) {
      await history.add(p.platform, p.chatId, text);
      await sent.add(text);
    }
    const reply = replyJobSchema.parse({
      ...p,
      type: 'reply',
      text: out.text,
      kind: out.kind,
      ...(out.kind === 'praise' && { source: out.source, also }),
      model: engine.modelName,
      queueWaitMs,
      generationMs: out.generationMs,
    });
    // Indexed before it is written, so the sweeps find the queue even if its bot is gone (src/retention.ts).
    await keepReplyQueue(redis, keys, p.instanceId, config.queue.retention.orphanSeconds);
    // Same job id on a retry: BullMQ keeps one reply job, and the bot's "answered" key drops any second delivery.
    await replyQueue(p.instanceId).add('reply', reply, { jobId: jobIdFor(p.key, 'reply') });

    const tokensPerSecond = out.generationMs > 0 ? (out.newTokens / out.generationMs) * 1000 : 0;
    metrics.generationLatency.observe(out.generationMs / 1000);
    if (out.newTokens > 0) metrics.tokensPerSecond.set(tokensPerSecond);
    log.info(
      {
        platform: p.platform,
        chatId: p.chatId,
        kind: out.kind,
        source: out.kind === 'praise' ? out.source : undefined,
        candidates: out.candidates,
        replies: 1 + also.length,
        score: out.kind === 'praise' ? out.score : undefined,
        queueWaitMs,
        generationMs: out.generationMs,
        newTokens: out.newTokens,
        tokensPerSecond: Math.round(tokensPerSecond * 10) / 10,
        attempt: job.attemptsMade + 1,
      },
      'praise generated',
    );
    return out.kind;
  };

  const worker = new Worker(config.queue.name, processor, {
    connection: redis,
    prefix,
    concurrency: config.worker.concurrency,
    lockDuration: config.queue.lockDurationMs,
    stalledInterval: config.queue.stalledIntervalMs,
    // A job whose worker died is put back twice before it counts as failed.
    maxStalledCount: 2,
    ...finishedJobRetention(config.queue.retention),
  });
  worker.on('failed', (job, err) => {
    if (err instanceof DelayedError) return;
    metrics.errors.inc({ component: 'worker' });
    log.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'praise job failed');
  });
  worker.on('error', (err) => log.warn({ err: err.message }, 'queue connection problem'));
  engine.on?.('crash', ({ error }) => log.error({ err: error?.message }, 'engine thread crashed; it is being restarted'));
  engine.on?.('restart', () => log.info('engine thread restarted'));

  const info = { id, model: engine.modelName, host: hostname(), pid: process.pid, concurrency: config.worker.concurrency, startedAt: Date.now() };
  const heartbeat = async () => {
    try {
      await beat(redis, keys, info, config.worker.heartbeatSeconds * 3);
      metrics.queueDepth.set(await requests.count());
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'heartbeat failed');
    }
  };
  await heartbeat();
  const timer = setInterval(heartbeat, config.worker.heartbeatSeconds * 1000);
  timer.unref();
  await worker.waitUntilReady();
  log.info({ queue: config.queue.name, model: engine.modelName, concurrency: config.worker.concurrency }, 'worker ready');

  let closing: Promise<void> | undefined;
  return {
    id,
    close: () =>
      (closing ??= (async () => {
        clearInterval(timer);
        const closed = worker.close();
        let grace: NodeJS.Timeout | undefined;
        const late = await Promise.race([
          closed.then(() => false),
          new Promise<boolean>((resolve) => (grace = setTimeout(() => resolve(true), config.worker.shutdownTimeoutMs))),
        ]);
        clearTimeout(grace);
        if (late) {
          log.warn('the worker did not stop within the shutdown grace period: putting its jobs in hand back in the queue');
          worker.cancelAllJobs('shutdown');
        }
        // Redis may be gone: each step from here waits for it at most CLOSE_WAIT_MS in all.
        const left = deadline(CLOSE_WAIT_MS);
        await closeOrDrop('worker', { close: () => closed, disconnect: () => worker.disconnect() }, left(), log);
        await withTimeout(removeBeat(redis, keys, id), left()).catch(() => undefined);
        await Promise.all([requests, ...replyQueues.values()].map((q) => closeOrDrop(`queue ${q.name}`, q, left(), log)));
        await quitOrDrop(redis, left());
        log.info('worker stopped');
      })()),
  };
}
