import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.ts';
import { createCore } from '../../src/core.ts';
import { idempotencyKey, jobIdFor, redisKeys } from '../../src/queue/contracts.ts';
import { createEngine, type Engine } from '../../worker/engine/index.ts';
import { makeRandomModel } from '../helpers/model.ts';
import { requestQueue } from '../reliability/support.ts';
import { collect, message, silentLogger, testConfig, useServiceFixture, waitFor } from './support.ts';

// RELIABILITY.md, "Retention of users' data": how long each key lives, read from Redis after real requests.
const fx = useServiceFixture();
let engine: Engine;

beforeAll(async () => {
  engine = await createEngine({ modelDir: await makeRandomModel(), variant: 'fp32', threads: 1 });
});
afterAll(async () => {
  await engine?.close();
});

describe('how long the keys with users’ data live', () => {
  it('the documented lifetimes are the shipped defaults', () => {
    const { queue, cooldown, distress, worker } = loadConfig({ env: {} });
    expect(queue.retention).toMatchObject({ completed: 1000, failed: 5000, ageSeconds: 3600, orphanSeconds: 3600, dedupeSeconds: 86_400 });
    expect(cooldown.userSeconds).toBe(10);
    expect(distress.repeatSeconds).toBe(600);
    expect(worker.heartbeatSeconds).toBeGreaterThan(0);
  });

  it('an answered request, a care reply and an admin command leave keys that expire as documented; chat settings stay', async () => {
    const config = testConfig(fx.redis.url, { admins: { telegram: ['ttl-admin'] }, cooldown: { userSeconds: 10 } });
    const keys = redisKeys(config.redis.prefix);
    const core = await fx.core(config);
    const got = collect(core);
    await fx.worker(config, engine);
    const chat = 'ttl-chat';
    const asked = message({ chatId: chat, userId: 'ttl-user', text: '求夸 我今天跑了五公里' });
    expect((await core.handle(asked)).action).toBe('queued');
    await waitFor(() => got.length === 1, 'the answer');
    await fx.idle(config);
    expect(await core.handle(message({ chatId: chat, userId: 'ttl-sad', text: '求夸 我不想活了' }))).toMatchObject({ delivery: { kind: 'care' } });
    expect(await core.handle(message({ chatId: chat, userId: 'ttl-admin', text: '/kuakua_off' }))).toMatchObject({ delivery: { kind: 'admin' } });

    /** The TTL of `key` is at most `seconds`, and was set to it a moment ago (a minute's slack for a loaded machine). */
    const expiresIn = async (key: string, seconds: number) => {
      const ttl = await fx.admin.ttl(key);
      expect(ttl, key).toBeGreaterThan(seconds - 60);
      expect(ttl, key).toBeLessThanOrEqual(seconds);
    };
    await expiresIn(keys.history('telegram', chat), 30 * 86_400);
    await expiresIn(keys.seen(idempotencyKey(asked)), config.queue.retention.dedupeSeconds);
    await expiresIn(keys.answered(idempotencyKey(asked)), config.queue.retention.dedupeSeconds);
    await expiresIn(keys.care('telegram', chat, 'ttl-sad'), config.distress.repeatSeconds);
    const cooldown = await fx.admin.ttl(keys.cooldown('telegram', 'ttl-user'));
    expect(cooldown).toBeGreaterThan(0);
    expect(cooldown).toBeLessThanOrEqual(config.cooldown.userSeconds);
    const rates = await fx.admin.keys(`${keys.chatRate('telegram', chat, 0).slice(0, -1)}*`);
    expect(rates.length).toBeGreaterThan(0);
    for (const key of rates) await expiresIn(key, 120);
    const [workerKey] = await fx.admin.keys(keys.worker('*'));
    const heartbeat = await fx.admin.pttl(workerKey!);
    expect(heartbeat).toBeGreaterThan(0);
    expect(heartbeat).toBeLessThanOrEqual(3 * config.worker.heartbeatSeconds * 1000);
    // Configuration an admin typed, not a user's message: it stays until an admin changes it.
    expect(await fx.admin.exists(keys.chatSettings('telegram', chat))).toBe(1);
    expect(await fx.admin.ttl(keys.chatSettings('telegram', chat))).toBe(-1);

    // Finished request jobs: the last `completed` are kept (the sweep by age is test/service/retention.test.ts).
    const requests = requestQueue(config, fx.redis.url);
    try {
      const job = await requests.getJob(jobIdFor(idempotencyKey(asked), 'req'));
      expect(job?.opts).toMatchObject({
        removeOnComplete: { count: config.queue.retention.completed },
        removeOnFail: { count: config.queue.retention.failed },
      });
      // BullMQ's event stream keeps its last 10 000 entries.
      expect(await fx.admin.hget(`${config.redis.prefix}:${config.queue.name}:meta`, 'opts.maxLenEvents')).toBe('10000');
    } finally {
      await requests.close();
    }
  });

  it('a request is taken back when its timeout answers it; one whose bot stopped first is deleted by another bot once it has waited max(ageSeconds, 2 × timeoutMs)', async () => {
    // A queue of its own, with no worker: the worker of the test above serves the default one.
    const config = testConfig(fx.redis.url, { queue: { name: 'ttl-unserved', timeoutMs: 1000, retention: { ageSeconds: 1 } } });
    const requests = requestQueue(config, fx.redis.url);
    try {
      const sweeping = await fx.core(config, 'ttl-sweeping');
      const got = collect(sweeping);
      const answered = message({ chatId: 'ttl-waiting', text: '求夸 没有人来接' });
      expect((await sweeping.handle(answered)).action).toBe('queued');
      await waitFor(() => got.length === 1, 'the timeout answer');
      expect(got[0]!.kind).toBe('fallback');
      expect(await requests.getJob(jobIdFor(idempotencyKey(answered), 'req'))).toBeUndefined();

      const gone = await createCore({ config, logger: silentLogger, instanceId: 'ttl-gone' });
      const left = message({ chatId: 'ttl-waiting', text: '求夸 问完就走了' });
      expect((await gone.handle(left)).action).toBe('queued');
      await gone.close();
      const id = jobIdFor(idempotencyKey(left), 'req');
      const { timestamp } = (await requests.getJob(id))!;
      await waitFor(async () => (await requests.getJob(id)) === undefined, 'a sweep to delete the request left behind', 10_000);
      expect(Date.now() - timestamp).toBeGreaterThanOrEqual(2 * config.queue.timeoutMs);
    } finally {
      await requests.close();
    }
  });
});
