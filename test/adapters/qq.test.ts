import type { Server } from 'node:http';
import { connect } from 'node:net';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ActionNotSentError, OneBotActionError } from '../../adapters/qq/actions.ts';
import { qqConfig } from '../../adapters/qq/config.ts';
import { escapeCq, parseCq, textSegment, toCq, unescapeCq, type Segment } from '../../adapters/qq/cq.ts';
import { qqAdapter } from '../../adapters/qq/definition.ts';
import { standaloneFaults } from '../../adapters/shared/supervise.ts';
import { QQ_MAX_MESSAGE, startQqAdapter, type QqOptions } from '../../adapters/qq/index.ts';
import { MAX_REVERSE_CONNECTIONS } from '../../adapters/qq/reverse.ts';
import { readFrame, replySegments, targetOf, toIncoming, type MessageEvent } from '../../adapters/qq/translate.ts';
import { PermanentAdapterError, type RunningAdapter } from '../../src/adapter.ts';
import type { Delivery, IncomingMessage } from '../../src/events.ts';
import { idempotencyKey, replyQueueName } from '../../src/queue/contracts.ts';
import { startFakeOneBot, type FakeEvent, type FakeOneBot, type FakeSegment, type SentMessage, type UserMessage } from '../fakes/onebot.ts';
import { virtualClock } from '../helpers/clock.ts';
import { recordLogs, type RecordedLogs } from '../helpers/logs.ts';
import { freePort } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { askedPost, BAD_INPUTS, expectedPost } from './badInput.ts';
import { INDIRECT_DISTRESS, INDIRECT_DISTRESS_TRADITIONAL, traditionalCareReply } from '../helpers/distressPosts.ts';
import { gatedCore, recordingCore, startStack, type GatedCore, type Stack } from './stack.ts';

/** Every HTTP server created in this file, so that a test can reach the adapter's reverse server. */
const httpServers = vi.hoisted((): Server[] => []);
vi.mock('node:http', async (importOriginal) => {
  const http = await importOriginal<typeof import('node:http')>();
  const createServer = (...args: Parameters<typeof http.createServer>) => {
    const server = http.createServer(...args);
    httpServers.push(server);
    return server;
  };
  return { ...http, default: { ...http, createServer }, createServer };
});

const SELF = '2854196310';
/** Every character CQ codes escape, in text and (the comma) in parameter values. */
const TRICKY = 'a&b [x] c,d &amp; &#91;';
/** Longer than one QQ message, with every CQ special character in it. */
const LONG_HELP = `${TRICKY} 夸夸使用说明。`.repeat(150);

const event = (over: Partial<MessageEvent> = {}): MessageEvent => ({
  post_type: 'message',
  message_type: 'group',
  sub_type: 'normal',
  time: 2_000_000_000,
  self_id: SELF,
  message_id: '77',
  user_id: '10001',
  group_id: '123456',
  message: [],
  ...over,
});
const ctx = { startedAtSec: 1_999_999_990, sentByBot: (id: string) => id === '555' };
const text = textSegment;

describe('CQ codes', () => {
  it('escapes &, [ and ] in text, and the comma too in parameter values', () => {
    expect(escapeCq('a&b [x] c,d')).toBe('a&amp;b &#91;x&#93; c,d');
    expect(escapeCq('a&b [x] c,d', true)).toBe('a&amp;b &#91;x&#93; c&#44;d');
    expect(unescapeCq('a&amp;b &#91;x&#93; c&#44;d')).toBe('a&b [x] c,d');
    // One pass: an escaped escape sequence stays an escape sequence.
    expect(unescapeCq('&amp;#91;')).toBe('&#91;');
    expect(unescapeCq(escapeCq(TRICKY, true))).toBe(TRICKY);
  });

  it('parses a CQ string into segments, decoding text and parameter values', () => {
    expect(parseCq('[CQ:reply,id=12][CQ:at,qq=10001] 求夸 &#91;x&#93; a&amp;b,c[CQ:image,file=a&#44;b.png,url=http://x/?a=1&amp;b=2]')).toEqual([
      { type: 'reply', data: { id: '12' } },
      { type: 'at', data: { qq: '10001' } },
      { type: 'text', data: { text: ' 求夸 [x] a&b,c' } },
      { type: 'image', data: { file: 'a,b.png', url: 'http://x/?a=1&b=2' } },
    ]);
    expect(parseCq('[CQ:face]')).toEqual([{ type: 'face', data: {} }]);
    // Text that only looks like a CQ code stays text.
    expect(parseCq('[CQ:at,qq=1 没有结尾')).toEqual([{ type: 'text', data: { text: '[CQ:at,qq=1 没有结尾' } }]);
    expect(parseCq('')).toEqual([]);
  });

  it('writes segments as a CQ string that parses back to the same segments', () => {
    const segments: Segment[] = [
      { type: 'reply', data: { id: '12' } },
      { type: 'at', data: { qq: '10001' } },
      { type: 'text', data: { text: ` ${TRICKY}` } },
      { type: 'image', data: { file: 'a,b]&.png' } },
    ];
    expect(toCq(segments)).toBe('[CQ:reply,id=12][CQ:at,qq=10001] a&amp;b &#91;x&#93; c,d &amp;amp; &amp;#91;[CQ:image,file=a&#44;b&#93;&amp;.png]');
    expect(parseCq(toCq(segments))).toEqual(segments);
  });
});

describe('reading OneBot frames', () => {
  it('tells events, responses, quiet, unknown and malformed frames apart, naming fields but never message text', () => {
    expect(readFrame('{not json')).toEqual({ kind: 'malformed', problem: 'not JSON' });
    expect(readFrame('[1,2]').kind).toBe('malformed');
    expect(readFrame('null').kind).toBe('malformed');
    expect(readFrame('{"status":"ok","retcode":0,"data":{"message_id":1},"echo":"e1"}')).toMatchObject({ kind: 'response', response: { echo: 'e1' } });
    expect(readFrame('{"status":"ok","retcode":0}').kind).toBe('malformed');
    expect(readFrame('{"post_type":"notice","notice_type":"group_increase"}')).toEqual({ kind: 'quiet', postType: 'notice' });
    expect(readFrame('{"post_type":"message_sent"}')).toEqual({ kind: 'quiet', postType: 'message_sent' });
    expect(readFrame('{"post_type":"wormhole"}')).toEqual({ kind: 'unknown', postType: 'wormhole' });
    expect(readFrame('{"post_type":7}').kind).toBe('malformed');
    expect(readFrame('{"post_type":"meta_event","meta_event_type":"heartbeat","interval":5000,"self_id":1}')).toEqual({
      kind: 'meta',
      metaType: 'heartbeat',
      selfId: '1',
    });
    const noGroup = readFrame(JSON.stringify({ ...event(), group_id: undefined, message: '秘密的求夸' }));
    expect(noGroup.kind).toBe('malformed');
    expect(JSON.stringify(noGroup)).not.toContain('秘密');
    const wrongSegments = readFrame(JSON.stringify({ ...event(), message: [{ data: { text: '秘密' } }] }));
    expect(wrongSegments.kind).toBe('malformed');
    expect(JSON.stringify(wrongSegments)).not.toContain('秘密');
  });

  it('reads numbers where the spec says strings, and strings where it says numbers', () => {
    const frame = readFrame(
      JSON.stringify({ ...event(), self_id: Number(SELF), user_id: '10001', message_id: -12, message: [{ type: 'at', data: { qq: Number(SELF) } }] }),
    );
    expect(frame.kind).toBe('message');
    const msg = toIncoming((frame as { event: MessageEvent }).event, ctx);
    expect(msg).toMatchObject({ messageId: '-12', userId: '10001', mentionsBot: true });
  });
});

describe('translating QQ messages', () => {
  it('counts an at segment of the bot as a mention and takes it out of the text; other ats stay as text, the first naming a member', () => {
    const msg = toIncoming(
      event({
        message: [
          { type: 'at', data: { qq: SELF } },
          { type: 'text', data: { text: ' 我今天跑完了全马 ' } },
          { type: 'at', data: { qq: '20002', name: '小明' } },
          { type: 'at', data: { qq: '30003' } },
          { type: 'at', data: { qq: 'all' } },
          { type: 'face', data: { id: '14' } },
        ],
        sender: { nickname: 'alice', card: '群名片' },
      }),
      ctx,
    );
    expect(msg).toEqual({
      platform: 'qq',
      chatId: 'group:123456',
      messageId: '77',
      userId: '10001',
      userName: '群名片',
      text: ' 我今天跑完了全马 @小明@30003@全体成员',
      isPrivate: false,
      mentionsBot: true,
      repliesToBot: false,
      fromBot: false,
      sentAt: 2_000_000_000_000,
      named: { qq: '20002', span: '@小明' },
    });
  });

  it('does not take text that reads "@kuakua" or the bot number for a mention (spoofing)', () => {
    for (const message of [`@kuakua 你好`, `@${SELF} 你好`, `[CQ:at,qq=${SELF}`, `&#91;CQ:at,qq=${SELF}&#93; 你好`]) {
      const msg = toIncoming(event({ message }), ctx) as IncomingMessage;
      expect(msg.mentionsBot, message).toBe(false);
    }
    expect((toIncoming(event({ message: [text(`@kuakua 你好`)] }), ctx) as IncomingMessage).mentionsBot).toBe(false);
  });

  it('reads CQ strings: a mention, a reply to the bot, and escaped text', () => {
    const msg = toIncoming(event({ message: `[CQ:reply,id=555][CQ:at,qq=${SELF}] ${escapeCq(TRICKY)}` }), ctx);
    expect(msg).toMatchObject({ mentionsBot: true, repliesToBot: true, text: ` ${TRICKY}` });
  });

  it('counts a reply only when it quotes a message the bot sent', () => {
    expect(toIncoming(event({ message: [{ type: 'reply', data: { id: '555' } }, text('谢谢')] }), ctx)).toMatchObject({
      repliesToBot: true,
      mentionsBot: false,
    });
    expect(toIncoming(event({ message: [{ type: 'reply', data: { id: '556' } }, text('谢谢')] }), ctx)).toMatchObject({ repliesToBot: false });
  });

  it("marks its own messages as the bot's, and drops anonymous ones and ones older than its start", () => {
    expect(toIncoming(event({ user_id: SELF, message: [text('求夸')] }), ctx)).toMatchObject({ fromBot: true });
    expect(toIncoming(event({ message: [text('求夸')] }), ctx)).toMatchObject({ fromBot: false });
    expect(toIncoming(event({ sub_type: 'anonymous', anonymous: { id: 1, name: 'x', flag: 'f' } }), ctx)).toEqual({ dropped: 'anonymous' });
    expect(toIncoming(event({ anonymous: { id: 1, name: 'x', flag: 'f' } }), ctx)).toEqual({ dropped: 'anonymous' });
    expect(toIncoming(event({ anonymous: null }), ctx)).not.toHaveProperty('dropped');
    expect(toIncoming(event({ time: ctx.startedAtSec - 1 }), ctx)).toEqual({ dropped: 'old' });
    expect(toIncoming(event({ time: ctx.startedAtSec }), ctx)).not.toHaveProperty('dropped');
  });

  it('names private chats by the user and answers them without an at', () => {
    const msg = toIncoming(
      event({ message_type: 'private', sub_type: 'friend', group_id: undefined, message: [text('我按时起床了')] }),
      ctx,
    ) as IncomingMessage;
    expect(msg).toMatchObject({ chatId: 'private:10001', isPrivate: true });
    expect(targetOf('private:10001')).toEqual({ type: 'private', id: 10001 });
    expect(targetOf('group:123456')).toEqual({ type: 'group', id: 123456 });
    for (const bad of ['123456', 'group:', 'group:12a', 'channel:1', `group:${'9'.repeat(20)}`]) expect(targetOf(bad), bad).toBeUndefined();
    expect(replySegments({ type: 'private', id: 10001 }, '真棒', { messageId: '77', userId: '10001' })).toEqual([
      { type: 'reply', data: { id: '77' } },
      { type: 'text', data: { text: '真棒' } },
    ]);
    expect(replySegments({ type: 'group', id: 1 }, '真棒', { messageId: '77', userId: '10001' })).toEqual([
      { type: 'reply', data: { id: '77' } },
      { type: 'at', data: { qq: '10001' } },
      { type: 'text', data: { text: ' 真棒' } },
    ]);
    expect(replySegments({ type: 'group', id: 1 }, '第二段')).toEqual([{ type: 'text', data: { text: '第二段' } }]);
  });

  it('keeps permanent retcodes apart from ones worth retrying', () => {
    expect(new OneBotActionError('send_group_msg', 1404).permanent).toBe(true);
    expect(new OneBotActionError('send_group_msg', 1403).permanent).toBe(true);
    expect(new OneBotActionError('send_group_msg', 100).permanent).toBe(false);
    expect(new OneBotActionError('send_group_msg', 1200).permanent).toBe(false);
  });
});

describe('qq adapter definition', () => {
  const section = qqConfig.parse({
    wsUrl: '',
    reverse: { host: '127.0.0.1', port: 0, path: '/onebot/v11/ws' },
    actionTimeoutMs: 10_000,
    sendAttempts: 3,
    sendFormat: 'array',
  });

  it('stays off until a forward URL or a reverse port is set, and reads the token only from the environment', () => {
    expect(qqAdapter.section).toBe('onebot');
    expect(qqAdapter.secretEnv).toEqual(['ONEBOT_ACCESS_TOKEN']);
    expect(qqAdapter.options(section, {})).toBeUndefined();
    expect(qqAdapter.options(section, { ONEBOT_ACCESS_TOKEN: 'secret-token' })).toBeUndefined();
    expect(qqAdapter.options({ ...section, wsUrl: 'ws://127.0.0.1:3001' }, { ONEBOT_ACCESS_TOKEN: ' secret-token ' })).toEqual({
      wsUrl: 'ws://127.0.0.1:3001',
      accessToken: 'secret-token',
      actionTimeoutMs: 10_000,
      sendAttempts: 3,
      sendFormat: 'array',
    });
    expect(qqAdapter.options(section, { ONEBOT_REVERSE_PORT: '6700' })).toMatchObject({ reverse: { host: '127.0.0.1', port: 6700, path: '/onebot/v11/ws' } });
    expect(qqAdapter.options({ ...section, wsUrl: 'wss://bot.example.com/ws' }, {})).toMatchObject({ wsUrl: 'wss://bot.example.com/ws' });
    expect(qqAdapter.options({ ...section, reverse: { ...section.reverse, port: 8080 } }, {})).toMatchObject({ reverse: { port: 8080 } });
  });

  it('refuses settings that cannot work, without echoing a token', () => {
    expect(() => qqAdapter.options(section, { ONEBOT_REVERSE_PORT: 'eighty' })).toThrow('ONEBOT_REVERSE_PORT must be a port number');
    expect(qqConfig.safeParse({ ...section, wsUrl: 'http://x' }).success).toBe(false);
    expect(qqConfig.safeParse({ ...section, accessToken: 'x' }).success).toBe(false);
    expect(qqAdapter.sdk.test('/app/node_modules/ws/lib/websocket.js')).toBe(true);
  });
});

let stack: Stack;
let fake: FakeOneBot;
let adapter: RunningAdapter;
/** What the adapter handed to the (real) core. */
const handed: IncomingMessage[] = [];
let nextGroup = 600_000;
let nextUser = 700_000;

const group = () => nextGroup++;
const ADMIN_QQ = 424242;
const user = () => nextUser++;
const at = (qq: string | number = fake.selfId): FakeSegment => ({ type: 'at', data: { qq: String(qq) } });
const handedFor = (e: FakeEvent) => handed.find((h) => h.messageId === String(e.message_id));
const quoted = (s: SentMessage) => s.segments.find((seg) => seg.type === 'reply')?.data.id;
const repliesTo = (e: FakeEvent) => fake.sent.filter((s) => quoted(s) === String(e.message_id));
const sentTo = (groupId: number) => fake.sent.filter((s) => s.groupId === groupId);
const textOf = (s: SentMessage) =>
  s.segments
    .filter((seg) => seg.type === 'text')
    .map((seg) => seg.data.text)
    .join('');

/** Waits for the reply to `e`, then until nothing is left in the queues that could (wrongly) send a second one. */
async function oneReplyTo(e: FakeEvent): Promise<SentMessage> {
  const [reply] = await waitFor(() => (repliesTo(e).length > 0 ? repliesTo(e) : undefined), `a reply to message ${e.message_id}`);
  await stack.idle();
  expect(repliesTo(e)).toHaveLength(1);
  if (e.message_type === 'group') {
    expect(reply).toMatchObject({ action: 'send_group_msg', groupId: e.group_id });
    // The asker is @-mentioned right after the quote.
    expect(reply!.segments.slice(0, 2)).toEqual([
      { type: 'reply', data: { id: String(e.message_id) } },
      { type: 'at', data: { qq: String(e.user_id) } },
    ]);
  } else {
    expect(reply).toMatchObject({ action: 'send_private_msg', userId: e.user_id });
    expect(reply!.segments.some((s) => s.type === 'at')).toBe(false);
  }
  return reply!;
}

async function ignored(e: FakeEvent): Promise<void> {
  expect(await stack.handled(String(e.message_id))).toBe('ignored');
  await stack.idle();
  expect(repliesTo(e)).toHaveLength(0);
}

/** The adapter's own log line for an event it did not hand to the core. */
const dropLine = (e: FakeEvent, reason: string) =>
  waitFor(
    () => stack.logs.find((l) => l.includes('"qq message dropped"') && l.includes(`"messageId":"${e.message_id}"`) && l.includes(`"reason":"${reason}"`)),
    `message ${e.message_id} dropped as ${reason}`,
  );

function ask(groupId: number, m: Partial<UserMessage> & { message: FakeSegment[] }): FakeEvent {
  return fake.groupMessage(groupId, { userId: user(), ...m });
}

beforeAll(async () => {
  fake = await startFakeOneBot();
  stack = await startStack({
    admins: { qq: [String(ADMIN_QQ)] },
    rateLimit: { chatPerMinute: 0 },
    messages: { help: LONG_HELP },
    // Every candidate of the tiny random model acceptable, so that a chorus has its replies.
    model: { candidates: 8, maxNewTokens: 8 },
    policy: { minScore: -100, minScoreOverFrame: -100 },
    chorus: { gapMs: 200 },
  });
  const recording = recordingCore(stack.core, handed);
  const options = qqAdapter.options(
    { ...stack.config.onebot, wsUrl: fake.url, actionTimeoutMs: 1000, sendFormat: 'string' },
    { ONEBOT_ACCESS_TOKEN: fake.token },
  );
  adapter = await qqAdapter.start({ core: recording, logger: stack.logger }, options!);
});

afterAll(async () => {
  await adapter?.stop();
  await stack?.close();
  await fake?.close();
});

describe('qq adapter over a forward WebSocket, end to end through Redis, the core and the worker', () => {
  it('connects with the token in the Authorization header', () => {
    expect(fake.authorizations).toEqual([`Bearer ${fake.token}`]);
    expect(fake.accepted()).toBe(1);
    expect(fake.refused()).toBe(0);
    expect(stack.logs.join('\n')).toContain('"onebot connected"');
  });

  it('answers an @ in a group once, quoting the asker and @-mentioning them', async () => {
    const e = ask(group(), { message: [at(), text(' 我今天跑完了全马')] });
    const reply = await oneReplyTo(e);
    expect(reply.format).toBe('string');
    expect(textOf(reply).trim().length).toBeGreaterThan(0);
    expect(handedFor(e)).toMatchObject({ mentionsBot: true, repliesToBot: false, isPrivate: false, text: ' 我今天跑完了全马', chatId: `group:${e.group_id}` });
  });

  it('answers an @ sent as a CQ string, reading its escaped text', async () => {
    const e = ask(group(), { message: [at(), text(` ${TRICKY}`)], format: 'string' });
    expect(typeof (e.message as unknown)).toBe('string');
    await oneReplyTo(e);
    expect(handedFor(e)).toMatchObject({ mentionsBot: true, text: ` ${TRICKY}` });
  });

  it('ignores a group message without an @, and an @ of somebody else', async () => {
    const g = group();
    await ignored(ask(g, { message: [text('今天天气不错')] }));
    const other = ask(g, { message: [at(12345), text(' 今天天气不错')] });
    await ignored(other);
    expect(handedFor(other)).toMatchObject({ mentionsBot: false, text: '@12345 今天天气不错' });
  });

  it('does not take a typed "@kuakua" for a mention, in either format', async () => {
    const g = group();
    const typed = ask(g, { message: [text('@kuakua 你好')] });
    const typedNumber = ask(g, { message: [text(`@${fake.selfId} 你好`)], format: 'string' });
    await ignored(typed);
    await ignored(typedNumber);
    expect(handedFor(typed)).toMatchObject({ mentionsBot: false });
    expect(handedFor(typedNumber)).toMatchObject({ mentionsBot: false });
  });

  it('answers a trigger word in a group without an @', async () => {
    const e = ask(group(), { message: [text('求夸 我学会了游泳')] });
    await oneReplyTo(e);
    expect(handedFor(e)).toMatchObject({ mentionsBot: false });
  });

  it('answers a 求夸 that hides distress in words no pattern lists with the care reply, in the script it was written in', async () => {
    expect(textOf(await oneReplyTo(ask(group(), { message: [text(INDIRECT_DISTRESS)] })))).toContain(stack.config.distress.reply);
    const traditional = await oneReplyTo(ask(group(), { message: [text(INDIRECT_DISTRESS_TRADITIONAL)] }));
    expect(textOf(traditional)).toContain(await traditionalCareReply(stack.config.distress));
  });

  it('answers a reply to one of its messages, but not a reply to somebody else', async () => {
    const g = group();
    const first = await oneReplyTo(ask(g, { message: [at(), text(' 我升职了')] }));
    const thanks = ask(g, { message: [{ type: 'reply', data: { id: String(first.messageId) } }, text('谢谢！')] });
    await oneReplyTo(thanks);
    expect(handedFor(thanks)).toMatchObject({ repliesToBot: true, mentionsBot: false });
    const human = ask(g, { message: [text('我刚到家')] });
    await ignored(human);
    const toHuman = ask(g, { message: [{ type: 'reply', data: { id: String(human.message_id) } }, text('欢迎回来')] });
    await ignored(toHuman);
    expect(handedFor(toHuman)).toMatchObject({ repliesToBot: false });
  });

  it('answers a private message with send_private_msg, quoting it', async () => {
    const e = fake.privateMessage({ userId: user(), message: [text('我今天按时起床了')] });
    await oneReplyTo(e);
    expect(handedFor(e)).toMatchObject({ isPrivate: true, chatId: `private:${e.user_id}` });
  });

  it('lets only admins (by QQ number) use admin commands', async () => {
    const g = group();
    const refused = await oneReplyTo(ask(g, { message: [text('/kuakua_off')] }));
    expect(textOf(refused)).toContain(stack.config.messages.notAdmin);
    const off = await oneReplyTo(ask(g, { userId: ADMIN_QQ, message: [text('/kuakua_off')] }));
    expect(textOf(off)).toContain(stack.config.messages.disabled);
    await ignored(ask(g, { message: [at(), text(' 求夸 没人理我')] }));
    expect(textOf(await oneReplyTo(ask(g, { userId: ADMIN_QQ, message: [text('/kuakua_on')] })))).toContain(stack.config.messages.enabled);
  });

  it('answers with a chorus of 3 once an admin sets /kuakua_chorus 3: three distinct messages in order, each in its own voice; at most 2 for a sad post, care alone for distress, one cooldown per ask', async () => {
    const g = group();
    await oneReplyTo(fake.groupMessage(g, { userId: ADMIN_QQ, message: [text('/kuakua_chorus 3')] }));
    const e = ask(g, { message: [text('求夸 我今天跑完了五公里')] });
    const replies = await waitFor(() => (repliesTo(e).length === 3 ? repliesTo(e) : undefined), 'three replies');
    await stack.idle();
    expect(repliesTo(e)).toHaveLength(3);
    const voices = stack.config.chorus.voices.map((v) => v.name);
    const spoken = replies.map((r) => /^\s*【(.+?)】/.exec(textOf(r))?.[1]);
    const first = voices.indexOf(spoken[0]!);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(spoken).toEqual([0, 1, 2].map((i) => voices[(first + i) % voices.length]));
    expect(new Set(replies.map(textOf)).size).toBe(3);
    expect(replies.every((r) => r.segments[1]?.type === 'at' && r.segments[1].data.qq === String(e.user_id))).toBe(true);

    // In this group of 3: a sad post gets at most chorus.gentleMax, distress the care reply alone, one ask one cooldown.
    const sad = ask(g, { message: [text('求鼓励 考试没过，好难过')] });
    await waitFor(() => repliesTo(sad).length > 0 || undefined, 'a reply to the sad post');
    await stack.idle();
    expect(repliesTo(sad).length).toBeLessThanOrEqual(stack.config.chorus.gentleMax);
    expect(textOf(await oneReplyTo(ask(g, { message: [text('我真的不想活了')] }))).trim()).toBe(stack.config.distress.reply);
    const eager = user();
    const once = ask(g, { userId: eager, message: [text('求夸 我今天跑完了五公里')] });
    await waitFor(() => repliesTo(once).length > 0 || undefined, 'the first ask answered');
    await ignored(ask(g, { userId: eager, message: [text('求夸 我又跑了五公里')] }));
  });

  it('praises a friend named by an at or by quoting their message, @-mentioning them by their name', async () => {
    const g = group();
    const ming = user();
    const post = fake.groupMessage(g, { userId: ming, nickname: '小明', message: [text('我今天把驾照考下来了')] });
    const byAt = ask(g, { message: [text('夸夸 '), at(ming), text(' 他今天答辩过了')] });
    const [praise] = await waitFor(() => (repliesTo(byAt).length > 0 ? repliesTo(byAt) : undefined), 'the praise');
    expect(praise!.segments[1]).toEqual({ type: 'at', data: { qq: String(ming) } });
    expect(textOf(praise!).trim()).toMatch(/^小明，/);
    expect(handedFor(byAt)).toMatchObject({ friend: { userId: String(ming), name: '小明', isBot: false, inChat: true } });
    const byQuote = ask(g, { message: [{ type: 'reply', data: { id: String(post.message_id) } }, text('夸夸他')] });
    await waitFor(() => (repliesTo(byQuote).length > 0 ? repliesTo(byQuote) : undefined), 'the praise for a quote');
    expect(handedFor(byQuote)).toMatchObject({ friend: { userId: String(ming), repliedText: '我今天把驾照考下来了', inChat: true } });
    await stack.idle();
  });

  it('praises no bot account, nobody outside the group, and nobody who sent /kuakua_optout', async () => {
    const g = group();
    const robot = user();
    fake.join(g, robot, '小助手', true);
    const m = stack.config.messages;
    expect(textOf(await oneReplyTo(ask(g, { message: [text('夸夸 '), at(robot), text(' 它很勤快')] }))).trim()).toBe(m.friendIsBot);
    expect(textOf(await oneReplyTo(ask(g, { message: [text('夸夸 '), at(user()), text(' 他很棒')] }))).trim()).toBe(m.friendNotInChat);
    const shy = user();
    expect(textOf(await oneReplyTo(fake.groupMessage(g, { userId: shy, message: [text('/kuakua_optout')] }))).trim()).toBe(m.optedOut);
    expect(textOf(await oneReplyTo(ask(g, { message: [text('夸一下 '), at(shy)] }))).trim()).toBe(m.friendOptedOut);
  });

  it('ignores its own messages, anonymous messages and messages from before its start', async () => {
    const g = group();
    const own = fake.groupMessage(g, { userId: fake.selfId, message: [at(), text(' 求夸')] });
    const anonymous = ask(g, { message: [at(), text(' 求夸 匿名')], anonymous: true });
    const old = ask(g, { message: [at(), text(' 求夸 很久以前')], time: Math.floor(Date.now() / 1000) - 3600 });
    // Its own message reaches the core marked as the bot's, and the core ignores it; the others never leave the adapter.
    expect(await stack.handled(String(own.message_id))).toBe('ignored');
    expect(handedFor(own)).toMatchObject({ fromBot: true });
    await dropLine(anonymous, 'anonymous');
    await dropLine(old, 'old');
    await oneReplyTo(ask(g, { message: [at(), text(' 我来确认一下')] }));
    expect([own, anonymous, old].flatMap(repliesTo)).toHaveLength(0);
    expect([anonymous, old].map(handedFor)).toEqual([undefined, undefined]);
  });

  it('sends a long reply in parts of at most QQ_MAX_MESSAGE characters, escaping CQ characters in its CQ strings', async () => {
    const g = group();
    const e = ask(g, { message: [text('/kuakua_help')] });
    await waitFor(() => sentTo(g).length >= 2 || undefined, 'both parts of the help text');
    await stack.idle();
    const parts = sentTo(g);
    expect(parts).toHaveLength(2);
    expect(parts.every((p) => p.format === 'string' && textOf(p).length <= QQ_MAX_MESSAGE + 1)).toBe(true);
    expect(quoted(parts[0]!)).toBe(String(e.message_id));
    expect(quoted(parts[1]!)).toBeUndefined();
    // The fake decodes the CQ strings with its own codec: every &, [, ] and , arrives as sent.
    expect(textOf(parts[0]!).slice(1) + textOf(parts[1]!)).toBe(LONG_HELP);
    const raw = fake.actions.filter((a) => a.params.group_id === g).map((a) => String(a.params.message));
    expect(raw[0]).toMatch(/^\[CQ:reply,id=\d+\]\[CQ:at,qq=\d+\] a&amp;b &#91;x&#93; c,d &amp;amp; &amp;#91;/);
  });

  it('drops a reply job whose ids are not QQ ids (an at of "all", a reply id with a CQ parameter in it), sends nothing, logs no text', async () => {
    const g = group();
    const replies = new Queue(replyQueueName(stack.config.queue.name, stack.core.instanceId), {
      connection: { url: stack.config.secrets.redisUrl },
      prefix: stack.config.redis.prefix,
    });
    const forged = (messageId: string, userId: string) => {
      const addressing = { platform: 'qq' as const, chatId: `group:${g}`, messageId, userId };
      return {
        type: 'reply',
        key: idempotencyKey(addressing),
        ...addressing,
        instanceId: stack.core.instanceId,
        enqueuedAt: Date.now(),
        text: '伪造的全体通知',
        kind: 'praise',
        model: 'forged',
        queueWaitMs: 0,
        generationMs: 0,
      };
    };
    const dropped = () => stack.logs.filter((l) => l.includes('"invalid delivery dropped, not sent"'));
    const before = dropped().length;
    try {
      await replies.add('reply', forged('9001', 'all'));
      await replies.add('reply', forged('9002,qq=all', '10001'));
      await stack.idle();
    } finally {
      await replies.close();
    }
    expect(sentTo(g)).toEqual([]);
    expect(fake.sent.flatMap((s) => s.segments).some((seg) => seg.type === 'at' && seg.data.qq === 'all')).toBe(false);
    const invalid = dropped()
      .slice(before)
      .map((l) => (JSON.parse(l) as { invalid: string[] }).invalid.join());
    expect(invalid.sort()).toEqual(['replyToMessageId', 'userId']);
    expect(stack.logs.join('\n')).not.toContain('伪造的全体通知');
  });

  it('retries a send that failed with a retcode that may pass, and logs it', async () => {
    const g = group();
    fake.failNext('send_group_msg', 1, { retcode: 1200 });
    const e = ask(g, { message: [at(), text(' 我被风控了')] });
    await oneReplyTo(e);
    expect(fake.actions.filter((a) => a.params.group_id === g)).toHaveLength(2);
    expect(stack.logs.some((l) => l.includes('"onebot action failed, retrying"') && l.includes('"retcode":1200'))).toBe(true);
  });

  it('does not retry a send that got no response in time, as it may have been sent, and logs it', async () => {
    const g = group();
    fake.failNext('send_group_msg', 1, 'no-answer');
    const e = ask(g, { message: [at(), text(' 我等了很久')] });
    const line = await waitFor(
      () => stack.logs.find((l) => l.includes('not retried, it may have been sent') && l.includes(`"chatId":"group:${g}"`)),
      'the unanswered send',
    );
    await stack.idle();
    expect(line).toContain('no response within 1000 ms');
    expect(fake.actions.filter((a) => a.params.group_id === g)).toHaveLength(1);
    expect(repliesTo(e)).toHaveLength(0);
  });

  it('does not retry a send refused with a permanent retcode, and logs it', async () => {
    const g = group();
    fake.failNext('send_group_msg', 1, { retcode: 1403 });
    const e = ask(g, { message: [at(), text(' 我被禁言了')] });
    await waitFor(
      () => stack.logs.find((l) => l.includes('"onebot refused the reply, dropping it"') && l.includes(`"chatId":"group:${g}"`)),
      'the dropped reply',
    );
    await stack.idle();
    expect(fake.actions.filter((a) => a.params.group_id === g)).toHaveLength(1);
    expect(repliesTo(e)).toHaveLength(0);
  });

  it('survives malformed JSON frames, malformed events and unknown event types', async () => {
    fake.emitRaw('{"post_type": "message", ');
    fake.emitRaw('not json at all');
    fake.emit([1, 2, 3]);
    fake.emit({ post_type: 'message', message_type: 'group', message: '秘密的坏消息' });
    fake.emit({ post_type: 'message', message_type: 'channel', self_id: 1, user_id: 2, message_id: 3, time: 4, message: [] });
    fake.emit({ post_type: 'wormhole', self_id: 1 });
    fake.emit({ post_type: 'notice', notice_type: 'group_recall', group_id: 1 });
    fake.emit({ status: 'ok', retcode: 0, data: null, echo: 'not-ours' });
    fake.emit({ post_type: 'meta_event', meta_event_type: 'heartbeat', interval: 5000, status: { online: true }, self_id: fake.selfId });
    await oneReplyTo(ask(group(), { message: [at(), text(' 坏帧之后')] }));
    const logs = stack.logs.join('\n');
    expect(logs).toContain('malformed onebot frame ignored');
    expect(logs).toContain('onebot event of an unknown type ignored');
    expect(logs).toContain('post_type wormhole');
    expect(logs).not.toContain('秘密的坏消息');
  });

  it.each(BAD_INPUTS)('answers bad input in a private chat, asking the models for the post the core makes of it: %s', async (_name, input, facts) => {
    // Private chats always trigger: every case is answered.
    const e = fake.privateMessage({ userId: user(), message: [text(input)] });
    await oneReplyTo(e);
    expect(await askedPost(stack, String(e.message_id))).toBe(expectedPost(facts, stack.config));
    await oneReplyTo(fake.privateMessage({ userId: user(), message: [text('求夸')] }));
  });

  it.each(BAD_INPUTS)('reads bad input sent as a CQ string in a group as written, and answers it only if it asks: %s', async (_name, input, facts) => {
    const e = ask(group(), { message: [text(input)], format: 'string' });
    if (facts.asks) await oneReplyTo(e);
    else await ignored(e);
    expect(handedFor(e)).toMatchObject({ text: input, mentionsBot: false, isPrivate: false });
  });

  it('reconnects with backoff after the implementation drops the connection', async () => {
    const before = fake.accepted();
    const connectedLines = () => stack.logs.filter((l) => l.includes('"onebot connected"') && l.includes('"via":"forward"')).length;
    const linesBefore = connectedLines();
    fake.dropConnections();
    // Sent while no connection is open: the fake sends it right behind the handshake of the next one, so it is read
    // before any other frame.
    const e = ask(group(), { message: [at(), text(' 断线之后')] });
    await waitFor(() => fake.accepted() > before && fake.open() > 0, 'the adapter to reconnect');
    await oneReplyTo(e);
    expect(connectedLines()).toBe(linesBefore + 1);
    expect(stack.logs.some((l) => l.includes('onebot connection lost, reconnecting'))).toBe(true);
  });

  it('closes the connection on a frame over 1 MiB (1009), reconnects and keeps answering', async () => {
    const closed = () => fake.closeCodes.filter((c) => c === 1009).length;
    const [closedBefore, acceptedBefore] = [closed(), fake.accepted()];
    fake.emitRaw(oversized());
    await waitFor(() => closed() > closedBefore || undefined, 'the adapter to close the connection with 1009');
    await waitFor(() => (fake.accepted() > acceptedBefore && fake.open() > 0) || undefined, 'the adapter to reconnect');
    await oneReplyTo(ask(group(), { message: [at(), text(' 大帧之后')] }));
  });

  it('refuses to start with a wrong token, with a clear error', async () => {
    const refusedBefore = fake.refused();
    const start = startQqAdapter({ core: stack.core, logger: stack.logger, wsUrl: fake.url, accessToken: 'wrong-token-0123456789' });
    await expect(start).rejects.toThrow(PermanentAdapterError);
    await expect(start).rejects.toThrow('OneBot refused ONEBOT_ACCESS_TOKEN (401 Unauthorized)');
    expect(fake.refused()).toBe(refusedBefore + 1);
    // The running adapter still answers.
    await oneReplyTo(ask(group(), { message: [at(), text(' 错误的令牌之后')] }));
  });

  it('fails to start, to be retried, when nothing listens at the URL', async () => {
    const url = `ws://127.0.0.1:${await freePort()}`;
    const start = startQqAdapter({ core: stack.core, logger: stack.logger, wsUrl: url, accessToken: fake.token });
    await expect(start).rejects.toThrow(/ECONNREFUSED/);
    await expect(start).rejects.not.toThrow(PermanentAdapterError);
  });

  it('reports a token the implementation stops accepting, on reconnecting, as a permanent fault', async () => {
    const original = fake.token;
    const refusedBefore = fake.refused();
    const faults: unknown[] = [];
    const other = await startQqAdapter({
      core: stack.core,
      logger: stack.logger,
      wsUrl: fake.url,
      accessToken: original,
      faults: { fault: (err) => faults.push(err), warn: () => {} },
    });
    try {
      fake.setToken('rotated-token-9876543210');
      fake.dropConnections();
      const [err] = await waitFor(() => (faults.length > 0 ? faults : undefined), 'the fault report');
      expect(err).toBeInstanceOf(PermanentAdapterError);
      expect(String(err)).toContain('OneBot refused ONEBOT_ACCESS_TOKEN (401 Unauthorized)');
      expect(faults).toHaveLength(1);
      expect(fake.refused()).toBeGreaterThan(refusedBefore);
    } finally {
      await other.stop();
      fake.setToken(original);
    }
  });

  it('logs the forward URL without its query, where a token too short to redact may sit', async () => {
    const short = 'q~7!';
    const other = await startQqAdapter({ core: stack.core, logger: stack.logger, wsUrl: `${fake.url}/?access_token=${short}`, accessToken: fake.token });
    await other.stop();
    const all = stack.logs.join('\n');
    expect(all).toContain(`"forward":"${fake.url}/"`);
    expect(all).not.toContain(short);
  });

  it('never logs the access token', () => {
    const all = stack.logs.join('\n');
    expect(all).toContain('qq adapter started');
    expect(all).not.toContain(fake.token);
  });
});

/** A frame just over 1 MiB: a notice no real implementation would send. */
const oversized = () => JSON.stringify({ post_type: 'notice', notice_type: 'padding', pad: 'x'.repeat(1024 * 1024) });

/** Sends `request` as it is on a new TCP connection to 127.0.0.1:`port`; resolves with all that came back before it closed. */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    // A server that threw instead of answering leaves the connection open.
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer and no close; got ${JSON.stringify(answer)}`)));
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.once('error', reject);
    socket.once('close', () => resolve(answer));
  });
}

describe('qq adapter over a reverse WebSocket (the implementation connects to kuakua)', () => {
  let port: number;
  let reverseUrl: string;
  /** What the adapter reported to its supervisor: a fault would have it restarted. */
  const faults: unknown[] = [];
  const warnings: string[] = [];

  beforeAll(async () => {
    await adapter.stop();
    fake.dropConnections();
    port = await freePort();
    reverseUrl = `ws://127.0.0.1:${port}/onebot/v11/ws`;
    const options = qqAdapter.options(qqConfig.parse(stack.config.onebot), { ONEBOT_REVERSE_PORT: String(port), ONEBOT_ACCESS_TOKEN: fake.token });
    const logged = standaloneFaults(stack.logger);
    const reporter = {
      fault: (err: unknown) => faults.push(err),
      warn: (err: unknown, msg: string, fields?: Record<string, unknown>) => {
        warnings.push(msg);
        logged.warn(err, msg, fields);
      },
    };
    adapter = await qqAdapter.start({ core: stack.core, logger: stack.logger, faults: reporter }, { ...options!, pingMs: 200 });
  });

  it('refuses a client with a wrong or missing token with 401, and a wrong path with 404', async () => {
    await expect(fake.connectReverse(reverseUrl, { token: 'wrong-token-0123456789' })).rejects.toMatchObject({ status: 401 });
    await expect(fake.connectReverse(reverseUrl, { token: 'wrong-token-0123456789', tokenIn: 'query' })).rejects.toMatchObject({ status: 401 });
    await expect(fake.connectReverse(reverseUrl)).rejects.toMatchObject({ status: 401 });
    await expect(fake.connectReverse(`ws://127.0.0.1:${port}/elsewhere`, { token: fake.token })).rejects.toMatchObject({ status: 404 });
    expect(fake.open()).toBe(0);
    expect(stack.logs.some((l) => l.includes('onebot reverse connection refused (401)'))).toBe(true);
  });

  it('accepts the token as access_token in the query, and answers an @ in a group over it', async () => {
    await fake.connectReverse(reverseUrl, { token: fake.token, tokenIn: 'query' });
    await waitFor(() => stack.logs.find((l) => l.includes('"onebot connected"') && l.includes('"via":"reverse"')), 'the reverse connection');
    const e = ask(group(), { message: [at(), text(' 反向连接')] });
    const reply = await oneReplyTo(e);
    expect(reply.format).toBe('array');
    fake.dropConnections();
  });

  it('accepts the token in the Authorization header, and answers a private message and a CQ-string @', async () => {
    await fake.connectReverse(reverseUrl, { token: fake.token });
    await waitFor(() => fake.open() > 0 || undefined, 'the reverse connection');
    await oneReplyTo(fake.privateMessage({ userId: user(), message: [text('我写完了论文')] }));
    await oneReplyTo(ask(group(), { message: [at(), text(` ${TRICKY}`)], format: 'string' }));
  });

  it('answers a request with a malformed path with 400, and keeps serving without a restart', async () => {
    fake.dropConnections();
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    const answer = await rawRequest(
      port,
      `GET // HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(warnings).toContain('onebot reverse connection refused (400)');
    await fake.connectReverse(reverseUrl, { token: fake.token });
    await oneReplyTo(ask(group(), { message: [at(), text(' 坏请求之后')] }));
    expect(faults).toEqual([]);
  });

  it('reports a server error after it started listening, and keeps serving', async () => {
    const server = httpServers.find((s) => s.listening && (s.address() as { port: number }).port === port);
    server!.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }));
    expect(warnings).toContain('onebot reverse server error');
    fake.dropConnections();
    await fake.connectReverse(reverseUrl, { token: fake.token });
    await oneReplyTo(ask(group(), { message: [at(), text(' 服务器出错之后')] }));
    expect(faults).toEqual([]);
  });

  it('closes a reverse connection that stops answering pings, and a new one takes over', async () => {
    fake.dropConnections();
    await fake.connectReverse(reverseUrl, { token: fake.token, answerPings: false });
    expect(fake.open()).toBe(1);
    await waitFor(() => fake.open() === 0, 'the silent connection to be closed');
    await fake.connectReverse(reverseUrl, { token: fake.token });
    await oneReplyTo(ask(group(), { message: [at(), text(' 半开连接之后')] }));
  });

  it('never logs the access token', () => {
    expect(stack.logs.join('\n')).not.toContain(fake.token);
  });
});

describe('qq adapter over a reverse WebSocket without a token: who may connect, and which connection sends', () => {
  const PATH = '/onebot/v11/ws';
  const own = recordLogs();
  let url: string;
  const count = (msg: string) => own.entries(msg).length;
  /** Waits until the server has seen every connection close, so none of them counts against the limit. */
  const allClosed = () => waitFor(() => count('onebot connected') === count('onebot disconnected') || undefined, 'every reverse connection to close');

  beforeAll(async () => {
    await adapter.stop();
    fake.dropConnections();
    const port = await freePort();
    url = `ws://127.0.0.1:${port}${PATH}`;
    adapter = await startQqAdapter({ core: stack.core, logger: own.logger, reverse: { host: '127.0.0.1', port, path: PATH } });
  });

  it('refuses to start on a non-loopback host without ONEBOT_ACCESS_TOKEN, with a one-line error', async () => {
    for (const host of ['0.0.0.0', '::']) {
      const outcome = await startQqAdapter({ core: stack.core, logger: stack.logger, reverse: { host, port: await freePort(), path: PATH } }).then(
        async (started) => {
          await started.stop();
          return 'started';
        },
        (err: unknown) => err,
      );
      expect(outcome).toBeInstanceOf(PermanentAdapterError);
      expect(String(outcome)).toContain(`Refusing to serve the OneBot reverse WebSocket on ${host} without ONEBOT_ACCESS_TOKEN`);
      expect(String(outcome)).not.toContain('\n');
    }
  });

  it('on 127.0.0.1 accepts a client without a token, as before, and answers over it', async () => {
    await fake.connectReverse(url);
    await oneReplyTo(ask(group(), { message: [at(), text(' 本机无令牌')] }));
  });

  it('sends only on a connection that named its account in X-Self-ID and whose events agree, never simply the newest', async () => {
    const intruder = await startFakeOneBot({ selfId: 1_234_567 });
    try {
      // Newest, but no X-Self-ID.
      await intruder.connectReverse(url, { role: 'API', selfIdHeader: null });
      await oneReplyTo(ask(group(), { message: [at(), text(' 没有 X-Self-ID')] }));
      // Newest, claiming the bot's account, but its own events come from another one.
      await intruder.connectReverse(url, { selfIdHeader: String(fake.selfId) });
      await waitFor(() => count('onebot connection reports another account than its X-Self-ID; it gets no actions') > 0 || undefined, 'the mismatch');
      await oneReplyTo(ask(group(), { message: [at(), text(' 冒名的账号')] }));
      // Newest, an API connection for an account no event has shown.
      await intruder.connectReverse(url, { role: 'API' });
      await oneReplyTo(ask(group(), { message: [at(), text(' 陌生的账号')] }));
      expect(intruder.actions).toEqual([]);
      expect(count('onebot reverse connection without X-Self-ID gets no actions')).toBe(1);
    } finally {
      await intruder.close();
    }
  });

  it('sends on the API connection of an Event + API pair, whose account the Event connection shows', async () => {
    fake.dropConnections();
    await allClosed();
    await fake.connectReverse(url, { role: 'Event' });
    await fake.connectReverse(url, { role: 'API' });
    await oneReplyTo(ask(group(), { message: [at(), text(' 分开的连接')] }));
  });

  it('closes a connection that sends a frame over 1 MiB (1009), and a new one takes over', async () => {
    fake.dropConnections();
    await allClosed();
    await fake.connectReverse(url);
    const closed = () => fake.closeCodes.filter((c) => c === 1009).length;
    const before = closed();
    fake.emitRaw(oversized());
    await waitFor(() => closed() > before || undefined, 'the server to close the connection with 1009');
    await fake.connectReverse(url);
    await oneReplyTo(ask(group(), { message: [at(), text(' 大帧之后')] }));
  });

  it(`refuses connections beyond ${MAX_REVERSE_CONNECTIONS} with 503, logged, and keeps serving the others`, async () => {
    fake.dropConnections();
    await allClosed();
    await fake.connectReverse(url);
    for (let i = 1; i < MAX_REVERSE_CONNECTIONS; i++) await fake.connectReverse(url, { role: 'Event' });
    await expect(fake.connectReverse(url, { role: 'Event' })).rejects.toMatchObject({ status: 503 });
    expect(count('onebot reverse connection refused (503)')).toBe(1);
    await oneReplyTo(ask(group(), { message: [at(), text(' 连接太多')] }));
  });
});

describe('qq adapter over a forward WebSocket: finding a dead connection, waiting for one, and the reconnect backoff', () => {
  let onebot: FakeOneBot;
  /** This test's log lines. */
  let own: RecordedLogs;
  const running: RunningAdapter[] = [];
  const reply = (chat: number, text: string): Delivery => ({
    platform: 'qq',
    chatId: `group:${chat}`,
    replyToMessageId: '9001',
    userId: '10001',
    text,
    kind: 'praise',
    voice: stack.config.chorus.host,
  });
  const sentIn = (chat: number) => onebot.sent.filter((s) => s.groupId === chat);

  /** An adapter on its own fake implementation; the test hands it replies itself, as one attempt of the core would. */
  async function forwardAdapter(opts: Partial<QqOptions>): Promise<GatedCore> {
    const gated = gatedCore(stack.core);
    running.push(await startQqAdapter({ core: gated.core, logger: own.logger, wsUrl: onebot.url, accessToken: onebot.token, ...opts }));
    return gated;
  }

  beforeAll(async () => {
    onebot = await startFakeOneBot();
  });
  beforeEach(() => {
    own = recordLogs();
  });
  afterEach(async () => {
    for (const a of running.splice(0)) await a.stop();
    onebot.answerPings(true);
    onebot.refuseConnections(undefined);
    onebot.dropConnections();
  });
  afterAll(() => onebot?.close());

  it('finds a dead connection by ping: one that stops answering is closed within two ping intervals, and a new one opened after the backoff', async () => {
    const pingMs = 200;
    await forwardAdapter({ pingMs });
    await waitFor(() => onebot.open() === 1 || undefined, 'the connection');
    // Answered pings keep a connection open.
    const pingsBefore = onebot.pings();
    await waitFor(() => onebot.pings() >= pingsBefore + 3 || undefined, 'three pings');
    expect(onebot.open()).toBe(1);
    expect(own.entries('onebot disconnected')).toEqual([]);

    onebot.answerPings(false);
    const silentFrom = performance.now();
    await waitFor(() => own.entries('onebot disconnected').length === 1 || undefined, 'the adapter to drop the silent connection', 10_000);
    const closedAfter = performance.now() - silentFrom;
    onebot.answerPings(true);
    // The next ping goes unanswered, and the one after finds it so: at most two intervals (a loaded machine may be later).
    expect(closedAfter).toBeLessThan(2 * pingMs + 2000);
    const [lost] = own.entries('onebot connection lost, reconnecting');
    expect(lost).toMatchObject({ err: { message: 'connection lost (no answer to a ping)' } });

    const [, again] = await waitFor(() => (own.entries('onebot connected').length === 2 ? own.entries('onebot connected') : undefined), 'a new connection');
    // The real time between the loss and the new connection: the backoff's wait (0.25–0.5 s), not at once.
    expect(lost!.waitMs as number).toBeGreaterThanOrEqual(250);
    expect((again!.time as number) - (lost!.time as number)).toBeGreaterThanOrEqual((lost!.waitMs as number) - 1);
  });

  it('a reply made while the connection is down waits for the next one, through refused tries, and goes out once, not retried', async () => {
    const clock = virtualClock();
    const chat = 515_151;
    const gated = await forwardAdapter({ clock, actionTimeoutMs: 10_000 });
    onebot.refuseConnections(503);
    onebot.dropConnections();
    const lost = await clock.next();
    const delivered = gated.deliver(reply(chat, '断线时写好的夸奖'));
    // Two tries refused (as by an implementation still starting), then one accepted.
    for (let refused = 0; refused < 2; refused++) {
      const tries = onebot.authorizations.length;
      (refused === 0 ? lost : await clock.next()).release();
      await waitFor(() => onebot.authorizations.length > tries || undefined, `refused try ${refused + 1}`);
    }
    onebot.refuseConnections(undefined);
    (await clock.next()).release();
    await delivered;
    expect(sentIn(chat).map(textOf)).toEqual([' 断线时写好的夸奖']);
    expect(own.entries('onebot action failed, retrying')).toEqual([]);
  });

  it('with no connection within onebot.actionTimeoutMs, a send gives up and is tried again after a backoff, then fails for the core to retry', async () => {
    const clock = virtualClock();
    const chat = 525_252;
    const actionTimeoutMs = 500;
    const gated = await forwardAdapter({ clock, actionTimeoutMs, sendAttempts: 2 });
    onebot.refuseConnections(503);
    onebot.dropConnections();
    // Held: no new connection while the reply waits.
    const reconnect = await clock.next();
    const askedAt = performance.now();
    const delivered = gated.deliver(reply(chat, '等不到连接的夸奖'));
    const failed = delivered.then(
      () => 'sent',
      (err: unknown) => err,
    );
    const retry = await clock.next();
    const firstWait = performance.now() - askedAt;
    expect(firstWait).toBeGreaterThanOrEqual(actionTimeoutMs - 1);
    expect(firstWait).toBeLessThan(actionTimeoutMs + 2000);
    expect(own.entries('onebot action failed, retrying')).toMatchObject([{ attempt: 1, err: { name: 'ActionNotSentError' } }]);
    // The send's own backoff: 0.25–0.5 s before attempt 2.
    expect(retry.ms).toBeGreaterThanOrEqual(250);
    expect(retry.ms).toBeLessThanOrEqual(500);
    retry.release();
    const err = await failed;
    expect(err).toBeInstanceOf(ActionNotSentError);
    expect(String(err)).toContain(`no OneBot connection that may send within ${actionTimeoutMs} ms`);
    expect(performance.now() - askedAt).toBeGreaterThanOrEqual(2 * actionTimeoutMs - 1);
    expect(sentIn(chat)).toEqual([]);
    reconnect.release();
  });

  it('reconnects 0.5 s doubling to 30 s apart while the implementation is down, and starts over after a minute connected', async () => {
    const clock = virtualClock();
    await forwardAdapter({ clock });
    onebot.refuseConnections(503);
    onebot.dropConnections();
    const ceilings = [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000];
    let wait = await clock.next();
    for (const [n, ceiling] of ceilings.entries()) {
      expect(wait.ms, `wait ${n}`).toBeGreaterThanOrEqual(ceiling / 2);
      expect(wait.ms, `wait ${n}`).toBeLessThanOrEqual(ceiling);
      const tries = onebot.authorizations.length;
      if (n === ceilings.length - 1) onebot.refuseConnections(undefined);
      wait.release();
      if (n === ceilings.length - 1) break;
      wait = await clock.next();
      // One try per wait, made once the wait was over.
      expect(onebot.authorizations.length, `tries after wait ${n}`).toBe(tries + 1);
    }
    await waitFor(() => onebot.open() === 1 || undefined, 'the connection once the implementation is up');
    expect(clock.now()).toBeGreaterThanOrEqual(ceilings.reduce((sum, c) => sum + c / 2, 0));

    clock.advance(61_000);
    onebot.dropConnections();
    const afterStable = await clock.next();
    expect(afterStable.ms).toBeGreaterThanOrEqual(250);
    expect(afterStable.ms).toBeLessThanOrEqual(500);
  });
});
