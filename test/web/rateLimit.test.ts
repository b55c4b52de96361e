import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebOptions } from '../../adapters/web/context.ts';
import { webOptionsFromConfig } from '../../adapters/web/index.ts';
import type { Core } from '../../src/adapter.ts';
import { createCore } from '../../src/core.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { silentLogger, testConfig } from '../service/support.ts';
import { rawPraise, startWeb, type WebFixture } from './support.ts';

const API = 'rate-api-token-8a41';
const OPERATOR = 'rate-operator-token-c2d5';

// Every request below is refused by validation (400), after the rate limit counted it: no worker or queue is involved.
describe('the per-client rate limit: one bucket per credential and client address', () => {
  let redis: TestRedis;
  let core: Core;

  beforeAll(async () => {
    redis = await startRedis();
    core = await createCore({ config: testConfig(redis.url), logger: silentLogger, instanceId: 'web-rate' });
  });
  afterAll(async () => {
    await core?.close();
    await redis?.close();
  });

  async function withWeb(options: Partial<WebOptions>, run: (post: (headers?: Record<string, string>) => Promise<number>) => Promise<void>) {
    const web: WebFixture = await startWeb(core, testConfig(redis.url), { rateLimit: { max: 2, windowMs: 60_000 }, ...options });
    try {
      await run(async (headers = {}) => (await rawPraise(web, { text: '' }, headers)).status);
    } finally {
      await web.stop();
    }
  }

  it('gives each token its own bucket: API clients using up theirs do not lock the operator out', async () => {
    await withWeb({ apiToken: API, operatorToken: OPERATOR }, async (post) => {
      const api = { authorization: `Bearer ${API}` };
      const operator = { authorization: `Bearer ${OPERATOR}` };
      expect([await post(api), await post(api), await post(api)]).toEqual([400, 400, 429]);
      expect([await post(operator), await post(operator), await post(operator)]).toEqual([400, 400, 429]);
    });
  });

  it('with http.trustProxy: one bucket per X-Forwarded-For client, the address the proxy appended (right-most)', async () => {
    await withWeb({ trustProxy: true }, async (post) => {
      const from = (xff: string) => ({ 'x-forwarded-for': xff });
      expect([await post(from('203.0.113.7')), await post(from('203.0.113.7')), await post(from('203.0.113.7'))]).toEqual([400, 400, 429]);
      expect(await post(from('198.51.100.2'))).toBe(400);
      // A client cannot pick a fresh bucket by sending its own X-Forwarded-For: the proxy appends the real address.
      expect(await post(from('192.0.2.1, 203.0.113.7'))).toBe(429);
      expect(await post(from('192.0.2.99,198.51.100.2'))).toBe(400);
      expect(await post(from('192.0.2.98,  198.51.100.2'))).toBe(429);
    });
  });

  it('without http.trustProxy (the default) X-Forwarded-For is ignored: one bucket for the socket address', async () => {
    expect(webOptionsFromConfig(testConfig(redis.url)).trustProxy).toBe(false);
    await withWeb({}, async (post) => {
      expect(await post({ 'x-forwarded-for': '203.0.113.1' })).toBe(400);
      expect(await post({ 'x-forwarded-for': '203.0.113.2' })).toBe(400);
      expect(await post({ 'x-forwarded-for': '203.0.113.3' })).toBe(429);
    });
  });

  it('with http.trustProxy but no X-Forwarded-For (a request that did not come through the proxy) the socket address counts', async () => {
    await withWeb({ trustProxy: true }, async (post) => {
      expect([await post(), await post(), await post()]).toEqual([400, 400, 429]);
      expect(await post({ 'x-forwarded-for': '203.0.113.50' })).toBe(400);
    });
  });
});
