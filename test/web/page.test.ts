import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axe from 'axe-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BAD_INPUTS, type BadInputName } from '../adapters/badInput.ts';
import { type Playground, type Reply, SHOWN, said, usePlayground } from './playground.ts';
import { HAN, startWeb } from './support.ts';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('web playground page in headless Chromium', () => {
  const pg = usePlayground();

  it('looks like a group chat: type 求夸, see 大家正在输入… and a pending bubble, then Chinese praise', async () => {
    await pg.openPage();
    await expect(pg.page.title()).resolves.toBe('夸夸群');
    // You, the bot itself and its members (chorus.voices).
    await expect(pg.page.locator('h1').textContent()).resolves.toBe(`夸夸群(${2 + pg.stack.config.chorus.voices.length})`);
    expect(await pg.page.locator('#typing').isHidden()).toBe(true);
    expect(await pg.page.locator('#auth').isHidden()).toBe(true);

    const replies = await pg.send('求夸 我今天跑了五公里');
    expect(said(replies)).toMatch(HAN);
    expect(await pg.page.locator('.msg.me .bubble').last().textContent()).toBe('求夸 我今天跑了五公里');
    // While the request was open the group was typing, with a pending bubble.
    const { typingSeen, pendingSeen } = await pg.seen();
    expect(typingSeen[0]).toBe('大家正在输入…');
    expect(pendingSeen[0]).toBe('夸夸群');
    // Once answered the indicator is gone and the input is ready again.
    expect(await pg.page.locator('#typing').isHidden()).toBe(true);
    expect(await pg.page.locator('.bubble.pending').count()).toBe(0);
    expect(await pg.page.locator('#send').isEnabled()).toBe(true);
    expect(pg.pageErrors).toEqual([]);
  });

  it('shows markup literally and runs no script from it (XSS)', async () => {
    await pg.openPage();
    const attack = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2</script> 求夸';
    await pg.send(attack);
    expect(await pg.page.locator('.msg.me .bubble').last().textContent()).toBe(attack);
    expect(await pg.page.locator('#messages img, #messages script').count()).toBe(0);
    expect(await pg.page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(pg.dialogs).toEqual([]);
    expect(pg.pageErrors).toEqual([]);
  });

  it('serves the page with a CSP that forbids inline script', async () => {
    const res = await fetch(pg.web.url);
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
    await pg.openPage();
    const count = (selector: string) => pg.page.locator(selector).count();
    for (const [name, text] of BAD_INPUTS) {
      const before = { mine: await count('.msg.me'), errors: await count('.system.error') };
      const sent = PAGE_SENDS[name];
      if (sent === null) {
        await pg.page.fill('#input', text);
        await pg.page.press('#input', 'Enter');
        expect(await count('.bubble.pending'), name).toBe(0);
        expect(await count('.msg.me'), name).toBe(before.mine);
        expect(await pg.page.inputValue('#input'), name).toBe(text);
        continue;
      }
      expect(said(await pg.send(text)), name).toMatch(HAN);
      expect(await pg.page.locator('.msg.me .bubble').last().textContent(), name).toBe(sent);
      expect(await count('.system.error'), name).toBe(before.errors);
    }
    expect(await pg.page.locator('#messages img, #messages script').count()).toBe(0);
    expect(pg.dialogs).toEqual([]);
    expect(pg.pageErrors).toEqual([]);
  });

  // Before the tests that start another web server on the same core: the core delivers to the one registered last.
  describe('a chorus: 求夸 answered by several members, one after another', () => {
    let chat: Awaited<ReturnType<Playground['open']>>;
    let replies: Reply[];

    // One chorus for these tests, asked at a phone's width.
    beforeAll(async () => {
      chat = await pg.open();
      await chat.page.setViewportSize({ width: 390, height: 844 });
      replies = await pg.send('求夸：我今天跑完了5公里', chat.page);
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
      const { typingSeen, pendingSeen } = await pg.seen(chat.page);
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
    await pg.openPage();
    const asked: string[] = [];
    pg.page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/praise') asked.push(r.url());
    });
    const chips = await pg.page.locator('#examples .chip').allTextContents();
    expect(chips).toEqual(['求夸：我今天跑完了5公里', '夸夸 @小明 他今天答辩过了']);

    const focused = () => pg.page.evaluate(() => document.activeElement!.id || document.activeElement!.textContent);
    const order: string[] = [];
    for (let i = 0; i < 5; i++) {
      await pg.page.keyboard.press('Tab');
      order.push(await focused());
    }
    expect(order).toEqual(['more', ...chips, 'input', 'send']);

    await pg.page.focus('#examples .chip >> nth=1');
    await pg.page.keyboard.press('Enter');
    expect(await pg.page.inputValue('#input')).toBe(chips[1]);
    expect(await focused()).toBe('input');
    await pg.page.click('#examples .chip >> nth=0');
    expect(await pg.page.inputValue('#input')).toBe(chips[0]);
    // Sending adds the asker's bubble at once: none, and no request.
    expect(await pg.page.locator('.msg.me').count()).toBe(0);
    expect(asked).toEqual([]);
    expect(pg.pageErrors).toEqual([]);
  });

  it('answers POST /api/praise with every reply of the chorus in `replies`, each in its own voice, up to what is asked; gentle and care replies fewer', async () => {
    const post = async (body: Record<string, unknown>) => {
      const res = await fetch(`${pg.web.url}api/praise`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
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
    expect(sad.body.replies!.length).toBeLessThanOrEqual(pg.stack.config.chorus.gentleMax);
    const care = await post({ text: '我真的不想活了', userId: 'api-chorus-5' });
    expect(care.body).toMatchObject({ kind: 'care', replies: [{ text: pg.stack.config.distress.reply, voice: pg.stack.config.chorus.host }] });
    const friend = await post({ text: '夸夸 @小明 他今天答辩过了', userId: 'api-chorus-6', chorus: 1 });
    expect(friend.body.reply).toMatch(/^小明，/);
    const bot = await post({ text: `夸夸 @${pg.stack.config.chorus.voices[0]!.name} 它很努力`, userId: 'api-chorus-7' });
    expect(bot.body).toMatchObject({ kind: 'refusal', reply: pg.stack.config.messages.friendIsBot });
  });

  it('asks for the API token after a 401 and sends with it', async () => {
    const token = 'page-token-93b1';
    const guarded = await startWeb(pg.stack.core, pg.stack.config, { apiToken: token });
    const original = pg.web;
    pg.web = guarded;
    try {
      await pg.openPage();
      await pg.page.fill('#input', '求夸 我带了伞');
      await pg.page.press('#input', 'Enter');
      await pg.page.locator('#auth').waitFor({ state: 'visible', timeout: 10_000 });
      expect(await pg.page.locator('.system.error').last().textContent()).toBe('需要 API token 才能发送。');
      await pg.page.fill('#token', token);
      await pg.page.press('#token', 'Enter');
      expect(await pg.page.locator('#auth').isHidden()).toBe(true);
      expect(said(await pg.send('求夸 我带了伞'))).toMatch(HAN);
    } finally {
      pg.web = original;
      await guarded.stop();
    }
  });

  it('fits the header at 390 px: nothing in the title bar is clipped or off screen', async () => {
    await pg.openPage();
    await pg.page.setViewportSize({ width: 390, height: 844 });
    const boxes = await pg.page.evaluate(() =>
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
    const limited = await startWeb(pg.stack.core, pg.stack.config, { rateLimit: { max: 1, windowMs: 60_000 } });
    const original = pg.web;
    pg.web = limited;
    try {
      await pg.openPage();
      expect(said(await pg.send('求夸 第一条'))).toMatch(HAN);
      await pg.page.fill('#input', '求夸 第二条');
      await pg.page.press('#input', 'Enter');
      await pg.page.locator('.system.error').waitFor({ timeout: 10_000 });
      expect(await pg.page.locator('.system.error').last().textContent()).toMatch(/^发得太快了，请 \d+ 秒后再试。$/);
    } finally {
      pg.web = original;
      await limited.stop();
    }
  });

  it('has a favicon', async () => {
    for (const path of ['favicon.ico', 'favicon.svg']) {
      const res = await fetch(`${pg.web.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe('image/svg+xml');
      expect(await res.text(), path).toMatch(/^<svg /);
    }
    await pg.openPage();
    expect(await pg.page.locator('link[rel="icon"]').getAttribute('href')).toBe('/favicon.svg');
  });
});
