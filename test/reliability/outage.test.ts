import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createCore } from '../../src/core.ts';
import type { IncomingMessage } from '../../src/events.ts';
import { idempotencyKey, redisKeys } from '../../src/queue/contracts.ts';
import { startFakeTelegram, type FakeMessage } from '../fakes/telegram.ts';
import { recordLogs } from '../helpers/logs.ts';
import { makeRandomModel } from '../helpers/model.ts';
import { praiseQueues, queuesIdle } from '../helpers/queues.ts';
import { blockedWorkers, freePort, startRedis } from '../helpers/redis.ts';
import { collect, message, waitFor } from '../service/support.ts';
import { spawnKuakua } from '../helpers/cli.ts';
import { configFile, requestQueue, startWorkerProcess } from './support.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('Redis stops while messages arrive', () => {
  it.each([
    ['busy', { action: 'replied', delivery: { kind: 'busy' } }],
    ['silent', { action: 'ignored', reason: 'busy' }],
  ] as const)(
    'the core answers within queue.redisWaitMs as for a full queue (%s), queues nothing late, and works again after',
    async (onFull, expected) => {
      const redis = await startRedis({ aof: true });
      cleanups.push(() => redis.close());
      const { config } = configFile(redis.url, { queue: { redisWaitMs: 500, onFull, timeoutMs: 60_000 }, cooldown: { userSeconds: 0 } });
      const logs = recordLogs();
      const bot = await createCore({ config, logger: logs.logger, instanceId: `rel-outage-${onFull}` });
      cleanups.push(() => bot.close());
      const got = collect(bot);
      // Once with Redis up, so that what the first message loads (word lists, scripts) is not timed below.
      expect(await bot.handle(message({ text: '今天吃什么' }))).toMatchObject({ action: 'ignored' });

      await redis.stop();
      const asked = message({ text: '求夸 停电了也要夸' });
      const askedAt = performance.now();
      // Redis stays down until after this answer: it was given when queue.redisWaitMs ran out, not when Redis came back.
      expect(await bot.handle(asked)).toMatchObject(expected);
      // Measured, not read back from the config: the wait ran its 500 ms (less 1 ms of timer rounding), and not much more
      // (the bound leaves a loaded machine 2.5 s).
      const waited = performance.now() - askedAt;
      expect(waited).toBeGreaterThanOrEqual(config.queue.redisWaitMs - 1);
      expect(waited).toBeLessThan(config.queue.redisWaitMs + 2500);
      expect(logs.entries('Redis did not respond in time: answering busy')).toHaveLength(1);
      // Not for the bot: no busy reply to ordinary chatter.
      expect(await bot.handle(message({ text: '今天吃什么' }))).toEqual({ action: 'ignored', reason: 'unavailable' });
      // A distress post gets the care reply, never the busy one, even without Redis.
      expect(await bot.handle(message({ text: '求夸 我不想活了' }))).toMatchObject({
        action: 'replied',
        delivery: { kind: 'care', text: config.distress.reply },
      });
      await redis.start();

      // A new message each try, as people write again: a try made before the core has reconnected is given up, and
      // its message counts as answered (busy or silent), so asking again with the same message would be a duplicate.
      const tries: IncomingMessage[] = [];
      const queued = await waitFor(
        async () => {
          const retry = message({ text: '夸我 恢复了' });
          tries.push(retry);
          return (await bot.handle(retry)).action === 'queued' && retry;
        },
        'a message queued after the restart',
        20_000,
      );
      const requests = requestQueue(config, redis.url);
      cleanups.push(() => requests.close());
      const givenUp = await waitFor(() => logs.entries('given-up decision ended').find((e) => e.messageId === asked.messageId), 'the given-up decision to end');
      expect(givenUp.action).toBe('ignored');
      // The message answered busy during the outage never reaches a worker; the one after the restart is queued.
      const waiting = (await requests.getWaiting()).map((j) => j.data.messageId as string);
      expect(waiting).toContain(queued.messageId);
      expect(waiting).not.toContain(asked.messageId);
      // A try given up while the core was reconnecting may have had its request on the way into Redis already: it
      // lands in the queue, but its one answer was the busy one (its answered key says so), so a worker's reply is dropped.
      const admin = new Redis(redis.url);
      cleanups.push(async () => admin.disconnect());
      for (const late of tries.filter((t) => t !== queued && waiting.includes(t.messageId))) {
        const ended = await waitFor(() => logs.entries('given-up decision ended').find((e) => e.messageId === late.messageId), 'the late try to end');
        expect(ended.action).toBe('queued');
        expect(await admin.get(redisKeys(config.redis.prefix).answered(idempotencyKey(late)))).toBe(`unavailable:rel-outage-${onFull}`);
      }
      expect(got).toEqual([]);
    },
    60_000,
  );

  it('10 s outage: `kuakua bot` (web API + Telegram) and `kuakua worker` reconnect by themselves; each request is answered after recovery or gets the busy reply; nothing crashes', async () => {
    const redis = await startRedis({ aof: true });
    cleanups.push(() => redis.close());
    const fake = await startFakeTelegram();
    cleanups.push(() => fake.close());
    const port = await freePort();
    const { path, config } = configFile(redis.url, {
      instance: { id: 'rel-outage-bot' },
      http: { port, rateLimitPerMinute: 0 },
      cooldown: { userSeconds: 0 },
      rateLimit: { chatPerMinute: 0 },
      queue: { timeoutMs: 60_000 },
      worker: { heartbeatSeconds: 1 },
      model: { dir: await makeRandomModel(), variant: 'fp32', threads: 1, candidates: 1, maxNewTokens: 8 },
    });
    const worker = await startWorkerProcess(redis.url, path);
    cleanups.push(() => worker.stop());
    const bot = spawnKuakua(['bot'], { REDIS_URL: redis.url, KUAKUA_CONFIG: path, TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_ROOT: fake.apiRoot });
    cleanups.push(() => bot.stop());
    await bot.waitForOutput('kuakua bot:', 'the bot to start');
    await bot.waitForOutput('telegram adapter started', 'the telegram adapter');

    const api = `http://127.0.0.1:${port}/api/praise`;
    const praise = async (text: string) => {
      const askedAt = performance.now();
      const res = await fetch(api, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown>, ms: performance.now() - askedAt };
    };
    const chat = { id: -4242, type: 'supergroup' as const, title: 'outage group' };
    let nextUser = 1;
    const tg = (text: string) => fake.userMessage({ chat, from: { id: nextUser++, is_bot: false, first_name: 'u' }, text });
    const repliesTo = (m: FakeMessage) => fake.sent.filter((s) => s.reply_parameters?.message_id === m.message_id);

    expect((await praise('求夸 停电前')).status).toBe(200);
    const before = tg('求夸 停电前');
    await waitFor(() => repliesTo(before).length === 1, 'a Telegram reply before the outage');

    await redis.stop();
    const http: ReturnType<typeof praise>[] = [];
    const telegram: FakeMessage[] = [];
    // One message a second for ten seconds: the sleep paces the outage, no assertion depends on it.
    for (let s = 0; s < 10; s++) {
      http.push(praise(`求夸 停电第${s}秒`));
      telegram.push(tg(`求夸 停电第${s}秒`));
      await sleep(1000);
    }
    await redis.start();

    const answers = await Promise.all(http);
    const busyInTime = (a: Awaited<ReturnType<typeof praise>>, i: number) => {
      expect(a, `request ${i}`).toMatchObject({ status: 503, body: { error: 'busy', kind: 'busy', reply: config.messages.busy } });
      // Measured: given when queue.redisWaitMs (3 s) ran out (less 1 ms of timer rounding); the bound above it leaves a
      // loaded machine 3 s.
      expect(a.ms, `request ${i}`).toBeGreaterThanOrEqual(config.queue.redisWaitMs - 1);
      expect(a.ms, `request ${i}`).toBeLessThan(config.queue.redisWaitMs + 3000);
    };
    // Asked in the first five seconds of ten, Redis was down for all of their wait: each got the busy reply.
    for (const [i, a] of answers.entries()) {
      // Later ones were still waiting for Redis when it came back: praise after recovery, or the busy reply in time.
      if (i >= 5 && a.status === 200) expect(a.body.reply).toEqual(expect.any(String));
      else busyInTime(a, i);
    }
    await waitFor(() => telegram.every((m) => repliesTo(m).length >= 1), 'an answer to every Telegram message', 60_000);
    const after = tg('夸我 恢复之后');
    expect((await praise('夸我 恢复之后')).status).toBe(200);
    await waitFor(() => repliesTo(after).length === 1, 'a Telegram praise after recovery', 30_000);
    expect(repliesTo(after)[0]!.text).not.toBe(config.messages.busy);
    const queues = praiseQueues(config, redis.url, ['rel-outage-bot']);
    cleanups.push(() => Promise.all(queues.map((q) => q.close())));
    await queuesIdle(queues);
    for (const m of telegram) expect(repliesTo(m)).toHaveLength(1);

    expect(bot.alive()).toBe(true);
    expect(worker.alive()).toBe(true);
    for (const out of [bot.output(), worker.output()]) {
      expect(out).not.toMatch(/uncaught|unhandled|"level":60/i);
      // Every connection error went through the logger: no raw stack traces on stdout/stderr, only the start banners.
      expect(out.split('\n').filter((l) => l && !l.startsWith('{') && !/^kuakua (bot|worker):/.test(l))).toEqual([]);
    }
    expect(await bot.stop()).toBe(0);
    expect(await worker.stop()).toBe(0);
  }, 150_000);

  it('`kuakua bot` and `kuakua worker` still exit 0 on SIGTERM while Redis is down, and say what they dropped', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.close());
    const { path } = configFile(redis.url, {
      http: { port: await freePort() },
      worker: { shutdownTimeoutMs: 1000 },
      model: { dir: await makeRandomModel(), variant: 'fp32', threads: 1, candidates: 1, maxNewTokens: 8 },
    });
    const worker = await startWorkerProcess(redis.url, path);
    cleanups.push(() => worker.kill());
    const bot = spawnKuakua(['bot'], { REDIS_URL: redis.url, KUAKUA_CONFIG: path });
    cleanups.push(() => bot.kill());
    await bot.waitForOutput('kuakua bot:', 'the bot to start');
    // Both wait on Redis (BZPOPMIN) before it goes: a connection that was up and is now reconnecting is what hung.
    await waitFor(async () => (await blockedWorkers(redis.url)) >= 2, 'the bot and the worker to wait on Redis');
    await redis.stop();
    expect(await bot.stop()).toBe(0);
    expect(await worker.stop()).toBe(0);
    for (const p of [bot, worker]) expect(p.output()).toContain('did not close in time: dropping its connections');
  }, 120_000);
});
