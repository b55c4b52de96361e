import { describe, expect, it } from 'vitest';
import { clearAdapterStatus, setAdapterStatus } from '../../src/adapterStatus.ts';
import { createCore } from '../../src/core.ts';
import { createLogger } from '../../src/logger.ts';
import { blockedWorkers, startRedis } from '../helpers/redis.ts';
import { testConfig, waitFor } from '../service/support.ts';
import { OPERATOR_TOKEN, said, usePlayground } from './playground.ts';
import { HAN, startWeb } from './support.ts';

// What the page shows the operator (adapter states, the Redis it waits for, WeChat's login QR) and a lonely page: apart
// from page.test.ts, so that the two files' waits for the page's status polls run side by side.
describe('web playground page in headless Chromium: what the operator sees', () => {
  const pg = usePlayground();

  it('shows the operator each platform that is not running, with its error and its next try, and hides the line once it runs', async () => {
    setAdapterStatus('telegram', { state: 'retrying', lastError: 'ENOTFOUND api.telegram.org', nextTryAt: Date.now() + 8000 });
    setAdapterStatus('discord', { state: 'failed', lastError: 'Discord rejected DISCORD_TOKEN (401)' });
    setAdapterStatus('qq', { state: 'retrying', lastError: 'ECONNREFUSED 127.0.0.1:3001' });
    try {
      await pg.openPage();
      await pg.enterToken(OPERATOR_TOKEN);
      await pg.page.locator('#status').waitFor({ state: 'visible', timeout: 10_000 });
      const lines = await pg.page.locator('#status .status-line').allTextContents();
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/^telegram：连接失败（ENOTFOUND api\.telegram\.org），\d 秒后重试$/);
      expect(lines[1]).toBe('discord：已停止（Discord rejected DISCORD_TOKEN (401)）');
      expect(lines[2]).toBe('qq：连接失败（ECONNREFUSED 127.0.0.1:3001），正在重试…');
      setAdapterStatus('telegram', { state: 'running' });
      clearAdapterStatus('discord');
      clearAdapterStatus('qq');
      await pg.page.locator('#status').waitFor({ state: 'hidden', timeout: 10_000 });
      expect(pg.pageErrors).toEqual([]);
    } finally {
      clearAdapterStatus('telegram');
      clearAdapterStatus('discord');
      clearAdapterStatus('qq');
    }
  });

  it('says "no worker online" when no worker runs on its Redis, and answers at once', async () => {
    const redis = await startRedis();
    const config = testConfig(redis.url);
    const core = await createCore({ config, logger: createLogger({ level: 'silent' }), instanceId: 'page-no-worker' });
    const lonely = await startWeb(core, pg.stack.config, { operatorToken: OPERATOR_TOKEN });
    const original = pg.web;
    pg.web = lonely;
    try {
      await pg.openPage();
      // Anyone sees that the bot is not ready; why is the operator's to know.
      await pg.page.locator('#status').waitFor({ state: 'visible', timeout: 10_000 });
      expect(await pg.page.locator('#status').textContent()).toContain('not ready');
      await pg.enterToken(OPERATOR_TOKEN);
      await pg.page.waitForFunction(() => document.getElementById('status')!.textContent!.includes('no worker online'), undefined, { timeout: 10_000 });
      const askedAt = performance.now();
      expect(said(await pg.send('求夸 我一个人也很好'))).toMatch(HAN);
      // Measured from Enter to the bubble: well before queue.timeoutMs (20 s), whose fallback would also be Chinese.
      expect(performance.now() - askedAt).toBeLessThan(config.queue.timeoutMs / 4);
    } finally {
      pg.web = original;
      await lonely.stop();
      await core.close();
      await redis.close();
    }
  });

  it('tells the operator which Redis it waits for while Redis is down, without its password', async () => {
    const password = 'page-redis-pw-8a3f';
    const redis = await startRedis({ password });
    const core = await createCore({ config: testConfig(redis.url), logger: createLogger({ level: 'silent' }), instanceId: 'page-redis-down' });
    const cut = await startWeb(core, pg.stack.config, { operatorToken: OPERATOR_TOKEN });
    const original = pg.web;
    pg.web = cut;
    // The core's reply worker (BullMQ) blocks on BZPOPMIN once its connection is made. Redis stopped before that, or
    // the core closed before it is made again, leaves the connection half made, and BullMQ's close then never ends.
    const replyWorkerWaits = async () => (await blockedWorkers(redis.url)) >= 1;
    try {
      await waitFor(replyWorkerWaits, 'the reply worker to wait on Redis', 20_000);
      await redis.stop();
      await pg.openPage();
      await pg.enterToken(OPERATOR_TOKEN);
      const line = `redis unreachable: redis://:***@127.0.0.1:${redis.port}`;
      await pg.page.waitForFunction((l) => document.getElementById('status')!.textContent!.includes(l), line, { timeout: 15_000 });
      expect(await pg.page.content()).not.toContain(password);
    } finally {
      pg.web = original;
      // Back, and reconnected, so that the core closes cleanly: one closed while its connections wait to reconnect
      // drops them after closeTimeoutMs (outage.test.ts).
      await redis.start();
      await waitFor(async () => (await core.status()).redis && (await replyWorkerWaits()), 'the core to reconnect', 30_000);
      await cut.stop();
      await core.close();
      await redis.close();
    }
  });

  it('shows the operator the WeChat login QR code while the wechat adapter waits for a scan, and nobody else', async () => {
    await pg.openPage();
    expect(await pg.page.locator('#login').isHidden()).toBe(true);
    pg.web.login.set('wechat', { status: 'scan', qrcode: 'https://login.weixin.qq.com/l/kuakua-test' });
    try {
      // Without the operator token the QR is neither asked for nor shown: by the second poll from now, the first
      // poll's look-up (if it made one) has long been answered.
      const asked: string[] = [];
      pg.page.on('request', (r) => void asked.push(new URL(r.url()).pathname));
      for (let i = 0; i < 2; i++) await pg.page.waitForResponse((r) => r.url().endsWith('/healthz'), { timeout: 10_000 });
      expect(asked).not.toContain('/api/login');
      expect(await pg.page.locator('#login').isHidden()).toBe(true);

      await pg.enterToken(OPERATOR_TOKEN);
      await pg.page.locator('#login').waitFor({ state: 'visible', timeout: 10_000 });
      const dark = await pg.page.evaluate(() => {
        const canvas = document.getElementById('login-qr') as HTMLCanvasElement;
        const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
        let n = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i]! < 128 && data[i + 3]! > 0) n++;
        return n / (data.length / 4);
      });
      // A QR code is roughly half dark modules inside its quiet zone.
      expect(dark).toBeGreaterThan(0.2);
      expect(dark).toBeLessThan(0.7);
      pg.web.login.set('wechat', { status: 'logged-in', user: '夸夸机器人' });
      await pg.page.locator('#login').waitFor({ state: 'hidden', timeout: 10_000 });
    } finally {
      pg.web.login.clear('wechat');
    }
  });
});
