import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppConfig } from '../../src/app/config.ts';
import { createCore } from '../../src/core.ts';
import { moveLegacyKeys } from '../../src/legacyKeys.ts';
import { idempotencyKey, jobIdFor, praiseJobSchema, redisKeys, replyQueueName } from '../../src/queue/contracts.ts';
import { keepReplyQueue } from '../../src/retention.ts';
import { createEngine, type Engine } from '../../worker/engine/index.ts';
import { startWorker } from '../../worker/service.ts';
import { recordLogs } from '../helpers/logs.ts';
import { makeRandomModel } from '../helpers/model.ts';
import { praiseQueues, queuesIdle } from '../helpers/queues.ts';
import { startRedis } from '../helpers/redis.ts';
import { collect, message, silentLogger, testConfig, waitFor } from './support.ts';

let engine: Engine;
beforeAll(async () => {
  engine = await createEngine({ modelDir: await makeRandomModel(), variant: 'fp32', threads: 1 });
});
afterAll(async () => {
  await engine?.close();
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function redisServer(args: string[] = []) {
  const redis = await startRedis({ args });
  const admin = new Redis(redis.url);
  cleanups.push(async () => {
    admin.disconnect();
    await redis.close();
  });
  return { redis, admin };
}

/** Waits until the request queue and these bots' reply queues have nothing waiting, delayed or running. */
async function idle(c: AppConfig, url: string, instanceIds: string[]): Promise<void> {
  const queues = praiseQueues(c, url, instanceIds);
  try {
    await queuesIdle(queues);
  } finally {
    await Promise.all(queues.map((q) => q.close()));
  }
}

async function allKeys(redis: Redis, match = '*'): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}

function config(url: string, patch: Parameters<typeof testConfig>[1] = {}): AppConfig {
  return testConfig(url, { model: { maxNewTokens: 8, candidates: 1 }, ...patch });
}

describe('keys fit Redis Cluster', () => {
  it('every key a request, an admin command, a care reply, a status look-up and a retention sweep touch is in one hash slot, on a cluster-mode server', async () => {
    // One node in cluster mode serving every slot: it refuses a command or script whose keys are in different slots
    // (CROSSSLOT), as every node of a real cluster does.
    const { redis, admin } = await redisServer(['--cluster-enabled', 'yes']);
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    await waitFor(async () => /cluster_state:ok/.test((await admin.call('CLUSTER', 'INFO')) as string), 'the cluster state to be ok');

    const c = config(redis.url, { admins: { telegram: ['admin-1'] }, cooldown: { userSeconds: 30 } });
    const logs = recordLogs('warn');
    const bot = await createCore({ config: c, logger: logs.logger, instanceId: 'cluster-bot' });
    cleanups.push(() => bot.close());
    const got = collect(bot);
    const worker = await startWorker({ config: c, logger: logs.logger, engine });
    cleanups.push(() => worker.close());

    const asked = message({ chatId: 'cluster-chat', userId: 'cluster-user', text: '求夸 我今天跑了五公里' });
    expect(await bot.handle(asked)).toMatchObject({ action: 'queued' });
    await waitFor(() => got.length === 1, 'the praise');
    expect(await bot.handle(message({ chatId: 'cluster-chat', userId: 'cluster-user', text: '求夸 再夸一次' }))).toEqual({
      action: 'ignored',
      reason: 'cooldown',
    });
    expect(await bot.handle(message({ chatId: 'cluster-chat', userId: 'admin-1', text: '/kuakua_keywords 加油' }))).toMatchObject({
      action: 'replied',
      delivery: { kind: 'admin' },
    });
    expect(await bot.handle(message({ chatId: 'cluster-chat', userId: 'sad-user', text: '我不想活了' }))).toMatchObject({
      action: 'replied',
      delivery: { kind: 'care' },
    });
    expect(await bot.status()).toMatchObject({ redis: true, workers: 1 });
    // The reply queue of a bot gone for good, which the next sweep deletes; then a bot that sweeps at start, with an id
    // made up for its process, which deletes its own reply queue when it stops.
    const gone = new Queue(replyQueueName(c.queue.name, 'gone-bot'), { connection: { url: redis.url }, prefix: c.redis.prefix });
    await gone.add('reply', { left: 'behind' });
    await gone.close();
    await keepReplyQueue(admin, redisKeys(c.redis.prefix), 'gone-bot', 0);
    expect(await allKeys(admin, '*gone-bot*')).not.toEqual([]);
    const passing = await createCore({ config: c, logger: logs.logger });
    await passing.close();
    expect(await allKeys(admin, '*gone-bot*')).toEqual([]);
    await idle(c, redis.url, ['cluster-bot']);

    expect(logs.lines).toEqual([]);
    const keys = await allKeys(admin);
    expect(keys.length).toBeGreaterThan(10);
    const slots = new Set(await Promise.all(keys.map((k) => admin.call('CLUSTER', 'KEYSLOT', k))));
    expect(slots).toEqual(new Set([await admin.call('CLUSTER', 'KEYSLOT', c.redis.prefix)]));
    expect(keys.every((k) => k.startsWith('{kuakua}:'))).toBe(true);
  });
});

describe('an upgrade from the bare key prefix', () => {
  it('moves the keys of an older kuakua to the new prefix: its queued request is answered once, a chat switched off stays off', async () => {
    const { redis, admin } = await redisServer();
    const c = config(redis.url);
    const queueName = c.queue.name;
    // What an older kuakua left: a queued request, its timeout, a chat's switch and the reply queue index, under "kuakua:".
    const old = message({ chatId: 'upgrade-chat', text: '求夸 升级之前排的队' });
    const key = idempotencyKey(old);
    const job = praiseJobSchema.parse({ ...old, key, instanceId: 'bot-upgrade', enqueuedAt: Date.now(), post: '升级之前排的队' });
    const requests = new Queue(queueName, { connection: { url: redis.url }, prefix: 'kuakua' });
    const replies = new Queue(replyQueueName(queueName, 'bot-upgrade'), { connection: { url: redis.url }, prefix: 'kuakua' });
    await replies.add('timeout', { type: 'timeout', ...job }, { jobId: jobIdFor(key, 'timeout'), delay: c.queue.timeoutMs });
    await requests.add('praise', job, { jobId: jobIdFor(key, 'req') });
    await Promise.all([requests.close(), replies.close()]);
    await admin.hset('kuakua:chat:telegram:quiet-chat', 'enabled', '0');
    await admin.zadd('kuakua:reply-queues', Date.now() + 3_600_000, 'bot-upgrade');
    const legacy = await allKeys(admin, 'kuakua:*');

    // Two processes starting at once: one moves everything, the other waits for it.
    const [a, b] = [new Redis(redis.url), new Redis(redis.url)];
    cleanups.push(async () => {
      a.disconnect();
      b.disconnect();
    });
    const logs = recordLogs('info');
    const moves = await Promise.all([moveLegacyKeys(a, c.redis.prefix, queueName, logs.logger), moveLegacyKeys(b, c.redis.prefix, queueName, logs.logger)]);
    expect(moves.map((m) => m.moved).sort()).toEqual([0, legacy.length]);
    expect(moves.flatMap((m) => m.kept)).toEqual([]);
    expect(logs.entries('moved the keys of an older kuakua to the new prefix')).toMatchObject([{ moved: legacy.length, from: 'kuakua:', to: '{kuakua}:' }]);
    expect(await allKeys(admin, 'kuakua:*')).toEqual([]);
    expect(await allKeys(admin, '{kuakua}:*')).toEqual(legacy.map((k) => `{kuakua}${k.slice('kuakua'.length)}`).sort());
    // Nothing left to move: the next start costs one look-up.
    expect(await moveLegacyKeys(a, c.redis.prefix, queueName, logs.logger)).toEqual({ moved: 0, kept: [] });

    const bot = await createCore({ config: c, logger: silentLogger, instanceId: 'bot-upgrade' });
    cleanups.push(() => bot.close());
    const got = collect(bot);
    const worker = await startWorker({ config: c, logger: silentLogger, engine });
    cleanups.push(() => worker.close());
    await waitFor(() => got.length === 1, 'the answer to the request queued before the upgrade');
    expect(got[0]).toMatchObject({ chatId: 'upgrade-chat', replyToMessageId: old.messageId });
    expect(await bot.handle(message({ chatId: 'quiet-chat', text: '求夸 这个群关掉了' }))).toEqual({ action: 'ignored', reason: 'disabled' });
    // Its timeout was withdrawn with the answer: nothing else comes.
    await idle(c, redis.url, ['bot-upgrade']);
    expect(got).toHaveLength(1);
  });

  it('waits for a process that died while holding the move until its lock runs out, then moves the rest; never overwrites a new key', async () => {
    const { redis, admin } = await redisServer();
    const c = config(redis.url);
    await admin.hset(`kuakua:${c.queue.name}:meta`, 'version', 'bullmq');
    await admin.hset('kuakua:chat:telegram:quiet-chat', 'enabled', '0');
    // Written by a new process already: the old value is left where it is, and said so.
    await admin.hset('kuakua:chat:telegram:both', 'enabled', '0');
    await admin.hset('{kuakua}:chat:telegram:both', 'enabled', '1');
    const heldAt = Date.now();
    await admin.set('{kuakua}:legacy-move', 'a process that died', 'PX', 500);

    const logs = recordLogs('info');
    expect(await moveLegacyKeys(admin, c.redis.prefix, c.queue.name, logs.logger)).toEqual({ moved: 2, kept: ['kuakua:chat:telegram:both'] });
    expect(Date.now() - heldAt).toBeGreaterThanOrEqual(500);
    expect(await admin.hget('{kuakua}:chat:telegram:both', 'enabled')).toBe('1');
    expect(await admin.hget('{kuakua}:chat:telegram:quiet-chat', 'enabled')).toBe('0');
    expect(logs.entries('old keys left in place: keys of the same name exist under the new prefix')).toMatchObject([
      { kept: 1, examples: ['kuakua:chat:telegram:both'] },
    ]);
  });
});
