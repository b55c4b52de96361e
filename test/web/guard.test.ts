import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/adapter.ts';
import { createCore } from '../../src/core.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { silentLogger, testConfig } from '../service/support.ts';
import { rawPraise, rawRequest, startWeb, type WebFixture } from './support.ts';

// DNS rebinding: a page on evil.example whose name later resolves to 127.0.0.1 reaches a loopback server with
// "Host: evil.example"; a cross-site page can POST with its own Origin. Neither may reach the API.
describe('a server bound to loopback accepts only a loopback Host, and POSTs only from its own origin', () => {
  let redis: TestRedis;
  let core: Core;
  let web: WebFixture;

  beforeAll(async () => {
    redis = await startRedis();
    const config = testConfig(redis.url);
    core = await createCore({ config, logger: silentLogger, instanceId: 'web-guard' });
    web = await startWeb(core, config);
  });
  afterAll(async () => {
    await web?.stop();
    await core?.close();
    await redis?.close();
  });

  const withPort = (s: string) => s.replace('PORT', String(web.port));

  it.each([
    ['127.0.0.1', 200],
    ['127.0.0.1:PORT', 200],
    ['localhost', 200],
    ['localhost:PORT', 200],
    ['LocalHost:PORT', 200],
    ['[::1]', 200],
    ['[::1]:PORT', 200],
    ['127.0.0.2:PORT', 200],
    ['[::ffff:127.0.0.1]:PORT', 200],
    ['evil.example', 421],
    ['evil.example:PORT', 421],
    ['127.0.0.1.evil.example', 421],
    ['127.evil.example:PORT', 421],
    ['localhost.evil.example', 421],
    ['0.0.0.0:PORT', 421],
    ['192.168.1.20:PORT', 421],
    ['localhost.', 421],
    ['127.0.0.1:PORT@evil.example', 421],
    ['127.0.0.1:PORT/../evil', 421],
  ])('Host %j -> %i', async (host, status) => {
    const res = await rawRequest(web.url, { headers: { host: withPort(host) } });
    expect(res.status).toBe(status);
    if (status === 421) expect(res.json).toEqual({ error: 'misdirected_host', message: expect.stringMatching(/Host .*loopback/) });
  });

  it('refuses a request without a Host header (HTTP/1.0)', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(web.port, '127.0.0.1', () => socket.end('GET / HTTP/1.0\r\n\r\n'));
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.[01] 421 /);
  });

  it('refuses a foreign Host on every route, the API and the health check included', async () => {
    for (const [method, path] of [
      ['POST', 'api/praise'],
      ['GET', 'api/login'],
      ['GET', 'healthz'],
      ['GET', 'metrics'],
      ['GET', 'page.js'],
    ]) {
      const res = await rawRequest(`${web.url}${path}`, {
        method,
        headers: { host: 'evil.example', 'content-type': 'application/json' },
        body: method === 'POST' ? '{"text":"求夸"}' : undefined,
      });
      expect(res.status, path).toBe(421);
    }
  });

  // An accepted POST reaches validation: 400 for the empty text.
  it.each([
    ['no Origin', 400, undefined, '127.0.0.1:PORT'],
    ['its own origin', 400, 'http://127.0.0.1:PORT', '127.0.0.1:PORT'],
    ['its own origin by name', 400, 'http://localhost:PORT', 'localhost:PORT'],
    ['its own origin over IPv6', 400, 'http://[::1]:PORT', '[::1]:PORT'],
    ['a foreign site', 403, 'http://evil.example', '127.0.0.1:PORT'],
    ['a foreign site on the same port', 403, 'http://evil.example:PORT', '127.0.0.1:PORT'],
    ['another port on this machine', 403, 'http://127.0.0.1:1', '127.0.0.1:PORT'],
    ['the other loopback name', 403, 'http://localhost:PORT', '127.0.0.1:PORT'],
    ['an opaque origin (sandboxed frame, file://)', 403, 'null', '127.0.0.1:PORT'],
    ['garbage', 403, 'not a url', '127.0.0.1:PORT'],
  ])('POST with %s -> %i', async (_name, status, origin, host) => {
    const headers: Record<string, string> = { host: withPort(host) };
    if (origin) headers.origin = withPort(origin);
    const res = await rawPraise(web, { text: '' }, headers);
    expect(res.status).toBe(status);
    if (status === 403) expect(res.json).toEqual({ error: 'foreign_origin', message: expect.stringMatching(/Origin/) });
  });

  it('serves a GET whatever its Origin (a page may link to the playground)', async () => {
    expect((await rawRequest(web.url, { headers: { origin: 'http://evil.example' } })).status).toBe(200);
  });
});

describe('a server bound to every address (behind a proxy or in a container)', () => {
  it('serves any Host name, and still refuses a foreign Origin on POST', async () => {
    const redis = await startRedis();
    const config = testConfig(redis.url);
    const core = await createCore({ config, logger: silentLogger, instanceId: 'web-guard-any' });
    const token = 'guard-token-9d3e1f';
    const web = await startWeb(core, config, { host: '0.0.0.0', apiToken: token });
    try {
      expect((await rawRequest(web.url, { headers: { host: 'kuakua.example.org' } })).status).toBe(200);
      const auth = { authorization: `Bearer ${token}`, host: 'kuakua.example.org' };
      expect((await rawPraise(web, { text: '' }, { ...auth, origin: 'https://kuakua.example.org' })).status).toBe(400);
      expect((await rawPraise(web, { text: '' }, { ...auth, origin: 'https://evil.example' })).status).toBe(403);
    } finally {
      await web.stop();
      await core.close();
      await redis.close();
    }
  });
});
