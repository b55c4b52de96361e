import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clearAdapterStatus, setAdapterStatus } from '../../src/adapterStatus.ts';
import { createCore } from '../../src/core.ts';
import { createLogger } from '../../src/logger.ts';
import { BAD_INPUTS, type BadInputName } from '../adapters/badInput.ts';
import { startStack, type Stack } from '../adapters/stack.ts';
import { chromiumPath } from '../helpers/chromium.ts';
import { startRedis } from '../helpers/redis.ts';
import { testConfig, waitFor } from '../service/support.ts';
import { HAN, startWeb, type WebFixture } from './support.ts';

// The operator's token opens the status details and the WeChat login QR on the page.
const OPERATOR_TOKEN = 'page-operator-token-4c2e';

describe('web playground page in headless Chromium', () => {
  let stack: Stack;
  let web: WebFixture;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];
  let dialogs: string[];

  beforeAll(async () => {
    stack = await startStack({ rateLimit: { chatPerMinute: 0 } });
    web = await startWeb(stack.core, stack.config, { operatorToken: OPERATOR_TOKEN });
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    await stack?.close();
  });

  async function openPage() {
    page = await browser.newPage();
    pageErrors = [];
    dialogs = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(web.url);
    // Record every state of the pending indicator: a fast reply must not hide that it was shown.
    await page.evaluate(() => {
      const w = window as unknown as { typingSeen: boolean; pendingSeen: boolean };
      w.typingSeen = false;
      w.pendingSeen = false;
      new MutationObserver(() => {
        if (!document.getElementById('typing')!.hidden) w.typingSeen = true;
        if (document.querySelector('.bubble.pending')) w.pendingSeen = true;
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
  }

  afterEach(async () => {
    await page?.close();
  });

  /** Enters a token with the ··· button, as the operator does. */
  async function enterToken(token: string) {
    await page.click('#more');
    await page.fill('#token', token);
    await page.press('#token', 'Enter');
    expect(await page.locator('#auth').isHidden()).toBe(true);
  }

  /** Sends `text` and returns the reply bubble it brings, which must show the reply the API answered with. */
  async function send(text: string) {
    const before = await page.locator('.msg.bot .bubble:not(.pending)').count();
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/praise') && r.request().method() === 'POST', { timeout: 60_000 });
    await page.fill('#input', text);
    await page.press('#input', 'Enter');
    const { reply } = (await (await answered).json()) as { reply: string };
    await page.waitForFunction((n) => document.querySelectorAll('.msg.bot .bubble:not(.pending)').length > n, before, { timeout: 60_000 });
    const shown = (await page.locator('.msg.bot .bubble:not(.pending)').last().textContent()) ?? '';
    expect(shown).toBe(reply);
    return shown;
  }

  it('looks like a group chat: type 求夸, see 对方正在输入… and a pending bubble, then a Chinese praise', async () => {
    await openPage();
    await expect(page.title()).resolves.toBe('夸夸群');
    await expect(page.locator('h1').textContent()).resolves.toMatch(/^夸夸群/);
    await expect(page.locator('#typing').textContent()).resolves.toBe('对方正在输入…');
    expect(await page.locator('#typing').isHidden()).toBe(true);
    expect(await page.locator('#auth').isHidden()).toBe(true);

    const reply = await send('求夸 我今天跑了五公里');
    expect(reply).toMatch(HAN);
    expect(await page.locator('.msg.me .bubble').last().textContent()).toBe('求夸 我今天跑了五公里');
    const seen = await page.evaluate(() => {
      const { typingSeen, pendingSeen } = window as unknown as { typingSeen: boolean; pendingSeen: boolean };
      return { typingSeen, pendingSeen };
    });
    expect(seen.typingSeen).toBe(true);
    expect(seen.pendingSeen).toBe(true);
    // Once answered the indicator is gone and the input is ready again.
    expect(await page.locator('#typing').isHidden()).toBe(true);
    expect(await page.locator('.bubble.pending').count()).toBe(0);
    expect(await page.locator('#send').isEnabled()).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('shows markup literally and runs no script from it (XSS)', async () => {
    await openPage();
    const attack = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2</script> 求夸';
    await send(attack);
    expect(await page.locator('.msg.me .bubble').last().textContent()).toBe(attack);
    expect(await page.locator('#messages img, #messages script').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('serves the page with a CSP that forbids inline script', async () => {
    const res = await fetch(web.url);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(res.headers.get('content-security-policy')).not.toMatch(/unsafe-inline/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  const typed = (name: BadInputName) => BAD_INPUTS.find(([n]) => n === name)![1];
  // What the page sends for each input of the shared table (and shows in the asker's bubble): nothing for blank text;
  // otherwise what the text box holds, which is cut to its maxlength and normalized by the browser.
  const PAGE_SENDS: Record<BadInputName, string | null> = {
    empty: null,
    'whitespace only': null,
    '100 000 characters': '夸'.repeat(2000),
    'only emoji': typed('only emoji'),
    'zero-width and RTL marks': typed('zero-width and RTL marks'),
    // The text box turns CR LF into LF.
    'control characters': '\u0000\u0001\u0007\u001b[31m\u007f求夸\n',
    'lone UTF-16 surrogates': '\ufffd求\ufffd夸\ufffd',
    'HTML and script': typed('HTML and script'),
    'all trigger words': typed('all trigger words'),
  };

  it('handles each input of the bad-input table as expected, nothing executed, no page error', async () => {
    await openPage();
    const count = (selector: string) => page.locator(selector).count();
    for (const [name, text] of BAD_INPUTS) {
      const before = { mine: await count('.msg.me'), errors: await count('.system.error') };
      const sent = PAGE_SENDS[name];
      if (sent === null) {
        await page.fill('#input', text);
        await page.press('#input', 'Enter');
        expect(await count('.bubble.pending'), name).toBe(0);
        expect(await count('.msg.me'), name).toBe(before.mine);
        expect(await page.inputValue('#input'), name).toBe(text);
        continue;
      }
      expect(await send(text), name).toMatch(HAN);
      expect(await page.locator('.msg.me .bubble').last().textContent(), name).toBe(sent);
      expect(await count('.system.error'), name).toBe(before.errors);
    }
    expect(await page.locator('#messages img, #messages script').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('asks for the API token after a 401 and sends with it', async () => {
    const token = 'page-token-93b1';
    const guarded = await startWeb(stack.core, stack.config, { apiToken: token });
    const original = web;
    web = guarded;
    try {
      await openPage();
      await page.fill('#input', '求夸 我带了伞');
      await page.press('#input', 'Enter');
      await page.locator('#auth').waitFor({ state: 'visible', timeout: 10_000 });
      expect(await page.locator('.system.error').last().textContent()).toBe('需要 API token 才能发送。');
      await page.fill('#token', token);
      await page.press('#token', 'Enter');
      expect(await page.locator('#auth').isHidden()).toBe(true);
      expect(await send('求夸 我带了伞')).toMatch(HAN);
    } finally {
      web = original;
      await guarded.stop();
    }
  });

  it('fits the header at 390 px: nothing in the title bar is clipped or off screen', async () => {
    await openPage();
    await page.setViewportSize({ width: 390, height: 844 });
    const boxes = await page.evaluate(() =>
      [...document.querySelectorAll('.titlebar > *')].map((node) => {
        const r = node.getBoundingClientRect();
        return { cls: node.className, left: r.left, right: r.right, clipped: node.scrollWidth > node.clientWidth + 1 };
      }),
    );
    expect(boxes.map((b) => b.cls)).toEqual(['back', 'title', 'more']);
    for (const b of boxes) {
      expect(b.clipped, b.cls).toBe(false);
      expect(b.left, b.cls).toBeGreaterThanOrEqual(0);
      expect(b.right, b.cls).toBeLessThanOrEqual(390);
    }
  });

  it('says in Chinese when the client sends too fast, with the wait', async () => {
    const limited = await startWeb(stack.core, stack.config, { rateLimit: { max: 1, windowMs: 60_000 } });
    const original = web;
    web = limited;
    try {
      await openPage();
      expect(await send('求夸 第一条')).toMatch(HAN);
      await page.fill('#input', '求夸 第二条');
      await page.press('#input', 'Enter');
      await page.locator('.system.error').waitFor({ timeout: 10_000 });
      expect(await page.locator('.system.error').last().textContent()).toMatch(/^发得太快了，请 \d+ 秒后再试。$/);
    } finally {
      web = original;
      await limited.stop();
    }
  });

  it('has a favicon', async () => {
    for (const path of ['favicon.ico', 'favicon.svg']) {
      const res = await fetch(`${web.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe('image/svg+xml');
      expect(await res.text(), path).toMatch(/^<svg /);
    }
    await openPage();
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toBe('/favicon.svg');
  });

  it('shows the operator each platform that is not running, with its error and its next try, and hides the line once it runs', async () => {
    setAdapterStatus('telegram', { state: 'retrying', lastError: 'ENOTFOUND api.telegram.org', nextTryAt: Date.now() + 8000 });
    setAdapterStatus('discord', { state: 'failed', lastError: 'Discord rejected DISCORD_TOKEN (401)' });
    setAdapterStatus('qq', { state: 'retrying', lastError: 'ECONNREFUSED 127.0.0.1:3001' });
    try {
      await openPage();
      await enterToken(OPERATOR_TOKEN);
      await page.locator('#status').waitFor({ state: 'visible', timeout: 10_000 });
      const lines = await page.locator('#status .status-line').allTextContents();
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/^telegram：连接失败（ENOTFOUND api\.telegram\.org），\d 秒后重试$/);
      expect(lines[1]).toBe('discord：已停止（Discord rejected DISCORD_TOKEN (401)）');
      expect(lines[2]).toBe('qq：连接失败（ECONNREFUSED 127.0.0.1:3001），正在重试…');
      setAdapterStatus('telegram', { state: 'running' });
      clearAdapterStatus('discord');
      clearAdapterStatus('qq');
      await page.locator('#status').waitFor({ state: 'hidden', timeout: 10_000 });
      expect(pageErrors).toEqual([]);
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
    const lonely = await startWeb(core, stack.config, { operatorToken: OPERATOR_TOKEN });
    const original = web;
    web = lonely;
    try {
      await openPage();
      // Anyone sees that the bot is not ready; why is the operator's to know.
      await page.locator('#status').waitFor({ state: 'visible', timeout: 10_000 });
      expect(await page.locator('#status').textContent()).toContain('not ready');
      await enterToken(OPERATOR_TOKEN);
      await page.waitForFunction(() => document.getElementById('status')!.textContent!.includes('no worker online'), undefined, { timeout: 10_000 });
      const askedAt = performance.now();
      expect(await send('求夸 我一个人也很好')).toMatch(HAN);
      // Measured from Enter to the bubble: well before queue.timeoutMs (20 s), whose fallback would also be Chinese.
      expect(performance.now() - askedAt).toBeLessThan(config.queue.timeoutMs / 4);
    } finally {
      web = original;
      await lonely.stop();
      await core.close();
      await redis.close();
    }
  });

  it('tells the operator which Redis it waits for while Redis is down, without its password', async () => {
    const password = 'page-redis-pw-8a3f';
    const redis = await startRedis({ password });
    const core = await createCore({ config: testConfig(redis.url), logger: createLogger({ level: 'silent' }), instanceId: 'page-redis-down' });
    const cut = await startWeb(core, stack.config, { operatorToken: OPERATOR_TOKEN });
    const original = web;
    web = cut;
    try {
      await redis.stop();
      await openPage();
      await enterToken(OPERATOR_TOKEN);
      const line = `redis unreachable: redis://:***@127.0.0.1:${redis.port}`;
      await page.waitForFunction((l) => document.getElementById('status')!.textContent!.includes(l), line, { timeout: 15_000 });
      expect(await page.content()).not.toContain(password);
    } finally {
      web = original;
      // Back, and reconnected: a core closed while its connections wait to reconnect never finishes closing (ioredis
      // leaves such a connection neither reconnecting nor ended, and BullMQ waits for its end).
      await redis.start();
      await waitFor(async () => (await core.status()).redis, 'the core to reconnect', 20_000);
      await cut.stop();
      await core.close();
      await redis.close();
    }
  });

  it('shows the operator the WeChat login QR code while the wechat adapter waits for a scan, and nobody else', async () => {
    await openPage();
    expect(await page.locator('#login').isHidden()).toBe(true);
    web.login.set('wechat', { status: 'scan', qrcode: 'https://login.weixin.qq.com/l/kuakua-test' });
    try {
      // Without the operator token the QR is neither asked for nor shown: by the second poll from now, the first
      // poll's look-up (if it made one) has long been answered.
      const asked: string[] = [];
      page.on('request', (r) => void asked.push(new URL(r.url()).pathname));
      for (let i = 0; i < 2; i++) await page.waitForResponse((r) => r.url().endsWith('/healthz'), { timeout: 10_000 });
      expect(asked).not.toContain('/api/login');
      expect(await page.locator('#login').isHidden()).toBe(true);

      await enterToken(OPERATOR_TOKEN);
      await page.locator('#login').waitFor({ state: 'visible', timeout: 10_000 });
      const dark = await page.evaluate(() => {
        const canvas = document.getElementById('login-qr') as HTMLCanvasElement;
        const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
        let n = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i]! < 128 && data[i + 3]! > 0) n++;
        return n / (data.length / 4);
      });
      // A QR code is roughly half dark modules inside its quiet zone.
      expect(dark).toBeGreaterThan(0.2);
      expect(dark).toBeLessThan(0.7);
      web.login.set('wechat', { status: 'logged-in', user: '夸夸机器人' });
      await page.locator('#login').waitFor({ state: 'hidden', timeout: 10_000 });
    } finally {
      web.login.clear('wechat');
    }
  });
});
