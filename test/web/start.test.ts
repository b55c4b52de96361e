import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeRandomModel } from '../helpers/model.ts';
import { freePort, startRedis, type TestRedis } from '../helpers/redis.ts';
import { spawnKuakua, type KuakuaProcess } from '../helpers/cli.ts';
import { spawnStart, waitForBanner } from '../helpers/spawnStart.ts';
import { pingRedis } from '../../src/redis.ts';
import { HAN } from './support.ts';

describe('npm start (one process: Redis check, worker, web, adapters)', () => {
  let modelDir: string;
  let dir: string;
  let running: KuakuaProcess | undefined;

  beforeAll(async () => {
    modelDir = await makeRandomModel();
    dir = mkdtempSync(join(tmpdir(), 'kuakua-start-'));
  });
  afterEach(async () => {
    await running?.kill();
    running = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('with a password-protected Redis and an API token', () => {
    let redis: TestRedis;
    const password = 'redis-pw-7d0c5e';
    const token = 'api-token-c41e9b';
    beforeAll(async () => {
      redis = await startRedis({ password });
    });
    afterAll(async () => {
      await redis?.close();
    });

    it('serves the page with the bundled kuakua-mini, answers ten POSTs with at least 9 different replies, stops on SIGTERM, and logs no secret', async () => {
      const port = await freePort();
      // No KUAKUA_MODEL_DIR: the default, models/kuakua-mini, as a new user runs it.
      running = spawnStart({ REDIS_URL: redis.url, KUAKUA_HTTP_PORT: String(port), KUAKUA_API_TOKEN: token, KUAKUA_MODEL_THREADS: '1' });
      const url = await waitForBanner(running);
      expect(url).toBe(`http://127.0.0.1:${port}/`);
      expect(running.output()).toContain('adapters: web');

      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('夸夸群');

      const replies: string[] = [];
      for (let i = 0; i < 10; i++) {
        const res = await fetch(`${url}api/praise`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ text: '求夸 我今天跑了五公里' }),
        });
        const body = await res.json();
        expect(res.status, JSON.stringify(body)).toBe(200);
        expect(['praise', 'fallback']).toContain(body.kind);
        expect(body.model).toBe('kuakua-mini');
        expect(body.reply.trim()).not.toBe('');
        replies.push(body.reply);
      }
      // The chat's recent replies are never repeated (policy.historySize), whether the model wrote them or they fit the
      // post's tone because no sample was good enough (about half the time on kuakua-mini: QUALITY.md).
      expect(new Set(replies).size, replies.join(' / ')).toBeGreaterThanOrEqual(9);
      // Chinese praise, though not every reply: kuakua-mini learned "6666" (well done!) from the douban data too.
      expect(replies.filter((r) => HAN.test(r)).length, replies.join(' / ')).toBeGreaterThanOrEqual(8);

      const health = await fetch(`${url}healthz`);
      expect(health.status).toBe(200);

      running.proc.kill('SIGTERM');
      expect(await running.exited).toBe(0);
      const out = running.output();
      expect(out).toContain('shutting down');
      expect(out).not.toContain(token);
      expect(out).not.toContain(password);
    });
  });

  it('starts a private redis-server with a password when none answers, serves the page, and stops it on SIGINT', async () => {
    const redisPort = await freePort();
    const dataDir = join(dir, 'redis');
    const config = join(dir, 'autostart.yaml');
    writeFileSync(config, `redis:\n  dataDir: ${JSON.stringify(dataDir)}\n`);
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    running = spawnStart({
      REDIS_URL: redisUrl,
      KUAKUA_CONFIG: config,
      KUAKUA_MODEL_DIR: modelDir,
      KUAKUA_HTTP_PORT: String(await freePort()),
      KUAKUA_MODEL_THREADS: '1',
    });
    const url = await waitForBanner(running);
    expect(running.output()).toContain('started a private redis-server');
    await expect(pingRedis(redisUrl)).rejects.toThrow(/NOAUTH/);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('夸夸群');
    const res = await fetch(`${url}api/praise`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"夸我"}' });
    expect(res.status).toBe(200);
    running.proc.kill('SIGINT');
    expect(await running.exited).toBe(0);
    expect(await pingRedis(redisUrl)).toBe(false);
  });

  it('exits 1 with both ways to get Redis when none answers and none may be started', async () => {
    const config = join(dir, 'no-autostart.yaml');
    writeFileSync(config, 'redis:\n  autoStart: false\n');
    running = spawnStart({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, KUAKUA_CONFIG: config, KUAKUA_MODEL_DIR: modelDir });
    expect(await running.exited).toBe(1);
    expect(running.output()).toMatch(/kuakua start: no Redis answers/);
    expect(running.output()).toMatch(/apt-get install redis-server/);
    expect(running.output()).toMatch(/point REDIS_URL at a running Redis/);
  });

  it('exits 1 naming the model directory when the model is missing', async () => {
    const redis = await startRedis();
    try {
      running = spawnStart({ REDIS_URL: redis.url, KUAKUA_MODEL_DIR: join(dir, 'no-such-model') });
      expect(await running.exited).toBe(1);
      expect(running.output()).toMatch(/kuakua start: .*no-such-model/);
    } finally {
      await redis.close();
    }
  });

  it('refuses a non-loopback bind without KUAKUA_API_TOKEN', async () => {
    const redis = await startRedis();
    try {
      running = spawnStart({
        REDIS_URL: redis.url,
        KUAKUA_MODEL_DIR: modelDir,
        KUAKUA_HTTP_HOST: '0.0.0.0',
        KUAKUA_HTTP_PORT: String(await freePort()),
        KUAKUA_MODEL_THREADS: '1',
      });
      expect(await running.exited).toBe(1);
      expect(running.output()).toMatch(/kuakua start: Refusing to serve the web API on 0\.0\.0\.0 without KUAKUA_API_TOKEN/);
    } finally {
      await redis.close();
    }
  });

  it('runs the roles separately: `kuakua bot` (web + adapters) and `kuakua worker` share one Redis', async () => {
    const redis = await startRedis();
    const bot = spawnKuakua(['bot'], { REDIS_URL: redis.url, KUAKUA_HTTP_PORT: String(await freePort()) });
    let worker: KuakuaProcess | undefined;
    try {
      const url = await waitForBanner(bot, 90_000, /kuakua bot: (http:\/\/\S+)/);
      expect(bot.output()).toContain('adapters: web');
      // No worker yet: the bot is up but not healthy.
      expect((await fetch(`${url}healthz`)).status).toBe(503);
      worker = spawnKuakua(['worker'], { REDIS_URL: redis.url, KUAKUA_MODEL_DIR: modelDir, KUAKUA_MODEL_THREADS: '1' });
      const deadline = Date.now() + 90_000;
      while ((await fetch(`${url}healthz`)).status !== 200) {
        if (Date.now() > deadline || worker.proc.exitCode !== null) throw new Error(`worker did not come up:\n${worker.output()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const res = await fetch(`${url}api/praise`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"求夸 我早起了"}' });
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.model).toBe('random');
      bot.proc.kill('SIGTERM');
      worker.proc.kill('SIGTERM');
      expect(await bot.exited).toBe(0);
      expect(await worker.exited).toBe(0);
    } finally {
      await bot.kill();
      await worker?.kill();
      await redis.close();
    }
  });
});
