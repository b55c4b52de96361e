import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { supervise } from '../../adapters/shared/supervise.ts';
import { PermanentAdapterError, type Core } from '../../src/adapter.ts';
import { clearAdapterStatus, getAdapterStatus, setAdapterStatus } from '../../src/adapterStatus.ts';
import { createCore } from '../../src/core.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { silentLogger, testConfig, waitFor } from '../service/support.ts';
import { startWeb, type WebFixture } from './support.ts';

const API = 'health-api-token-61c0';
const OPERATOR = 'health-operator-token-3f7a';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('GET /healthz', () => {
  let redis: TestRedis;
  let core: Core;
  let statusCalls = 0;
  let web: WebFixture;

  beforeAll(async () => {
    redis = await startRedis();
    const config = testConfig(redis.url);
    const real = await createCore({ config, logger: silentLogger, instanceId: 'web-health' });
    // The real core, counting the status look-ups that cost Redis round trips.
    core = {
      instanceId: real.instanceId,
      handle: (m) => real.handle(m),
      onDelivery: (p, d, o) => real.onDelivery(p, d, o),
      status: () => {
        statusCalls++;
        return real.status();
      },
      close: () => real.close(),
    };
    web = await startWeb(core, config, { apiToken: API, operatorToken: OPERATOR });
  });
  afterAll(async () => {
    await web?.stop();
    await core?.close();
    await redis?.close();
  });
  afterEach(() => clearAdapterStatus('telegram'));

  const health = async (headers: Record<string, string> = {}) => {
    const res = await fetch(`${web.url}healthz`, { headers });
    return { status: res.status, body: await res.json() };
  };

  it.each([
    ['no token', {}],
    ['a wrong token', bearer('wrong-token-000')],
    ['the API token', bearer(API)],
  ])('with %s answers only {ok}: no queue, workers, adapters or errors', async (_name, headers) => {
    setAdapterStatus('telegram', { state: 'failed', lastError: 'Telegram rejected the token (401)' });
    const { status, body } = await health(headers);
    // No worker runs on this Redis: not ready.
    expect(status).toBe(503);
    expect(body).toEqual({ ok: false });
  });

  it('with the operator token answers the full status: Redis, queue, workers, model, problems, adapters and warnings', async () => {
    setAdapterStatus('telegram', { state: 'failed', lastError: 'Telegram rejected the token (401)' });
    const { status, body } = await health(bearer(OPERATOR));
    expect(status).toBe(503);
    expect(body).toMatchObject({
      ok: false,
      redis: true,
      queueDepth: 0,
      workers: 0,
      model: null,
      problems: ['no worker online', 'no model loaded'],
      adapters: { telegram: { state: 'failed', lastError: 'Telegram rejected the token (401)' } },
      warnings: ['telegram: failed (Telegram rejected the token (401))'],
    });
  });

  it('publishes an adapter error with secrets removed: the token in an API URL and a password in a Redis URL', async () => {
    const token = '7654321:AAH-health-secret-e2b9';
    const saved = process.env.TELEGRAM_BOT_TOKEN;
    process.env.TELEGRAM_BOT_TOKEN = token;
    const adapter = supervise({
      name: 'telegram',
      logger: silentLogger,
      start: async () => {
        throw new PermanentAdapterError(`401 from https://api.telegram.org/bot${token}/getMe; session in redis://:h3alth-pw@10.0.0.9:6379`);
      },
    });
    try {
      expect(await adapter.settled(10_000)).toMatchObject({ state: 'failed' });
      const published = getAdapterStatus('telegram');
      expect(published).toMatchObject({ lastError: expect.stringContaining('/bot[REDACTED]/getMe') });
      const { body } = await health(bearer(OPERATOR));
      const text = JSON.stringify(body);
      expect(text).toContain('[REDACTED]');
      expect(text).toContain('redis://:***@10.0.0.9');
      expect(text).not.toContain(token);
      expect(text).not.toContain('AAH-health-secret');
      expect(text).not.toContain('h3alth-pw');
    } finally {
      await adapter.stop();
      if (saved === undefined) delete process.env.TELEGRAM_BOT_TOKEN;
      else process.env.TELEGRAM_BOT_TOKEN = saved;
    }
  });

  it('asks the core for its status at most once a second, however many requests come at once', async () => {
    await health(bearer(OPERATOR));
    const before = statusCalls;
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => health(i % 2 ? bearer(OPERATOR) : {})));
    expect(answers.every((a) => a.status === 503)).toBe(true);
    // Every answer came from the look-up already made (or one more, had the second just turned).
    expect(statusCalls - before).toBeLessThanOrEqual(1);
    // Once the cached answer is older than a second, the next request looks again.
    await waitFor(async () => {
      await health();
      return statusCalls > before + 1 || undefined;
    }, 'a fresh status look-up');
  });
});

describe('while Redis stays down', () => {
  it("the operator's /healthz and /metrics name the Redis the bot waits for, without its password, and the adapters stay up", async () => {
    const password = 'health-down-pw-5d1e';
    const redis = await startRedis({ password });
    const config = testConfig(redis.url);
    const core = await createCore({ config, logger: silentLogger, instanceId: 'web-health-down' });
    const web = await startWeb(core, config, { apiToken: API, operatorToken: OPERATOR });
    setAdapterStatus('telegram', { state: 'running' });
    const at = `redis://:***@127.0.0.1:${redis.port}`;
    const health = async (headers: Record<string, string> = {}) => {
      const res = await fetch(`${web.url}healthz`, { headers });
      return { status: res.status, text: await res.text() };
    };
    const redisUp = async () => {
      const text = await (await fetch(`${web.url}metrics`, { headers: bearer(API) })).text();
      expect(text).not.toContain(password);
      return new RegExp(`^kuakua_redis_up\\{target="${at.replace(/[.*]/g, '\\$&')}"\\} (\\d)$`, 'm').exec(text)?.[1];
    };
    try {
      expect(await redisUp()).toBe('1');
      expect(JSON.parse((await health(bearer(OPERATOR))).text)).toMatchObject({ redis: true, redisAt: at });

      await redis.stop();
      expect(await waitFor(async () => (await redisUp()) === '0', 'kuakua_redis_up to say 0')).toBe(true);
      const down = await waitFor(async () => {
        const h = await health(bearer(OPERATOR));
        return JSON.parse(h.text).redis === false && h;
      }, 'the operator /healthz to say Redis is down');
      expect(down.status).toBe(503);
      expect(JSON.parse(down.text)).toMatchObject({
        ok: false,
        redis: false,
        redisAt: at,
        problems: expect.arrayContaining(['redis unreachable']),
        adapters: { telegram: { state: 'running' } },
      });
      expect(down.text).not.toContain(password);
      // Everyone else learns only that the bot is not ready.
      expect(await health(bearer(API))).toEqual({ status: 503, text: JSON.stringify({ ok: false }) });

      await redis.start();
      expect(await waitFor(async () => (await redisUp()) === '1', 'kuakua_redis_up to say 1 again', 30_000)).toBe(true);
    } finally {
      clearAdapterStatus('telegram');
      await web.stop();
      await core.close();
      await redis.close();
    }
  });
});
