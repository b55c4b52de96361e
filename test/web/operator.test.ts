import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webOptionsFromConfig } from '../../adapters/web/index.ts';
import type { WebOptions } from '../../adapters/web/context.ts';
import { startWebServer } from '../../adapters/web/server.ts';
import { loadConfig } from '../../src/app/config.ts';
import { createCore } from '../../src/core.ts';
import { createLogger } from '../../src/logger.ts';
import { registry } from '../../src/metrics.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { silentLogger, testConfig } from '../service/support.ts';
import { startWeb, type WebFixture } from './support.ts';

const API = 'api-token-0b7d2c';
const OPERATOR = 'operator-token-5e91a4';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('the web admin is whoever holds the operator token (KUAKUA_OPERATOR_TOKEN), never a userId', () => {
  let redis: TestRedis;
  let cores = 0;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.close();
  });

  /** A web server in front of a core without a worker (a praise gets its fallback at once); admins.web, never consulted, names "boss". */
  async function withWeb(options: Partial<WebOptions>, run: (web: WebFixture) => Promise<void>) {
    const config = testConfig(redis.url, { admins: { web: ['boss', 'unverified:boss'] } });
    const core = await createCore({ config, logger: silentLogger, instanceId: `web-operator-${++cores}` });
    const web = await startWeb(core, config, options);
    try {
      await run(web);
      expect(web.logs.join('\n')).not.toContain(OPERATOR);
    } finally {
      await web.stop();
      await core.close();
    }
  }

  it('runs admin commands with the operator token, and refuses them with the API token whatever userId it claims', async () => {
    await withWeb({ apiToken: API, operatorToken: OPERATOR }, async (web) => {
      const claimed = await web.praise({ text: '/kuakua_off', userId: 'boss', chatId: 'team' }, { headers: bearer(API) });
      expect(claimed.status).toBe(200);
      expect(claimed.json.kind).toBe('refusal');

      const off = await web.praise({ text: '/kuakua_off', chatId: 'team' }, { headers: bearer(OPERATOR) });
      expect(off.json.kind).toBe('admin');
      const ignored = await web.praise({ text: '求夸', userId: 'boss', chatId: 'team' }, { headers: bearer(API) });
      expect(ignored.status).toBe(422);
      expect(ignored.json.message).toMatch(/disabled/);
      expect((await web.praise({ text: '/kuakua_on', userId: 'anyone', chatId: 'team' }, { headers: bearer(OPERATOR) })).json.kind).toBe('admin');
      // The operator may do whatever an API client may.
      expect((await web.praise({ text: '求夸', chatId: 'team' }, { headers: bearer(OPERATOR) })).status).toBe(200);
      expect((await fetch(`${web.url}metrics`, { headers: bearer(OPERATOR) })).status).toBe(200);
    });
  });

  it.each([
    ['no token', 401, {}],
    ['a wrong token', 401, bearer('not-the-token')],
    ['the API token', 403, bearer(API)],
    ['the operator token', 200, bearer(OPERATOR)],
  ])('GET /api/login (the WeChat login QR) with %s -> %i', async (_name, status, headers) => {
    await withWeb({ apiToken: API, operatorToken: OPERATOR }, async (web) => {
      const res = await fetch(`${web.url}api/login`, { headers });
      expect(res.status).toBe(status);
      const body = await res.json();
      if (status === 200) expect(body).toEqual({ wechat: null });
      else expect(body).toMatchObject({ error: status === 401 ? 'unauthorized' : 'forbidden', message: expect.stringContaining('KUAKUA_OPERATOR_TOKEN') });
    });
  });

  it('with no token set (loopback, no setup): the page and praise work without a token; admin commands and /api/login are refused', async () => {
    await withWeb({}, async (web) => {
      expect((await fetch(web.url)).status).toBe(200);
      const praise = await web.praise({ text: '求夸 我装好了' });
      expect(praise.status).toBe(200);
      expect(praise.json.kind).toBe('fallback');
      expect((await web.praise({ text: '/kuakua_off', userId: 'boss' })).json.kind).toBe('refusal');
      const login = await fetch(`${web.url}api/login`);
      expect(login.status).toBe(403);
      expect((await login.json()).message).toMatch(/KUAKUA_OPERATOR_TOKEN is not set/);
    });
  });

  it('with only the operator token set: praise needs no token, admin commands need the operator token', async () => {
    await withWeb({ operatorToken: OPERATOR }, async (web) => {
      expect((await web.praise({ text: '求夸 我学会了骑车' })).status).toBe(200);
      expect((await web.praise({ text: '/kuakua_off', userId: 'boss', chatId: 'solo' })).json.kind).toBe('refusal');
      expect((await web.praise({ text: '/kuakua_off', chatId: 'solo' }, { headers: bearer(OPERATOR) })).json.kind).toBe('admin');
      expect((await fetch(`${web.url}api/login`)).status).toBe(401);
    });
  });

  it('refuses to start when the operator token is the API token (every API client would be an admin)', async () => {
    const config = testConfig(redis.url);
    const core = await createCore({ config, logger: silentLogger, instanceId: 'web-operator-same' });
    try {
      await expect(
        startWebServer({ ...webOptionsFromConfig(config), port: 0, apiToken: API, operatorToken: API, core, logger: silentLogger, registry }),
      ).rejects.toThrow(/KUAKUA_OPERATOR_TOKEN must differ from KUAKUA_API_TOKEN/);
    } finally {
      await core.close();
    }
  });

  it('reads KUAKUA_OPERATOR_TOKEN from the environment only, and masks it in logs', () => {
    const env = { REDIS_URL: redis.url, KUAKUA_OPERATOR_TOKEN: OPERATOR };
    expect(webOptionsFromConfig(loadConfig({ env })).operatorToken).toBe(OPERATOR);
    const lines: string[] = [];
    createLogger({ env, destination: { write: (l: string) => void lines.push(l) } }).info({ detail: `token ${OPERATOR}` }, 'hello');
    expect(lines.join('')).not.toContain(OPERATOR);
  });
});
