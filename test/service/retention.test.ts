import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys, replyQueueName } from '../../src/queue/contracts.ts';
import { keepReplyQueue } from '../../src/retention.ts';
import { createEngine, type Engine } from '../../worker/engine/index.ts';
import { spawnKuakua, type KuakuaProcess } from '../helpers/cli.ts';
import { makeRandomModel } from '../helpers/model.ts';
import { freePort } from '../helpers/redis.ts';
import { waitForBanner } from '../helpers/spawnStart.ts';
import { message, testConfig, useServiceFixture, waitFor } from './support.ts';

const fx = useServiceFixture();
let engine: Engine;
const bots: KuakuaProcess[] = [];

beforeAll(async () => {
  engine = await createEngine({ modelDir: await makeRandomModel(), variant: 'fp32', threads: 1 });
});
afterAll(async () => {
  await Promise.all(bots.map((b) => b.kill()));
  await engine?.close();
});

const AGE_S = 3;
const ORPHAN_S = 3;
const MARK = '保留期测试';

/** Reply queues in Redis, by instance id, found by scanning the whole keyspace (the sweeps must not need to). */
async function replyQueueInstances(redis: Redis, prefix: string, queueName: string): Promise<Set<string>> {
  const head = `${prefix}:${replyQueueName(queueName, '')}`;
  const ids = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${head}*`, 'COUNT', 500);
    for (const key of keys) {
      const id = key.slice(head.length).split(':')[0];
      if (id) ids.add(id);
    }
    cursor = next;
  } while (cursor !== '0');
  return ids;
}

/** How often the server has run a command since it started (INFO commandstats; calls from scripts count too). */
async function calls(redis: Redis, command: string): Promise<number> {
  const stats = await redis.info('commandstats');
  return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
}

/** Every key that holds a post with MARK, with how old it is (jobs) or its TTL (anything else). */
async function userText(admin: typeof fx.admin): Promise<{ key: string; ageMs?: number; ttl?: number }[]> {
  const found: { key: string; ageMs?: number; ttl?: number }[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await admin.type(key);
      if (type === 'hash') {
        const h = await admin.hgetall(key);
        if (!Object.values(h).some((v) => v.includes(MARK))) continue;
        const at = Number(h.finishedOn ?? h.timestamp);
        found.push(h.data !== undefined && Number.isFinite(at) ? { key, ageMs: Date.now() - at } : { key, ttl: await admin.ttl(key) });
      } else if (type === 'string' || type === 'list') {
        const values = type === 'string' ? [(await admin.get(key)) ?? ''] : await admin.lrange(key, 0, -1);
        if (values.some((v) => v.includes(MARK))) found.push({ key, ttl: await admin.ttl(key) });
      }
    }
  } while (cursor !== '0');
  return found;
}

describe('nothing of a user outlives its purpose', () => {
  it('six bots started and stopped (half of them killed) leave no reply queue behind and no post older than its retention', async () => {
    const config = testConfig(fx.redis.url, { queue: { retention: { ageSeconds: AGE_S, orphanSeconds: ORPHAN_S } } });
    await fx.worker(config, engine);
    const file = join(tmpdir(), `kuakua-retention-${process.pid}.yaml`);
    writeFileSync(file, `queue:\n  retention:\n    ageSeconds: ${AGE_S}\n    orphanSeconds: ${ORPHAN_S}\n`);

    const run = async (i: number) => {
      // The default instance id (hostname-pid): a new reply queue on every start, as a user runs it.
      const bot = spawnKuakua(['bot'], { REDIS_URL: fx.redis.url, KUAKUA_CONFIG: file, KUAKUA_HTTP_PORT: String(await freePort()) });
      bots.push(bot);
      const url = await waitForBanner(bot, 60_000, /kuakua bot: (http:\/\/\S+)/);
      const res = await fetch(`${url}api/praise`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: `求夸 ${MARK} 第${i}次`, userId: `user-${i}` }),
      });
      expect(res.status).toBe(200);
      return bot;
    };

    let leftBehind = 0;
    for (let i = 0; i < 6; i++) {
      const bot = await run(i);
      if (i % 2 === 0) {
        // A killed bot cleans nothing up; the next ones must (a bot start takes longer than ORPHAN_S, so they already do).
        await bot.kill();
        if ((await replyQueueInstances(fx.admin, config.redis.prefix, config.queue.name)).size > 0) leftBehind += 1;
      } else expect(await bot.stop()).toBe(0);
    }
    expect(leftBehind).toBe(3);

    const last = await run(6);
    const retentionMs = Math.max(AGE_S, ORPHAN_S) * 1000;
    await waitFor(
      async () => {
        const queues = await replyQueueInstances(fx.admin, config.redis.prefix, config.queue.name);
        const stale = (await userText(fx.admin)).filter((t) => (t.ageMs !== undefined ? t.ageMs > retentionMs + 2000 : t.ttl === -1));
        return queues.size === 1 && stale.length === 0;
      },
      'the killed bots’ reply queues and old posts to be deleted',
      30_000,
    );
    // Posts are kept in finished jobs only while they are younger than the retention, and every other key has a TTL.
    for (const t of await userText(fx.admin)) {
      if (t.ageMs !== undefined) expect(t.ageMs, t.key).toBeLessThanOrEqual(retentionMs + 2000);
      else expect(t.ttl, t.key).toBeGreaterThan(0);
    }
    // A bot with a made-up id takes its reply queue with it when it stops.
    expect(await last.stop()).toBe(0);
    expect((await replyQueueInstances(fx.admin, config.redis.prefix, config.queue.name)).size).toBe(0);
    expect(await fx.admin.zcard(redisKeys(config.redis.prefix).replyQueues())).toBe(0);
    // The praise history (replies, not posts) expires too.
    for (const key of await fx.admin.keys(`${config.redis.prefix}:history:*`)) expect(await fx.admin.ttl(key), key).toBeGreaterThan(0);
  }, 300_000);

  it('a sweep reads the reply queue index, not the keyspace: a gone bot’s queue is deleted, a live one’s kept, and nothing is scanned', async () => {
    const config = testConfig(fx.redis.url, { queue: { retention: { ageSeconds: 60, orphanSeconds: 1 } } });
    const { prefix } = config.redis;
    const keys = redisKeys(prefix);
    const live = await fx.core(config, 'bot-live');
    expect(await live.handle(message({ text: `求夸 ${MARK}` }))).toMatchObject({ action: 'queued' });
    // A worker's late reply to a bot that is gone: indexed first, as the worker does, then written.
    await keepReplyQueue(fx.admin, keys, 'bot-gone', 1);
    const gone = new Queue(replyQueueName(config.queue.name, 'bot-gone'), { connection: { url: fx.redis.url }, prefix });
    const reply = await gone.add('reply', { text: MARK });
    await gone.close();
    const goneJob = `${prefix}:${replyQueueName(config.queue.name, 'bot-gone')}:${reply.id}`;
    expect(await fx.admin.exists(goneJob)).toBe(1);

    const scansBefore = await calls(fx.admin, 'scan');
    // The live bot's timer sweeps every second; orphanSeconds is 1.
    await waitFor(async () => (await fx.admin.exists(goneJob)) === 0, 'the gone bot’s reply queue to be deleted');
    expect(await calls(fx.admin, 'scan')).toBe(scansBefore);
    expect(await fx.admin.zrange(keys.replyQueues(), '0', '-1')).toEqual(['bot-live']);
    expect([...(await replyQueueInstances(fx.admin, prefix, config.queue.name))]).toEqual(['bot-live']);
  });
});
