import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telegramAdapter } from '../../adapters/telegram/definition.ts';
import { startTelegramAdapter } from '../../adapters/telegram/index.ts';
import type { RunningAdapter } from '../../src/adapter.ts';
import { startFakeTelegram, type FakeChat, type FakeEntity, type FakeMessage, type FakeTelegram, type FakeUser } from '../fakes/telegram.ts';
import { freePort } from '../helpers/redis.ts';
import { waitFor } from '../service/support.ts';
import { BAD_INPUTS } from './badInput.ts';
import { INDIRECT_DISTRESS, INDIRECT_DISTRESS_TRADITIONAL, traditionalCareReply } from '../helpers/distressPosts.ts';
import { PRAISE_SEED, PRAISED_POSTS, expectGeneratedReply } from '../helpers/praise.ts';
import { startStack, type Stack } from './stack.ts';

const ADMIN_ID = 4242;
const LONG_HELP = '夸夸使用说明。'.repeat(700); // 4900 UTF-16 units: more than one Telegram message

let stack: Stack;
let fake: FakeTelegram;
let adapter: RunningAdapter;
let nextUser = 100;
let nextChat = -1001;

const user = (name = 'someone', over: Partial<FakeUser> = {}): FakeUser => ({ id: nextUser++, is_bot: false, first_name: name, ...over });
const group = (): FakeChat => ({ id: nextChat--, type: 'supergroup', title: 'praise group' });
const repliesTo = (m: FakeMessage) => fake.sent.filter((s) => s.chat.id === m.chat.id && s.reply_parameters?.message_id === m.message_id);
const sentTo = (chat: FakeChat) => fake.sent.filter((s) => s.chat.id === chat.id);

/** Waits for the reply to `m`, then until nothing is left in the queues that could (wrongly) send a second one. */
async function oneReplyTo(m: FakeMessage): Promise<FakeMessage> {
  const [reply] = await waitFor(() => (repliesTo(m).length > 0 ? repliesTo(m) : undefined), `a reply to "${m.text?.slice(0, 30)}"`);
  await stack.idle();
  expect(repliesTo(m)).toHaveLength(1);
  return reply!;
}

/** A silent chat is proven by a later triggering message in the same chat being answered while the first is not. */
async function noReplyTo(m: FakeMessage): Promise<void> {
  const probe = fake.userMessage({ chat: m.chat, from: user('prober'), text: '求夸 我来确认一下' });
  await oneReplyTo(probe);
  expect(repliesTo(m)).toHaveLength(0);
}

const mention = (text: string, username = fake.bot.username!): FakeEntity => {
  const at = `@${username}`;
  return { type: 'mention', offset: text.indexOf(at), length: at.length };
};

/** The adapter on a fake Telegram, in front of `stack`. */
async function startOn(s: Stack): Promise<{ fake: FakeTelegram; adapter: RunningAdapter }> {
  const f = await startFakeTelegram();
  const options = telegramAdapter.options({ ...s.config.telegram, apiRoot: f.apiRoot }, { TELEGRAM_BOT_TOKEN: f.token });
  return { fake: f, adapter: await startTelegramAdapter({ core: s.core, logger: s.logger, ...options! }) };
}

beforeAll(async () => {
  // The tiny random model, every candidate acceptable: what is checked here is the adapter, not the praise (the
  // bundled model's praise is checked on its own stack below).
  stack = await startStack({
    admins: { telegram: [String(ADMIN_ID)], discord: [], wechat: [], web: [] },
    rateLimit: { chatPerMinute: 0 },
    messages: { help: LONG_HELP },
    model: { candidates: 8, maxNewTokens: 8 },
    policy: { minScore: -100, minScoreOverFrame: -100 },
    chorus: { gapMs: 200 },
  });
  ({ fake, adapter } = await startOn(stack));
});

afterAll(async () => {
  await adapter?.stop();
  await stack?.close();
  await fake?.close();
});

describe('telegram adapter, end to end through telegraf, Redis, the core and the worker', () => {
  it('reads the token from the environment and the API root from its config section, and stays off without a token', () => {
    expect(telegramAdapter.options(stack.config.telegram, {})).toBeUndefined();
    const o = telegramAdapter.options({ ...stack.config.telegram, apiRoot: 'http://127.0.0.1:9' }, { TELEGRAM_BOT_TOKEN: 'abc:def' });
    expect(o).toMatchObject({ token: 'abc:def', apiRoot: 'http://127.0.0.1:9' });
    expect(o?.webhook).toBeUndefined();
  });

  it('refuses a wrong token with a clear error', async () => {
    await expect(startTelegramAdapter({ core: stack.core, logger: stack.logger, token: '999:wrong-token', apiRoot: fake.apiRoot })).rejects.toThrow(
      'Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized)',
    );
  });

  it('answers a group mention once, quoting the asker, with emoji before the mention (UTF-16 offsets)', async () => {
    const chat = group();
    const text = '🎉👍🏽 @kuakua_test_bot 我今天跑完了全马';
    const m = fake.userMessage({ chat, from: user('alice'), text, entities: [mention(text)] });
    expect(mention(text).offset).toBe(7); // 🎉 and 👍 are two code units each, 🏽 two more, then a space
    const reply = await oneReplyTo(m);
    expect(reply.text!.length).toBeGreaterThan(0);
    expect(reply.reply_parameters).toMatchObject({ message_id: m.message_id });
  });

  it('does not answer a mention of another user, or a plain message', async () => {
    const chat = group();
    const text = '👋 @somebody_else 今天天气不错';
    const other = fake.userMessage({ chat, from: user(), text, entities: [mention(text, 'somebody_else')] });
    const plain = fake.userMessage({ chat, from: user(), text: '今天天气不错' });
    await noReplyTo(other);
    expect(repliesTo(plain)).toHaveLength(0);
  });

  it('answers a text_mention of the bot (a user without a username)', async () => {
    const chat = group();
    const m = fake.userMessage({ chat, from: user(), text: 'Kuakua 我升职了', entities: [{ type: 'text_mention', offset: 0, length: 6, user: fake.bot }] });
    await oneReplyTo(m);
  });

  it('answers a reply to one of its messages, and a keyword, and a private chat', async () => {
    const chat = group();
    const first = fake.userMessage({ chat, from: user(), text: '夸我 我学会了游泳' });
    const botMessage = await oneReplyTo(first);
    const reply = fake.userMessage({ chat, from: user(), text: '谢谢！', replyTo: botMessage });
    await oneReplyTo(reply);
    const asker = user('dm');
    const dm = fake.userMessage({ chat: { id: asker.id, type: 'private' }, from: asker, text: '我今天按时起床了' });
    await oneReplyTo(dm);
  });

  it('answers /kuakua <text> and ignores commands addressed to another bot', async () => {
    const chat = group();
    const cmd = '/kuakua@kuakua_test_bot';
    const mine = fake.userMessage({ chat, from: user(), text: `${cmd} 我写完了论文`, entities: [{ type: 'bot_command', offset: 0, length: cmd.length }] });
    await oneReplyTo(mine);
    const otherCmd = '/kuakua@other_bot';
    const theirs = fake.userMessage({ chat, from: user(), text: `${otherCmd} 求夸`, entities: [{ type: 'bot_command', offset: 0, length: otherCmd.length }] });
    await noReplyTo(theirs);
  });

  it('answers a distress post in a group with the care reply, without trigger word or mention, and never logs its text', async () => {
    const m = fake.userMessage({ chat: group(), from: user(), text: '我真的不想活了' });
    const reply = await oneReplyTo(m);
    expect(reply.text).toBe(stack.config.distress.reply);
    expect(reply.reply_parameters).toMatchObject({ message_id: m.message_id });
    expect(stack.logs.join('\n')).not.toContain('不想活了');
  });

  it('answers a 求夸 that hides distress in words no pattern lists with the care reply, in the script it was written in', async () => {
    expect((await oneReplyTo(fake.userMessage({ chat: group(), from: user(), text: INDIRECT_DISTRESS }))).text).toBe(stack.config.distress.reply);
    const traditional = await oneReplyTo(fake.userMessage({ chat: group(), from: user(), text: INDIRECT_DISTRESS_TRADITIONAL }));
    expect(traditional.text).toBe(await traditionalCareReply(stack.config.distress));
  });

  it('ignores other bots, even with a trigger word: the adapter hands them over and the core drops them', async () => {
    const chat = group();
    const m = fake.userMessage({ chat, from: user('robot', { is_bot: true }), text: '求夸 我是机器人' });
    expect(await stack.handled(String(m.message_id))).toBe('ignored');
    await noReplyTo(m);
  });

  it('keeps the per-user cooldown: a second 求夸 right after the first gets nothing', async () => {
    const chat = group();
    const asker = user('eager');
    const first = fake.userMessage({ chat, from: asker, text: '求夸 第一次' });
    const second = fake.userMessage({ chat, from: asker, text: '求夸 第二次' });
    await oneReplyTo(first);
    await noReplyTo(second);
  });

  it('lets only admins switch the bot off and on in a chat; others get a polite refusal', async () => {
    const chat = group();
    const cmd = (from: FakeUser, text: string) =>
      fake.userMessage({ chat, from, text, entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]!.length }] });
    const admin = user('admin', { id: ADMIN_ID });

    const refused = await oneReplyTo(cmd(user('mallory'), '/kuakua_off@kuakua_test_bot'));
    expect(refused.text).toBe(stack.config.messages.notAdmin);

    expect((await oneReplyTo(cmd(admin, '/kuakua_off@kuakua_test_bot'))).text).toBe(stack.config.messages.disabled);
    const whileOff = fake.userMessage({ chat, from: user(), text: '求夸 没人理我' });
    const onAgain = cmd(admin, '/kuakua_on');
    expect((await oneReplyTo(onAgain)).text).toBe(stack.config.messages.enabled);
    expect(repliesTo(whileOff)).toHaveLength(0);

    await oneReplyTo(cmd(admin, '/kuakua_keywords 加油'));
    await oneReplyTo(fake.userMessage({ chat, from: user(), text: '加油 我今天做完了作业' }));
    const status = await oneReplyTo(cmd(user(), '/kuakua_status'));
    expect(status.text).toBe(stack.config.messages.notAdmin);
    const adminStatus = await oneReplyTo(cmd(admin, '/kuakua_status'));
    expect(adminStatus.text).toMatch(/worker/);
  });

  it('answers with a chorus of 3 once an admin sets /kuakua_chorus 3: three distinct messages in order, each quoting the ask in its own voice', async () => {
    const chat = group();
    const admin = user('admin', { id: ADMIN_ID });
    const text = '/kuakua_chorus 3';
    await oneReplyTo(fake.userMessage({ chat, from: admin, text, entities: [{ type: 'bot_command', offset: 0, length: 14 }] }));
    const ask = fake.userMessage({ chat, from: user('runner'), text: '求夸 我今天跑完了五公里' });
    const replies = await waitFor(() => (repliesTo(ask).length === 3 ? repliesTo(ask) : undefined), 'three replies');
    await stack.idle();
    expect(repliesTo(ask)).toHaveLength(3);
    const voices = stack.config.chorus.voices.map((v) => v.name);
    const spoken = replies.map((r) => /^【(.+?)】/.exec(r.text!)?.[1]);
    expect(spoken.every((v) => v !== undefined && voices.includes(v))).toBe(true);
    expect(new Set(spoken).size).toBe(3);
    expect(new Set(replies.map((r) => r.text)).size).toBe(3);
    // In the chorus's order: its voices take turns from a random one.
    const at = voices.indexOf(spoken[0]!);
    expect(spoken).toEqual([0, 1, 2].map((i) => voices[(at + i) % voices.length]));
  });

  it('in a chat with a chorus of 3: a sad post gets at most 2 replies, distress the care reply alone, and one ask one cooldown', async () => {
    const chat = group();
    const admin = user('admin', { id: ADMIN_ID });
    await oneReplyTo(fake.userMessage({ chat, from: admin, text: '/kuakua_chorus 3', entities: [{ type: 'bot_command', offset: 0, length: 14 }] }));
    const sad = fake.userMessage({ chat, from: user('sad'), text: '求鼓励 考试没过，好难过' });
    await waitFor(() => repliesTo(sad).length > 0 || undefined, 'a reply to the sad post');
    await stack.idle();
    expect(repliesTo(sad).length).toBeLessThanOrEqual(stack.config.chorus.gentleMax);
    expect((await oneReplyTo(fake.userMessage({ chat, from: user('low'), text: '我真的不想活了' }))).text).toBe(stack.config.distress.reply);
    const eager = user('eager');
    const first = fake.userMessage({ chat, from: eager, text: '求夸 我今天跑完了五公里' });
    await waitFor(() => repliesTo(first).length > 0 || undefined, 'the first ask answered');
    const second = fake.userMessage({ chat, from: eager, text: '求夸 我又跑了五公里' });
    expect(await stack.handled(String(second.message_id))).toBe('ignored');
    await stack.idle();
    expect(repliesTo(second)).toHaveLength(0);
  });

  it('praises a friend named by a reply to their message, a text_mention or an @username seen in the chat, addressing them by name', async () => {
    const chat = group();
    const ming = user('小明', { username: 'xiaoming' });
    const hong = user('小红');
    const post = fake.userMessage({ chat, from: ming, text: '我今天终于把驾照考下来了' });
    fake.join(chat, hong);
    const byReply = fake.userMessage({ chat, from: user(), text: '夸夸他', replyTo: post });
    expect((await oneReplyTo(byReply)).text).toMatch(/^小明，/);
    const textMention = '夸夸 小红 她今天答辩过了';
    const byTextMention = fake.userMessage({ chat, from: user(), text: textMention, entities: [{ type: 'text_mention', offset: 3, length: 2, user: hong }] });
    expect((await oneReplyTo(byTextMention)).text).toMatch(/^小红，/);
    const byUsername = fake.userMessage({
      chat,
      from: user(),
      text: '夸夸 @xiaoming 他学会了游泳',
      entities: [mention('夸夸 @xiaoming 他学会了游泳', 'xiaoming')],
    });
    expect((await oneReplyTo(byUsername)).text).toMatch(/^小明，/);
  });

  it('praises no bot, nobody outside the chat, and nobody who sent /kuakua_optout', async () => {
    const chat = group();
    const bot = user('helper', { username: 'helper_bot', is_bot: true });
    fake.userMessage({ chat, from: bot, text: '我是一个机器人' });
    const asBot = '夸夸 @helper_bot 它很勤快';
    expect((await oneReplyTo(fake.userMessage({ chat, from: user(), text: asBot, entities: [mention(asBot, 'helper_bot')] }))).text).toBe(
      stack.config.messages.friendIsBot,
    );
    const stranger = user('路人');
    const byStranger = fake.userMessage({
      chat,
      from: user(),
      text: '夸夸 路人 他很棒',
      entities: [{ type: 'text_mention', offset: 3, length: 2, user: stranger }],
    });
    expect((await oneReplyTo(byStranger)).text).toBe(stack.config.messages.friendNotInChat);
    const unseen = '夸夸 @nobody_here 他很棒';
    expect((await oneReplyTo(fake.userMessage({ chat, from: user(), text: unseen, entities: [mention(unseen, 'nobody_here')] }))).text).toBe(
      stack.config.messages.friendNotInChat,
    );
    const shy = user('小静');
    const shyPost = fake.userMessage({ chat, from: shy, text: '/kuakua_optout', entities: [{ type: 'bot_command', offset: 0, length: 14 }] });
    expect((await oneReplyTo(shyPost)).text).toBe(stack.config.messages.optedOut);
    expect((await oneReplyTo(fake.userMessage({ chat, from: user(), text: '夸一下', replyTo: shyPost }))).text).toBe(stack.config.messages.friendOptedOut);
  });

  it('answers /start with the help text, split at 4096 characters, the first part quoting the asker', async () => {
    const chat = group();
    const m = fake.userMessage({ chat, from: user(), text: '/start', entities: [{ type: 'bot_command', offset: 0, length: 6 }] });
    await waitFor(() => sentTo(chat).length >= 2 || undefined, 'both parts of the help text');
    const parts = sentTo(chat);
    expect(parts).toHaveLength(2);
    expect(parts.every((p) => p.text!.length <= 4096)).toBe(true);
    expect(parts.map((p) => p.text).join('')).toBe(LONG_HELP);
    expect(parts[0]!.reply_parameters?.message_id).toBe(m.message_id);
  });

  it('waits retry_after seconds on a 429 and then sends the reply', async () => {
    const chat = group();
    const before = fake.calls.filter((c) => c.method === 'sendMessage').length;
    fake.rateLimit('sendMessage', 1, 1);
    const m = fake.userMessage({ chat, from: user(), text: '求夸 我被限流了' });
    await oneReplyTo(m);
    const attempts = fake.calls.filter((c) => c.method === 'sendMessage').slice(before);
    expect(attempts).toHaveLength(2);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(1000);
  });

  it('reconnects after the server drops every connection and refuses new ones for a while', async () => {
    const chat = group();
    const t = Date.now();
    fake.dropConnections(1500);
    const m = fake.userMessage({ chat, from: user(), text: '求夸 断线之后' });
    await oneReplyTo(m);
    expect(fake.pollsSince(t + 1500)).toBeGreaterThan(0);
  });

  it('relaunches polling with backoff when getUpdates fails in a way telegraf does not retry (409 Conflict)', async () => {
    const chat = group();
    const warningsBefore = stack.logs.filter((l) => l.includes('telegram connection lost')).length;
    fake.failNext('getUpdates', 2, 409, 'Conflict: terminated by other getUpdates request');
    // The poll already waiting delivers this one; the next two polls fail and end telegraf's loop.
    await oneReplyTo(fake.userMessage({ chat, from: user(), text: '求夸 冲突之前' }));
    await oneReplyTo(fake.userMessage({ chat, from: user(), text: '求夸 冲突之后' }));
    const warnings = stack.logs.filter((l) => l.includes('telegram connection lost')).slice(warningsBefore);
    expect(warnings).toHaveLength(2);
    expect(warnings.every((w) => w.includes('409'))).toBe(true);
  });

  it.each(BAD_INPUTS)('survives bad input: %s', async (_name, text) => {
    const asker = user('fuzzer');
    const m = fake.userMessage({ chat: { id: asker.id, type: 'private' }, from: asker, text });
    // Private chats always trigger: every case is answered (praise, or fallback praise for a generic post).
    await oneReplyTo(m);
    const after = user('after');
    await oneReplyTo(fake.userMessage({ chat: { id: after.id, type: 'private' }, from: after, text: '求夸' }));
  });

  it('in webhook mode, registers the public URL with a secret and only accepts updates that carry it', async () => {
    await adapter.stop();
    const port = await freePort();
    const secretToken = 'hook-secret-5f1e2d9c';
    const url = 'https://kuakua.example.com/telegram/webhook';
    const options = telegramAdapter.options(
      { ...stack.config.telegram, apiRoot: fake.apiRoot, webhook: { url, host: '127.0.0.1', port, path: '/telegram/webhook' } },
      { TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_WEBHOOK_SECRET: secretToken },
    );
    adapter = await startTelegramAdapter({ core: stack.core, logger: stack.logger, ...options! });
    const registered = fake.calls.filter((c) => c.method === 'setWebhook').at(-1);
    expect(registered?.payload).toMatchObject({ url, secret_token: secretToken });

    const chat = group();
    const post = (update: unknown, secret?: string) =>
      fetch(`http://127.0.0.1:${port}/telegram/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}) },
        body: JSON.stringify(update),
      });
    const forged = fake.makeUpdate({ chat, from: user(), text: '求夸 伪造的' });
    expect((await post(forged)).status).toBe(401);
    expect((await post(fake.makeUpdate({ chat, from: user(), text: '求夸 伪造的' }), 'wrong-secret')).status).toBe(401);
    // Bad bodies that carry the secret: a clear 4xx or a dropped update, never a crash.
    const raw = (body: string) =>
      fetch(`http://127.0.0.1:${port}/telegram/webhook`, { method: 'POST', headers: { 'x-telegram-bot-api-secret-token': secretToken }, body });
    for (const body of ['{"update_id": 1, "message": ', '', '[]', 'null', '"text"', '{"message": {}}']) {
      expect((await raw(body)).status, body).toBe(400);
    }
    for (const body of ['{"update_id": 2, "message": 5}', '{"update_id": 3, "message": {"chat": null}}', '{"update_id": 4, "message": {"text": null}}']) {
      expect((await raw(body)).status, body).toBe(200);
    }
    const real = fake.makeUpdate({ chat, from: user(), text: '求夸 通过 webhook' });
    expect((await post(real, secretToken)).status).toBe(200);
    await oneReplyTo(real.message);
    expect(repliesTo(forged.message)).toHaveLength(0);
    expect(stack.logs.join('\n')).not.toContain(secretToken);
  });

  it('never logs the bot token', () => {
    const all = stack.logs.join('\n');
    expect(all).toContain('telegram adapter started');
    expect(all).not.toContain(fake.token);
    expect(all).not.toContain(fake.token.split(':')[1]);
  });
});

describe('telegram adapter with the bundled generator, judge and post reader', () => {
  it('answers posts the bundled model handles well with a praise it generated, not a tone reply (seed fixed)', async () => {
    const bundled = await startStack({}, { bundledSeed: PRAISE_SEED });
    const on = await startOn(bundled);
    try {
      for (const post of PRAISED_POSTS) {
        const asker = user('praised');
        const m = on.fake.userMessage({ chat: { id: asker.id, type: 'private' }, from: asker, text: post });
        const [reply] = await waitFor(() => {
          const r = on.fake.sent.filter((x) => x.reply_parameters?.message_id === m.message_id);
          return r.length > 0 ? r : undefined;
        }, `a reply to ${post}`);
        const done = bundled.entries('praise generated').filter((e) => e.chatId === String(asker.id));
        expect(done).toMatchObject([{ kind: 'praise' }]);
        expectGeneratedReply(reply!.text, bundled.sampled(post), bundled.config.policy.maxReplyChars);
      }
    } finally {
      await on.adapter.stop();
      await bundled.close();
      await on.fake.close();
    }
  });
});
