import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axe from 'axe-core';
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

/** One reply of POST /api/praise's `replies`: a member of the group and what they said. */
interface Reply {
  text: string;
  voice: { name: string; avatar: string };
}

/** What a page recorded (see `open`): every line the title bar's typing indicator showed and every pending row's member, in order. */
interface Seen {
  typingSeen: string[];
  pendingSeen: string[];
}

/** A message row that holds a reply (not a typing placeholder). */
const SHOWN = '.msg.bot:not(.pending)';
const said = (replies: Reply[]) => replies.map((r) => r.text).join('\n');
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('web playground page in headless Chromium', () => {
  let stack: Stack;
  let web: WebFixture;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];
  let dialogs: string[];

  beforeAll(async () => {
    // The tiny random model's candidates never pass policy.minScore; every praise retrieved from the corpus does, so
    // that a post like the corpus's gets a chorus of different Chinese replies.
    stack = await startStack({ rateLimit: { chatPerMinute: 0 }, policy: { retrievedScore: { bias: 4, judge: 0, similarity: 0, chars: 0 } } });
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

  /** A new page on `web`, recording its errors, its dialogs and what its typing indicators showed. */
  async function open(): Promise<{ page: Page; pageErrors: string[]; dialogs: string[] }> {
    const opened = { page: await browser.newPage(), pageErrors: [] as string[], dialogs: [] as string[] };
    opened.page.on('pageerror', (err) => opened.pageErrors.push(err.message));
    opened.page.on('dialog', (d) => {
      opened.dialogs.push(d.message());
      void d.dismiss();
    });
    await opened.page.goto(web.url);
    // Record every state of the typing indicators: a fast reply must not hide that they were shown.
    await opened.page.evaluate(() => {
      const w = window as unknown as Seen;
      w.typingSeen = [];
      w.pendingSeen = [];
      new MutationObserver(() => {
        const typing = document.getElementById('typing')!;
        if (!typing.hidden && typing.textContent !== w.typingSeen.at(-1)) w.typingSeen.push(typing.textContent!);
        const pending = document.querySelector<HTMLElement>('.msg.pending');
        if (pending && pending.dataset.name !== w.pendingSeen.at(-1)) w.pendingSeen.push(pending.dataset.name!);
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    return opened;
  }

  async function openPage() {
    ({ page, pageErrors, dialogs } = await open());
  }

  const seen = (p: Page = page) => p.evaluate(() => ({ ...(window as unknown as Seen) }));

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

  /**
   * Sends `text` and returns the replies the API answered with, once the page shows them all: each in a bubble of its
   * own under its member's name, in the API's order.
   */
  async function send(text: string, p: Page = page): Promise<Reply[]> {
    const before = await p.locator(SHOWN).count();
    const answered = p.waitForResponse((r) => r.url().endsWith('/api/praise') && r.request().method() === 'POST', { timeout: 60_000 });
    await p.fill('#input', text);
    await p.press('#input', 'Enter');
    const body = (await (await answered).json()) as { replies: Reply[] };
    expect(body.replies, JSON.stringify(body)).toBeInstanceOf(Array);
    const { replies } = body;
    // They come one after another; the send button is back once the last is in.
    await p.waitForFunction(
      ([selector, n]) => document.querySelectorAll(selector).length >= n && !(document.getElementById('send') as HTMLButtonElement).disabled,
      [SHOWN, before + replies.length] as const,
      { timeout: 60_000 },
    );
    const shown = await p
      .locator(SHOWN)
      .evaluateAll((rows) => rows.map((row) => ({ name: row.querySelector('.name')?.textContent, text: row.querySelector('.bubble')?.textContent })));
    expect(shown.slice(before)).toEqual(replies.map((r) => ({ name: r.voice.name, text: r.text })));
    return replies;
  }

  it('looks like a group chat: type 求夸, see 大家正在输入… and a pending bubble, then Chinese praise', async () => {
    await openPage();
    await expect(page.title()).resolves.toBe('夸夸群');
    // You and the four members.
    await expect(page.locator('h1').textContent()).resolves.toBe('夸夸群(5)');
    expect(await page.locator('#typing').isHidden()).toBe(true);
    expect(await page.locator('#auth').isHidden()).toBe(true);

    const replies = await send('求夸 我今天跑了五公里');
    expect(said(replies)).toMatch(HAN);
    expect(await page.locator('.msg.me .bubble').last().textContent()).toBe('求夸 我今天跑了五公里');
    // While the request was open the group was typing, with a pending bubble.
    const { typingSeen, pendingSeen } = await seen();
    expect(typingSeen[0]).toBe('大家正在输入…');
    expect(pendingSeen[0]).toBe('夸夸群');
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
      expect(said(await send(text)), name).toMatch(HAN);
      expect(await page.locator('.msg.me .bubble').last().textContent(), name).toBe(sent);
      expect(await count('.system.error'), name).toBe(before.errors);
    }
    expect(await page.locator('#messages img, #messages script').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  // Before the tests that start another web server on the same core: the core delivers to the one registered last.
  describe('a chorus: 求夸 answered by several members, one after another', () => {
    let chat: Awaited<ReturnType<typeof open>>;
    let replies: Reply[];

    // One chorus for these tests, asked at a phone's width.
    beforeAll(async () => {
      chat = await open();
      await chat.page.setViewportSize({ width: 390, height: 844 });
      replies = await send('求夸：我今天跑完了5公里', chat.page);
    });
    afterAll(async () => {
      await chat?.page.close();
    });

    it("shows each member's reply in its own bubble, in the API's order, after that member was shown typing", async () => {
      expect(replies.length).toBeGreaterThanOrEqual(2);
      expect(said(replies)).toMatch(HAN);
      // Different members, each with its avatar, hidden from screen readers; the log reads out each name and text.
      expect(new Set(replies.map((r) => r.voice.name)).size).toBe(replies.length);
      const rows = chat.page.locator(SHOWN);
      const avatars = await rows.evaluateAll((all) =>
        all.map((row) => {
          const avatar = row.querySelector<HTMLElement>('.avatar')!;
          return { avatar: avatar.textContent, hidden: avatar.getAttribute('aria-hidden'), colour: avatar.style.backgroundColor };
        }),
      );
      expect(avatars.map((a) => a.avatar)).toEqual(replies.map((r) => r.voice.avatar));
      for (const a of avatars) {
        expect(a.hidden).toBe('true');
        expect(a.colour).not.toBe('');
      }
      for (const [i, r] of replies.entries()) {
        // Read out as "- text: 小夸 {reply}": the name, then the text, and no avatar.
        const read = await rows.nth(i).ariaSnapshot();
        expect(read.startsWith(`- text: ${r.voice.name} `), read).toBe(true);
        expect(read).not.toContain(r.voice.avatar);
      }
      const log = chat.page.locator('#messages');
      expect(await log.getAttribute('role')).toBe('log');
      expect(await log.getAttribute('aria-live')).toBe('polite');

      // The group typed while the request was open, then each member in turn, each with a pending bubble of theirs.
      const { typingSeen, pendingSeen } = await seen(chat.page);
      expect(typingSeen).toEqual(['大家正在输入…', ...replies.map((r) => `${r.voice.name} 正在输入…`)]);
      expect(pendingSeen).toEqual(['夸夸群', ...replies.map((r) => r.voice.name)]);
      expect(await chat.page.locator('#typing').isHidden()).toBe(true);
      expect(await chat.page.locator('.msg.pending').count()).toBe(0);
      expect(chat.pageErrors).toEqual([]);
    });

    it('fits a phone and a desktop window: nothing wider than the window, the composer and the last reply in view', async () => {
      for (const [width, height] of [
        [390, 844],
        [1280, 800],
      ] as const) {
        await chat.page.setViewportSize({ width, height });
        const file = join(tmpdir(), `kuakua-page-chorus-${width}x${height}.png`);
        await chat.page.screenshot({ path: file });
        console.log(`page screenshot at ${width}×${height}: ${file}`);
        const png = readFileSync(file);
        expect(png.subarray(0, 8).equals(PNG_MAGIC), file).toBe(true);
        expect(png.length, file).toBeGreaterThan(1000);

        const fit = await chat.page.evaluate(() => {
          const inView = (node: Element) => {
            const r = node.getBoundingClientRect();
            return r.width > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight;
          };
          const wide = [...document.querySelectorAll('body *')].filter((node) => node.getBoundingClientRect().right > innerWidth + 0.5);
          const bubbles = document.querySelectorAll('.msg.bot:not(.pending) .bubble');
          const last = bubbles[bubbles.length - 1]!.getBoundingClientRect();
          const log = document.getElementById('messages')!.getBoundingClientRect();
          return {
            scrollWidth: document.documentElement.scrollWidth,
            innerWidth,
            wide: wide.map((node) => node.className || node.tagName),
            composer: inView(document.getElementById('composer')!),
            lastBubble: inView(bubbles[bubbles.length - 1]!) && last.top >= log.top && last.bottom <= log.bottom,
          };
        });
        expect(fit.scrollWidth, `${width}px`).toBeLessThanOrEqual(fit.innerWidth);
        expect(fit.wide, `${width}px`).toEqual([]);
        expect(fit.composer, `${width}px`).toBe(true);
        expect(fit.lastBubble, `${width}px`).toBe(true);
      }
    });

    it('passes axe: no serious or critical accessibility violation, token form open too', async () => {
      await chat.page.click('#more');
      await chat.page.locator('#token').waitFor({ state: 'visible' });
      // The page's CSP allows no inline script; evaluating the source is not subject to it.
      await chat.page.evaluate(axe.source);
      const { violations } = await chat.page.evaluate(() => (window as unknown as { axe: typeof axe }).axe.run(document, { resultTypes: ['violations'] }));
      const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      const report = (list: typeof violations) =>
        list.map((v) => `${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) => `  ${n.target.join(' ')}: ${n.failureSummary}`).join('\n')}`);
      console.log(`axe ${axe.version}: ${violations.length} violations${violations.length ? `\n${report(violations).join('\n')}` : ''}`);
      expect(report(bad)).toEqual([]);
    });
  });

  it('fills the composer from an example, reached by keyboard in a sensible order, and sends nothing', async () => {
    await openPage();
    const asked: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/praise') asked.push(r.url());
    });
    const chips = await page.locator('#examples .chip').allTextContents();
    expect(chips).toEqual(['求夸：我今天跑完了5公里', '夸夸 @小明 他今天答辩过了']);

    const focused = () => page.evaluate(() => document.activeElement!.id || document.activeElement!.textContent);
    const order: string[] = [];
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      order.push(await focused());
    }
    expect(order).toEqual(['more', ...chips, 'input', 'send']);

    await page.focus('#examples .chip >> nth=1');
    await page.keyboard.press('Enter');
    expect(await page.inputValue('#input')).toBe(chips[1]);
    expect(await focused()).toBe('input');
    await page.click('#examples .chip >> nth=0');
    expect(await page.inputValue('#input')).toBe(chips[0]);
    // Sending adds the asker's bubble at once: none, and no request.
    expect(await page.locator('.msg.me').count()).toBe(0);
    expect(asked).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('answers POST /api/praise with every reply of the chorus in `replies`, each in its own voice, up to what is asked; gentle and care replies fewer', async () => {
    const post = async (body: Record<string, unknown>) => {
      const res = await fetch(`${web.url}api/praise`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as { reply?: string; replies?: { text: string; voice: { name: string } }[]; kind?: string } };
    };
    const three = await post({ text: '我今天跑完了5公里', userId: 'api-chorus-1' });
    expect(three.status).toBe(200);
    expect(three.body.replies).toHaveLength(3);
    expect(three.body.reply).toBe(three.body.replies![0]!.text);
    expect(new Set(three.body.replies!.map((r) => r.voice.name)).size).toBe(3);
    expect(new Set(three.body.replies!.map((r) => r.text)).size).toBe(3);
    expect((await post({ text: '我今天学会了骑车', userId: 'api-chorus-2', chorus: 1 })).body.replies).toHaveLength(1);
    expect((await post({ text: '我今天学会了骑车', userId: 'api-chorus-3', chorus: 9 })).status).toBe(400);
    const sad = await post({ text: '考试没过，好难过', userId: 'api-chorus-4' });
    expect(sad.body.replies!.length).toBeLessThanOrEqual(stack.config.chorus.gentleMax);
    const care = await post({ text: '我真的不想活了', userId: 'api-chorus-5' });
    expect(care.body).toMatchObject({ kind: 'care', replies: [{ text: stack.config.distress.reply, voice: stack.config.chorus.host }] });
    const friend = await post({ text: '夸夸 @小明 他今天答辩过了', userId: 'api-chorus-6', chorus: 1 });
    expect(friend.body.reply).toMatch(/^小明，/);
    const bot = await post({ text: `夸夸 @${stack.config.chorus.voices[0]!.name} 它很努力`, userId: 'api-chorus-7' });
    expect(bot.body).toMatchObject({ kind: 'refusal', reply: stack.config.messages.friendIsBot });
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
      expect(said(await send('求夸 我带了伞'))).toMatch(HAN);
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
      expect(said(await send('求夸 第一条'))).toMatch(HAN);
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
      expect(said(await send('求夸 我一个人也很好'))).toMatch(HAN);
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
