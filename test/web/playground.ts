import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startStack, type Stack } from '../adapters/stack.ts';
import { chromiumPath } from '../helpers/chromium.ts';
import { startWeb, type WebFixture } from './support.ts';

// The operator's token opens the status details and the WeChat login QR on the page.
export const OPERATOR_TOKEN = 'page-operator-token-4c2e';

/** One reply of POST /api/praise's `replies`: a member of the group and what they said. */
export interface Reply {
  text: string;
  voice: { name: string; avatar: string };
}

/** What a page recorded (see `open`): every line the title bar's typing indicator showed and every pending row's member, in order. */
export interface Seen {
  typingSeen: string[];
  pendingSeen: string[];
}

/** A message row that holds a reply (not a typing placeholder). */
export const SHOWN = '.msg.bot:not(.pending)';
export const said = (replies: Reply[]) => replies.map((r) => r.text).join('\n');

/** The playground served by a real web server, core and worker, and a headless Chromium to open it; `page` is the open page. */
export interface Playground {
  stack: Stack;
  web: WebFixture;
  browser: Browser;
  page: Page;
  pageErrors: string[];
  dialogs: string[];
  /** A new page on `web`, recording its errors, its dialogs and what its typing indicators showed. */
  open(): Promise<{ page: Page; pageErrors: string[]; dialogs: string[] }>;
  /** `open()`, as this test's `page` (closed after the test). */
  openPage(): Promise<void>;
  seen(p?: Page): Promise<Seen>;
  /** Enters a token with the ··· button, as the operator does. */
  enterToken(token: string): Promise<void>;
  /**
   * Sends `text` and returns the replies the API answered with, once the page shows them all: each in a bubble of its
   * own under its member's name, in the API's order.
   */
  send(text: string, p?: Page): Promise<Reply[]>;
}

/** Starts the playground before the file's tests and stops it after them. */
export function usePlayground(): Playground {
  const pg = {} as Playground;
  beforeAll(async () => {
    // The tiny random model's candidates never pass policy.minScore; every praise retrieved from the corpus does, so
    // that a post like the corpus's gets a chorus of different Chinese replies.
    pg.stack = await startStack({ rateLimit: { chatPerMinute: 0 }, policy: { retrievedScore: { bias: 4, judge: 0, similarity: 0, chars: 0 } } });
    pg.web = await startWeb(pg.stack.core, pg.stack.config, { operatorToken: OPERATOR_TOKEN });
    pg.browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await pg.browser?.close();
    await pg.web?.stop();
    await pg.stack?.close();
  });
  afterEach(async () => {
    await pg.page?.close();
  });

  pg.open = async () => {
    const opened = { page: await pg.browser.newPage(), pageErrors: [] as string[], dialogs: [] as string[] };
    opened.page.on('pageerror', (err) => opened.pageErrors.push(err.message));
    opened.page.on('dialog', (d) => {
      opened.dialogs.push(d.message());
      void d.dismiss();
    });
    await opened.page.goto(pg.web.url);
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
  };
  pg.openPage = async () => {
    ({ page: pg.page, pageErrors: pg.pageErrors, dialogs: pg.dialogs } = await pg.open());
  };
  pg.seen = (p = pg.page) => p.evaluate(() => ({ ...(window as unknown as Seen) }));
  pg.enterToken = async (token) => {
    await pg.page.click('#more');
    await pg.page.fill('#token', token);
    await pg.page.press('#token', 'Enter');
    expect(await pg.page.locator('#auth').isHidden()).toBe(true);
  };
  pg.send = async (text, p = pg.page) => {
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
  };
  return pg;
}
