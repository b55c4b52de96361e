import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppConfig } from '../../src/app/config.ts';
import { registry } from '../../src/metrics.ts';
import { idempotencyKey, jobIdFor, praiseJobSchema, redisKeys, replyJobOptions, replyQueueName } from '../../src/queue/contracts.ts';
import { createEngine, type Engine } from '../../worker/engine/index.ts';
import { spawnKuakua } from '../helpers/cli.ts';
import { makeRandomModel } from '../helpers/model.ts';
import { collect, message, testConfig, useServiceFixture, waitFor } from './support.ts';

// The whole path with the real engine on a tiny random-weight model: bot -> request queue -> worker -> reply queue -> bot.
const fx = useServiceFixture();
let modelDir: string;
let engine: Engine;

beforeAll(async () => {
  modelDir = await makeRandomModel();
  engine = await createEngine({ modelDir, variant: 'fp32', threads: 1 });
});
afterAll(async () => {
  await engine?.close();
});

function config(patch: Parameters<typeof testConfig>[1] = {}): AppConfig {
  return testConfig(fx.redis.url, { model: { maxNewTokens: 16, candidates: 2 }, ...patch });
}
/** A bot and a worker; the bot's deliveries are collected. */
async function start(c: AppConfig) {
  const bot = await fx.core(c);
  const got = collect(bot);
  await fx.worker(c, engine);
  return { bot, got };
}

describe('bot, queue and worker with the real engine', () => {
  it('answers a 求夸 with a reply to that message, records it, and reports the worker', async () => {
    const c = config();
    const { bot, got } = await start(c);
    const msg = message({ text: '求夸 我今天跑了五公里' });
    expect(await bot.handle(msg)).toMatchObject({ action: 'queued' });
    await waitFor(() => got.length === 1, 'the reply');
    const d = got[0]!;
    expect(d).toMatchObject({ platform: 'telegram', chatId: msg.chatId, replyToMessageId: msg.messageId, userId: msg.userId, userName: 'Alice' });
    expect(['praise', 'fallback']).toContain(d.kind);
    expect(Array.from(d.text).length).toBeGreaterThanOrEqual(c.policy.minReplyChars);
    expect(Array.from(d.text).length).toBeLessThanOrEqual(c.policy.maxReplyChars);
    expect(await fx.admin.lrange(`{kuakua}:history:telegram:${msg.chatId}`, 0, -1)).toEqual([d.text]);
    expect(await bot.status()).toMatchObject({ redis: true, workers: 1, model: engine.modelName, queueDepth: 0 });
    // The worker queues its reply with the options the bot gives its own timeout job.
    const replies = new Queue(replyQueueName(c.queue.name, bot.instanceId), { connection: { url: fx.redis.url }, prefix: c.redis.prefix });
    try {
      expect((await replies.getJob(jobIdFor(idempotencyKey(msg), 'reply')))?.opts).toMatchObject(replyJobOptions(c.queue.retention));
    } finally {
      await replies.close();
    }
    const text = await registry.metrics();
    expect(text).toMatch(/kuakua_requests_total\{platform="telegram",outcome="queued"\} [1-9]/);
    expect(text).toMatch(new RegExp(`kuakua_replies_total\\{platform="telegram",kind="${d.kind}"\\} [1-9]`));
    expect(text).toMatch(/kuakua_generation_latency_seconds_count [1-9]/);
    expect(text).toMatch(/kuakua_end_to_end_latency_seconds_count\{kind="(praise|fallback)"\} [1-9]/);
    expect(text).toMatch(/kuakua_queue_wait_seconds_count [1-9]/);
    expect(text).toMatch(/kuakua_tokens_per_second [1-9]/);
  });

  it('gibberish the policy rejects becomes a reply in the post’s tone, so the user still gets an answer', async () => {
    const c = config({ policy: { minReplyChars: 100, maxReplyChars: 120, resampleAttempts: 1 } });
    const { bot, got } = await start(c);
    await bot.handle(message({ text: '夸我 我学会了做饭' }));
    await waitFor(() => got.length === 1, 'the reply');
    expect(got[0]!.kind).toBe('fallback');
    // A Chinese sentence: at least six Han characters, whatever punctuation stands between them.
    expect(got[0]!.text.match(/[\u4e00-\u9fff]/g)?.length ?? 0).toBeGreaterThanOrEqual(6);
  });

  it('the same message id twice gives one reply', async () => {
    const c = config();
    const { bot, got } = await start(c);
    const msg = message();
    await Promise.all([bot.handle(msg), bot.handle({ ...msg }), bot.handle({ ...msg })]);
    await waitFor(() => got.length >= 1, 'the reply');
    await fx.idle(c);
    expect(got).toHaveLength(1);
  });

  it('a retried job, or a second answer to the same message, is never delivered twice', async () => {
    const c = config();
    const { bot, got } = await start(c);
    const msg = message();
    const r = await bot.handle(msg);
    await waitFor(() => got.length === 1, 'the reply');
    const requests = new Queue(c.queue.name, { connection: { url: fx.redis.url }, prefix: c.redis.prefix });
    const replies = new Queue(replyQueueName(c.queue.name, 'bot-a'), { connection: { url: fx.redis.url }, prefix: c.redis.prefix });
    try {
      const job = await waitFor(async () => {
        const j = await requests.getJob(r.action === 'queued' ? r.jobId : '');
        return j && (await j.isCompleted()) ? j : undefined;
      }, 'the job to complete');
      await job.retry('completed');
      await waitFor(async () => (await requests.getJob(job.id!))?.returnvalue === 'already answered', 'the retried job to finish');
      // As if a second worker had generated an answer too (different reply job id).
      const key = `telegram:${msg.chatId}:${msg.messageId}`;
      await replies.add('reply', { ...(await replies.getJob(jobIdFor(key, 'reply')))!.data, text: '第二个回答，不该出现' }, { jobId: 'reply-duplicate' });
      await waitFor(async () => (await replies.getJob('reply-duplicate'))?.returnvalue === 'already answered', 'the duplicate to be dropped');
    } finally {
      await Promise.all([requests.close(), replies.close()]);
    }
    expect(got).toHaveLength(1);
  });

  it('keeps the chat history to policy.historySize and never repeats one of the chat’s last N replies', async () => {
    // One job at a time, so that each job sees the replies before it (concurrent jobs read the history at once).
    const c = config({ policy: { historySize: 5 }, cooldown: { userSeconds: 0 }, worker: { concurrency: 1 } });
    const { bot, got } = await start(c);
    for (let i = 0; i < 8; i++) await bot.handle(message({ chatId: 'history-chat' }));
    await waitFor(() => got.length === 8, 'eight replies', 60_000);
    const history = await fx.admin.lrange('{kuakua}:history:telegram:history-chat', 0, -1);
    expect(history).toHaveLength(5);
    const texts = got.map((d) => d.text);
    texts.forEach((t, i) => {
      expect(texts.slice(Math.max(0, i - 5), i), `reply ${i}`).not.toContain(t);
    });
  });

  it('routes each reply to the bot instance that owns the chat', async () => {
    const c = config({ cooldown: { userSeconds: 0 } });
    const { bot: a, got: gotA } = await start(c);
    const b = await fx.core(c, 'bot-b');
    const gotB = collect(b);
    await Promise.all([...[1, 2, 3].map(() => a.handle(message({ chatId: 'chat-of-a' }))), ...[1, 2].map(() => b.handle(message({ chatId: 'chat-of-b' })))]);
    await waitFor(() => gotA.length === 3 && gotB.length === 2, 'five replies');
    await fx.idle(c, ['bot-a', 'bot-b']);
    expect(gotA.map((d) => d.chatId)).toEqual(['chat-of-a', 'chat-of-a', 'chat-of-a']);
    expect(gotB.map((d) => d.chatId)).toEqual(['chat-of-b', 'chat-of-b']);
  });

  it('a reply for a bot that is gone is indexed before it is written, so the other bots’ sweeps find and delete it', async () => {
    const c = config();
    await fx.worker(c, engine);
    const key = idempotencyKey({ platform: 'telegram', chatId: 'chat-of-gone', messageId: 'm-gone' });
    const job = {
      key,
      platform: 'telegram',
      chatId: 'chat-of-gone',
      messageId: 'm-gone',
      userId: 'u-gone',
      instanceId: 'bot-gone',
      enqueuedAt: Date.now(),
      post: '我今天跑了五公里',
    };
    const requests = new Queue(c.queue.name, { connection: { url: fx.redis.url }, prefix: c.redis.prefix });
    const replies = new Queue(replyQueueName(c.queue.name, 'bot-gone'), { connection: { url: fx.redis.url }, prefix: c.redis.prefix });
    try {
      await requests.add('praise', praiseJobSchema.parse(job), { jobId: jobIdFor(key, 'req') });
      await waitFor(async () => (await replies.getJob(jobIdFor(key, 'reply'))) !== undefined, 'the reply to the gone bot');
      expect(Number(await fx.admin.zscore(redisKeys(c.redis.prefix).replyQueues(), 'bot-gone'))).toBeGreaterThan(Date.now());
    } finally {
      await Promise.all([requests.close(), replies.close()]);
    }
  });

  it('several workers share one queue; every request is answered once', async () => {
    const c = config({ cooldown: { userSeconds: 0 }, worker: { concurrency: 2 } });
    const { bot, got } = await start(c);
    await fx.worker(c, engine);
    expect((await bot.status()).workers).toBe(2);
    const msgs = Array.from({ length: 6 }, (_, i) => message({ chatId: `chat-${i % 3}` }));
    await Promise.all(msgs.map((m) => bot.handle(m)));
    await waitFor(() => got.length === 6, 'six replies', 60_000);
    await fx.idle(c);
    expect(got.map((d) => d.replyToMessageId).sort()).toEqual(msgs.map((m) => m.messageId).sort());
  });

  it('`kuakua worker` answers requests and stops cleanly on SIGTERM', async () => {
    const c = config();
    const bot = await fx.core(c);
    const got = collect(bot);
    const proc = spawnKuakua(['worker', '--variant', 'fp32'], { REDIS_URL: fx.redis.url, KUAKUA_MODEL_DIR: modelDir, KUAKUA_MODEL_THREADS: '1' });
    try {
      await proc.waitForOutput('worker ready', 'the worker to start', 60_000);
      await bot.handle(message());
      await waitFor(() => got.length === 1, 'the reply');
      // The worker logs the generation after queueing the reply, so the reply can arrive first.
      await proc.waitForOutput('"praise generated"', 'the worker to log the generation');
      expect(proc.output()).toMatch(/"tokensPerSecond":/);
      expect(proc.output()).toMatch(/"queueWaitMs":/);
      expect(await proc.stop()).toBe(0);
      expect(proc.output()).toContain('worker stopped');
      expect((await bot.status()).workers).toBe(0);
    } finally {
      await proc.kill();
    }
  });
});
