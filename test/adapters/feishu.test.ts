import { connect } from 'node:net';
import { EventDispatcher, LoggerLevel, WSClient } from '@larksuiteoapi/node-sdk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCallbackServer } from '../../adapters/feishu/callback.ts';
import { closeServer } from '../../adapters/shared/httpServer.ts';
import { feishuAdapter, feishuOptions } from '../../adapters/feishu/definition.ts';
import { FEISHU_MAX_MESSAGE, startFeishuAdapter } from '../../adapters/feishu/index.ts';
import { sdkLogger } from '../../adapters/feishu/sdkLogger.ts';
import { messageText, resolveMentions, toIncoming, type FeishuMessageEvent } from '../../adapters/feishu/translate.ts';
import { redactor } from '../../adapters/shared/redact.ts';
import { createLogger } from '../../src/logger.ts';
import { withTimeout } from '../../src/timeout.ts';
import { PermanentAdapterError, type Core, type RunningAdapter } from '../../src/adapter.ts';
import type { IncomingMessage } from '../../src/events.ts';
import { encodeFrame, startFakeFeishu, type FakeEnvelope, type FakeFeishu, type FakeFeishuUser, type FakeMessageInput } from '../fakes/feishu.ts';
import { freePort } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { BAD_INPUTS } from './badInput.ts';
import { INDIRECT_DISTRESS, INDIRECT_DISTRESS_TRADITIONAL, traditionalCareReply } from '../helpers/distressPosts.ts';
import { recordingCore, startStack, type Stack } from './stack.ts';

const LONG_HELP = '夸夸使用说明。'.repeat(700); // 4900 characters: two Feishu text messages

let stack: Stack;
let fake: FakeFeishu;
let adapter: RunningAdapter;
/** What the adapter handed to the (real) core, to check how it read each platform message. */
const handed: IncomingMessage[] = [];
let recording: Core;

const idOf = (env: FakeEnvelope) => env.event.message.message_id;
const repliesTo = (env: FakeEnvelope) => fake.replies.filter((r) => r.parentId === idOf(env));
const handedFor = (env: FakeEnvelope) => handed.find((h) => h.messageId === idOf(env));
const logged = (text: string) => stack.logs.filter((l) => l.includes(text));

/** Waits for the reply to `env`, then until nothing is left in the queues that could (wrongly) send a second one. */
async function oneReplyTo(env: FakeEnvelope) {
  await waitFor(() => repliesTo(env).length > 0 || undefined, `a reply to ${idOf(env)}`);
  await stack.idle();
  expect(repliesTo(env)).toHaveLength(1);
  return repliesTo(env)[0]!;
}

/** The core saw the message and ignored it, and nothing was sent back. */
async function ignored(env: FakeEnvelope) {
  expect(await stack.handled(idOf(env))).toBe('ignored');
  await stack.idle();
  expect(repliesTo(env)).toHaveLength(0);
}

/** A core for extra adapters started by single tests: they must not take over the deliveries of the one under test. */
const quietCore = (): Core => ({
  instanceId: 'quiet',
  handle: async () => ({ action: 'ignored', reason: 'invalid' }),
  onDelivery: () => {},
  status: () => stack.core.status(),
  close: async () => {},
});

const say = (m: Partial<FakeMessageInput> & { text: string }) => fake.message({ from: fake.user(), ...m });
let admin: FakeFeishuUser;

beforeAll(async () => {
  fake = await startFakeFeishu();
  admin = fake.user('admin');
  stack = await startStack({
    admins: { feishu: [admin.openId] },
    rateLimit: { chatPerMinute: 0 },
    messages: { help: LONG_HELP },
  });
  recording = recordingCore(stack.core, handed);
  const options = feishuOptions(
    { domain: fake.domain, mode: 'websocket', callback: { host: '127.0.0.1', port: 0, path: '/feishu/events' } },
    { FEISHU_APP_ID: fake.appId, FEISHU_APP_SECRET: fake.appSecret },
  );
  adapter = await startFeishuAdapter({ core: recording, logger: stack.logger, ...options! });
});

afterAll(async () => {
  await adapter?.stop();
  await stack?.close();
  await fake?.close();
});

describe('feishu adapter, end to end through the SDK long connection, Redis, the core and the worker', () => {
  it('gets a tenant token with the app id and secret, reads the bot info, discovers the endpoint and holds the long connection', async () => {
    expect(fake.tokenRequests[0]).toEqual({ appId: fake.appId, accepted: true });
    expect(fake.endpointRequests).toBeGreaterThanOrEqual(1);
    await waitFor(() => fake.connected() || undefined, 'the long connection, pinged by the SDK');
    expect(logged('"feishu adapter started"').join('')).toContain(fake.bot.openId);
  });

  it('answers a mention of the bot once, replying to the message as text, with the mention key removed', async () => {
    const m = fake.envelope({ from: fake.user(), text: '@_user_1 我今天跑完了全马', mentions: [fake.bot] });
    const frame = fake.pushEvent(m);
    const reply = await oneReplyTo(m);
    expect(reply.msgType).toBe('text');
    expect(reply.text.length).toBeGreaterThan(0);
    expect(handedFor(m)).toMatchObject({ platform: 'feishu', mentionsBot: true, isPrivate: false, text: '我今天跑完了全马', chatId: fake.groupChatId });
    // The SDK acknowledged the event frame with code 200.
    expect(await waitFor(() => fake.acks.get(frame), 'the ack of the event frame')).toMatchObject({ code: 200 });
  });

  it('lets only admins (by open_id) use admin commands', async () => {
    const chatId = `oc_admin_${Date.now()}`;
    const refused = await oneReplyTo(say({ text: '/kuakua_off', chatId }));
    expect(refused.text).toContain(stack.config.messages.notAdmin);
    const off = await oneReplyTo(say({ text: '/kuakua_off', chatId, from: admin }));
    expect(off.text).toContain(stack.config.messages.disabled);
    await ignored(say({ text: '@_user_1 求夸 没人理我', chatId, mentions: [fake.bot] }));
    expect((await oneReplyTo(say({ text: '/kuakua_on', chatId, from: admin }))).text).toContain(stack.config.messages.enabled);
  });

  it('answers a 求夸 that hides distress in words no pattern lists with the care reply, in the script it was written in', async () => {
    expect((await oneReplyTo(say({ text: INDIRECT_DISTRESS }))).text).toBe(stack.config.distress.reply);
    expect((await oneReplyTo(say({ text: INDIRECT_DISTRESS_TRADITIONAL }))).text).toBe(await traditionalCareReply(stack.config.distress));
  });

  it('ignores a group message without a mention or trigger word', async () => {
    await ignored(say({ text: '今天天气不错' }));
  });

  it('ignores a mention of someone else, and resolves it to @name', async () => {
    const bob = fake.user('bob');
    const m = say({ text: '@_user_1 你看这个', mentions: [bob] });
    await ignored(m);
    expect(handedFor(m)).toMatchObject({ mentionsBot: false, text: '@bob 你看这个' });
  });

  it('praises a friend @-mentioned in the chat by name; refuses someone who is not a member of it', async () => {
    const chatId = `oc_friends_${Date.now()}`;
    const ming = fake.user('小明');
    fake.join(chatId, ming);
    const praised = say({ text: '夸夸 @_user_1 他今天答辩过了', chatId, mentions: [ming] });
    expect((await oneReplyTo(praised)).text).toMatch(/^小明，/);
    expect(handedFor(praised)).toMatchObject({ friend: { userId: ming.openId, name: '小明', inChat: true }, mentionTexts: ['@小明'] });
    const stranger = fake.user('路人');
    expect((await oneReplyTo(say({ text: '夸夸 @_user_1 他很棒', chatId, mentions: [stranger] }))).text).toBe(stack.config.messages.friendNotInChat);
  });

  it('does not take the text "@kuakua" without a mentions entry for a mention (spoofing)', async () => {
    const m = say({ text: '@kuakua 你看这个' });
    await ignored(m);
    expect(handedFor(m)).toMatchObject({ mentionsBot: false, text: '@kuakua 你看这个' });
    // A mention key in the text without its entry is no mention either.
    const key = say({ text: '@_user_1 你看这个' });
    await ignored(key);
    expect(handedFor(key)).toMatchObject({ mentionsBot: false });
  });

  it('answers a p2p message without mention or trigger word', async () => {
    const m = say({ text: '我今天按时起床了', p2p: true });
    await oneReplyTo(m);
    expect(handedFor(m)).toMatchObject({ isPrivate: true });
  });

  it('answers an event delivered twice (same event_id) once', async () => {
    const env = fake.envelope({ from: fake.user(), text: '求夸 我重复了' });
    fake.pushEvent(env);
    fake.pushEvent(env);
    await waitFor(() => logged('duplicate feishu event dropped').some((l) => l.includes(env.header.event_id!)) || undefined, 'the duplicate to be dropped');
    await oneReplyTo(env);
  });

  it('ignores messages from apps and from the bot itself, even with a trigger word', async () => {
    const app = say({ text: '求夸 我是机器人', senderType: 'app' });
    const self = fake.message({ from: fake.bot, text: '求夸 我是夸夸' });
    // Both reach the core marked as a bot's, and the core ignores them.
    expect(await stack.handled(idOf(app))).toBe('ignored');
    expect(await stack.handled(idOf(self))).toBe('ignored');
    await stack.idle();
    expect(repliesTo(app)).toHaveLength(0);
    expect(repliesTo(self)).toHaveLength(0);
  });

  it('answers a reply to one of its own messages', async () => {
    const first = await oneReplyTo(say({ text: '夸我 我学会了游泳' }));
    const thanks = say({ text: '谢谢！', parentId: first.messageId });
    await oneReplyTo(thanks);
    expect(handedFor(thanks)).toMatchObject({ repliesToBot: true, mentionsBot: false });
  });

  it('reads rich text (post) messages, with their @ elements as mentions', async () => {
    const content = JSON.stringify({
      title: '',
      content: [
        [
          { tag: 'at', user_id: '@_user_1', user_name: 'kuakua' },
          { tag: 'text', text: ' 我写完了论文' },
        ],
      ],
    });
    const m = say({ text: '', content, messageType: 'post', mentions: [fake.bot] });
    await oneReplyTo(m);
    expect(handedFor(m)).toMatchObject({ mentionsBot: true, text: '我写完了论文' });
  });

  it(`splits a long reply at ${FEISHU_MAX_MESSAGE} characters`, async () => {
    const m = say({ text: '/kuakua_help' });
    await waitFor(() => repliesTo(m).length >= 2 || undefined, 'both parts of the help text');
    await stack.idle();
    const parts = repliesTo(m);
    expect(parts).toHaveLength(2);
    expect(parts.map((p) => p.text).join('')).toBe(LONG_HELP);
    expect(parts.every((p) => p.text.length <= FEISHU_MAX_MESSAGE)).toBe(true);
  });

  it('waits out a frequency limit (429, code 99991400) and then replies once', async () => {
    fake.rateLimitReplies(1);
    await oneReplyTo(say({ text: '求夸 我被限流了' }));
    expect(logged('feishu reply failed, retrying').length).toBeGreaterThan(0);
  });

  it('survives malformed frames and unknown or malformed events, and answers the next message', async () => {
    fake.pushRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    fake.pushRaw(
      encodeFrame({
        SeqID: 1,
        LogID: 1,
        service: 1,
        method: 1,
        headers: [
          { key: 'type', value: 'event' },
          { key: 'sum', value: 'x' },
        ],
      }),
    );
    const notJson = fake.pushEvent('{"schema": "2.0", "header": ');
    const unknown = fake.pushEvent({ schema: '2.0', header: { event_id: 'e-unknown', event_type: 'im.chat.disbanded_v1' }, event: {} });
    fake.pushEvent({ schema: '2.0', header: { event_id: 'e-broken', event_type: 'im.message.receive_v1' }, event: { message: { chat_id: 3 } } });
    const badContent = say({ text: '', content: '{"text": ', mentions: [fake.bot] });
    const image = say({ text: '', content: JSON.stringify({ image_key: 'img_v2_x' }), messageType: 'image', mentions: [fake.bot] });
    await oneReplyTo(say({ text: '求夸 我还在', p2p: true }));
    await waitFor(() => fake.acks.has(unknown) || undefined, 'the unknown event acknowledged');
    expect(fake.acks.has(notJson)).toBe(false);
    expect(logged('malformed feishu message event').length).toBeGreaterThan(0);
    expect(logged('malformed feishu message content').length).toBeGreaterThan(0);
    // The SDK says why it dropped each broken frame: the undecodable one, the one with bad fragment headers, the cut JSON.
    expect(logged('failed to handle inbound frame: invalid wire type').length).toBe(1);
    expect(logged('failed to merge event fragments, message_id: undefined').some((l) => l.includes('invalid event fragment metadata'))).toBe(true);
    expect(logged(`failed to merge event fragments, message_id: ${notJson}`).length).toBe(1);
    await waitFor(() => logged('"feishu message without text skipped"').some((l) => l.includes(idOf(image))) || undefined, 'the image skipped');
    expect(repliesTo(badContent)).toHaveLength(0);
  });

  it.each(BAD_INPUTS)('survives bad input: %s', async (_name, text) => {
    await oneReplyTo(say({ text, p2p: true }));
    await oneReplyTo(say({ text: '求夸', p2p: true }));
  });

  it('reconnects after the long connection drops and discovery is refused for a while, and answers afterwards', async () => {
    const before = fake.connections;
    fake.dropConnection(1500);
    await waitFor(() => (fake.connections > before && fake.connected()) || undefined, 'a new long connection', 30_000);
    expect(logged('feishu long connection lost, reconnecting').length).toBeGreaterThan(0);
    await oneReplyTo(say({ text: '求夸 网络恢复了' }));
  });

  it('reports a fault to its supervisor when the SDK gives up reconnecting', async () => {
    const strict = await startFakeFeishu({ reconnectCount: 1, reconnectIntervalS: 0.2 });
    const reported: unknown[] = [];
    const faults = { fault: (err: unknown) => void reported.push(err), warn: () => {} };
    const running = await startFeishuAdapter({
      core: quietCore(),
      logger: stack.logger,
      faults,
      appId: strict.appId,
      appSecret: strict.appSecret,
      domain: strict.domain,
    });
    try {
      strict.dropConnection(60_000);
      const [err] = await waitFor(() => (reported.length > 0 ? reported : undefined), 'a fault report');
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(PermanentAdapterError);
      expect((err as Error).message).toMatch(/feishu long connection gave up: WebSocket reconnect exhausted/);
    } finally {
      await running.stop();
      await strict.close();
    }
  });

  it('fails clearly, and for good, when the app secret or app id is rejected', async () => {
    const wrong = startFeishuAdapter({ core: quietCore(), logger: stack.logger, appId: fake.appId, appSecret: 'wrong-secret-value', domain: fake.domain });
    await expect(wrong).rejects.toThrow(PermanentAdapterError);
    await expect(wrong).rejects.toThrow('Feishu rejected FEISHU_APP_ID / FEISHU_APP_SECRET (code 10014: app secret invalid)');
    await expect(
      startFeishuAdapter({ core: quietCore(), logger: stack.logger, appId: 'cli_123', appSecret: fake.appSecret, domain: fake.domain }),
    ).rejects.toThrow(/FEISHU_APP_ID must be/);
  });

  it('fails clearly when the long connection does not open in time, with no unhandled rejection', async () => {
    const stalled = await startFakeFeishu({ stallDiscovery: true });
    const unhandled: unknown[] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const onUnhandled = (reason: unknown) => {
      unhandled.push(reason);
      release();
    };
    process.on('unhandledRejection', onUnhandled);
    // This SDK version returns from start() before the connection is up; others wait for it (up to the discovery and
    // handshake timeouts). Such a start() is held here until the test ends, or until a rejection went unhandled.
    const start = WSClient.prototype.start;
    const slowStart = vi.spyOn(WSClient.prototype, 'start').mockImplementation(async function (this: WSClient, params) {
      await start.call(this, params);
      await held;
    });
    try {
      const err: unknown = await startFeishuAdapter({
        core: quietCore(),
        logger: stack.logger,
        appId: stalled.appId,
        appSecret: stalled.appSecret,
        domain: stalled.domain,
        connectTimeoutMs: 300,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(PermanentAdapterError);
      expect((err as Error).message).toBe('feishu long connection did not open within 300 ms');
      expect(unhandled).toEqual([]);
      await waitFor(() => stalled.endpointRequests > 0 || undefined, 'the stalled endpoint discovery');
    } finally {
      release();
      slowStart.mockRestore();
      process.off('unhandledRejection', onUnhandled);
      await stalled.close();
    }
  });

  it('says why when the platform cannot be reached at start, so the supervisor retries', async () => {
    const port = await freePort();
    const down = startFeishuAdapter({
      core: quietCore(),
      logger: stack.logger,
      appId: fake.appId,
      appSecret: fake.appSecret,
      domain: `http://127.0.0.1:${port}`,
    });
    const err: unknown = await down.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(PermanentAdapterError);
    expect((err as Error).message).toMatch(/Feishu bot info request failed: .*ECONNREFUSED/);
  });
});

describe('feishu adapter in callback mode (HTTP event callbacks)', () => {
  const encryptKey = 'encrypt-key-for-tests';
  let url: string;
  let callbackAdapter: RunningAdapter;

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}/feishu/events`;
    const options = feishuOptions(
      { domain: fake.domain, mode: 'callback', callback: { host: '127.0.0.1', port, path: '/feishu/events' } },
      {
        FEISHU_APP_ID: fake.appId,
        FEISHU_APP_SECRET: fake.appSecret,
        FEISHU_VERIFICATION_TOKEN: fake.verificationToken,
        FEISHU_ENCRYPT_KEY: encryptKey,
      },
    );
    callbackAdapter = await startFeishuAdapter({ core: recording, logger: stack.logger, ...options! });
  });

  afterAll(async () => {
    await callbackAdapter?.stop();
  });

  const auth = () => ({ verificationToken: fake.verificationToken, encryptKey });

  it('answers the URL verification challenge only with the right token', async () => {
    const ok = await fake.postCallback(url, { challenge: 'abc123', token: fake.verificationToken, type: 'url_verification' }, auth());
    expect(ok).toEqual({ status: 200, body: JSON.stringify({ challenge: 'abc123' }) });
    const forged = await fake.postCallback(url, { challenge: 'abc123', token: 'not-the-token', type: 'url_verification' }, auth());
    expect(forged.status).toBe(401);
  });

  it('takes a signed, encrypted event and answers it', async () => {
    const env = fake.envelope({ from: fake.user(), text: '@_user_1 我升职了', mentions: [fake.bot] });
    expect((await fake.postCallback(url, env, auth())).status).toBe(200);
    await oneReplyTo(env);
    expect(handedFor(env)).toMatchObject({ mentionsBot: true, text: '我升职了' });
  });

  it('refuses a bad signature, a wrong token, an unencrypted body, a huge body and malformed JSON', async () => {
    const forged = (over: Record<string, string> = {}) => {
      const env = fake.envelope({ from: fake.user(), text: '求夸 我是伪造的' });
      Object.assign(env.header, over);
      return env;
    };
    const badSignature = forged();
    expect((await fake.postCallback(url, badSignature, { ...auth(), tamper: 'signature' })).status).toBe(401);
    const badToken = forged({ token: 'not-the-token' });
    expect((await fake.postCallback(url, badToken, auth())).status).toBe(401);
    const plain = forged();
    expect((await fake.postCallback(url, plain, { ...auth(), tamper: 'plain' })).status).toBe(401);
    const tooLarge = () => logged('"feishu callback rejected"').filter((l) => l.includes('"reason":"too-large"')).length;
    const tooLargeBefore = tooLarge();
    const json = { 'content-type': 'application/json' };
    const huge = await fetch(url, { method: 'POST', headers: json, body: 'x'.repeat(2_000_000) }).then(
      (res) => res.status,
      // The listener may close before the client has read its 413: then only its log shows it refused for size.
      (err: unknown) => (tooLarge() > tooLargeBefore ? 413 : err),
    );
    expect(huge).toBe(413);
    expect((await fetch(url, { method: 'POST', headers: json, body: '{"encrypt": ' })).status).toBe(400);
    expect((await fetch(url, { method: 'GET' })).status).toBe(405);
    // The listener may answer 413 or cut the upload short; either way it says why.
    for (const reason of ['bad-signature', 'bad-token', 'unencrypted', 'malformed', 'too-large']) {
      expect(logged('"feishu callback rejected"').some((l) => l.includes(`"reason":"${reason}"`))).toBe(true);
    }
    const after = fake.envelope({ from: fake.user(), text: '求夸 真的', p2p: true });
    expect((await fake.postCallback(url, after, auth())).status).toBe(200);
    await oneReplyTo(after);
    for (const env of [badSignature, badToken, plain]) expect(handedFor(env)).toBeUndefined();
  });
  it('refuses a signed callback whose timestamp is more than 5 minutes off, either way, and takes one inside the window', async () => {
    const now = Math.floor(Date.now() / 1000);
    const early = fake.envelope({ from: fake.user(), text: '求夸 来自过去', p2p: true });
    const late = fake.envelope({ from: fake.user(), text: '求夸 来自未来', p2p: true });
    expect((await fake.postCallback(url, early, { ...auth(), timestamp: String(now - 301) })).status).toBe(401);
    expect((await fake.postCallback(url, late, { ...auth(), timestamp: String(now + 301) })).status).toBe(401);
    expect((await fake.postCallback(url, late, { ...auth(), timestamp: 'yesterday' })).status).toBe(401);
    expect(logged('"feishu callback rejected"').some((l) => l.includes('"reason":"stale"'))).toBe(true);
    const inside = fake.envelope({ from: fake.user(), text: '求夸 四分钟前', p2p: true });
    expect((await fake.postCallback(url, inside, { ...auth(), timestamp: String(now - 240) })).status).toBe(200);
    await oneReplyTo(inside);
    for (const env of [early, late]) expect(handedFor(env)).toBeUndefined();
  });

  it('refuses a nonce it has already taken inside the window: a replayed callback, or another event under it', async () => {
    const nonce = `nonce-${Date.now()}`;
    const first = fake.envelope({ from: fake.user(), text: '求夸 只算一次', p2p: true });
    const timestamp = String(Math.floor(Date.now() / 1000));
    expect((await fake.postCallback(url, first, { ...auth(), timestamp, nonce })).status).toBe(200);
    expect((await fake.postCallback(url, first, { ...auth(), timestamp, nonce })).status).toBe(401);
    const other = fake.envelope({ from: fake.user(), text: '求夸 借用暗号', p2p: true });
    expect((await fake.postCallback(url, other, { ...auth(), nonce })).status).toBe(401);
    expect(logged('"feishu callback rejected"').some((l) => l.includes('"reason":"replayed"'))).toBe(true);
    await oneReplyTo(first);
    expect(handedFor(other)).toBeUndefined();
  });

  it('warns at start without an encrypt key, and refuses callback mode off loopback without one', async () => {
    const base = { core: quietCore(), logger: stack.logger, appId: fake.appId, appSecret: fake.appSecret, domain: fake.domain };
    const callback = async (host: string) => ({ host, port: await freePort(), path: '/feishu/events', verificationToken: fake.verificationToken });
    const refused: unknown = await startFeishuAdapter({ ...base, callback: await callback('0.0.0.0') }).then(
      (running) => running.stop(),
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(PermanentAdapterError);
    expect((refused as Error).message).toBe(
      'feishu callback mode on 0.0.0.0 needs FEISHU_ENCRYPT_KEY: without it callbacks are not signed, and anyone who reaches the port can post events (set an Encrypt Key in the developer console, or listen on 127.0.0.1)',
    );
    const local = await startFeishuAdapter({ ...base, callback: await callback('127.0.0.1') });
    await local.stop();
    expect(logged('feishu callbacks are not signed: set FEISHU_ENCRYPT_KEY').length).toBe(1);
  });
});

describe('feishu callback server', () => {
  const dispatcher = new EventDispatcher({ loggerLevel: LoggerLevel.error });
  const options = async () => ({ host: '127.0.0.1', port: await freePort(), path: '/feishu/events', verificationToken: 'vt-callback-server' });

  it('stops promptly though a client holds a half-sent callback open, and frees its port at once', async () => {
    const opts = await options();
    const hooks = { onRejected: () => {}, onError: () => {} };
    const server = await startCallbackServer(opts, dispatcher, hooks);
    const arrived = new Promise((resolve) => server.once('request', resolve));
    const client = connect(opts.port, opts.host);
    client.on('error', () => {});
    const cut = new Promise((resolve) => client.once('close', resolve));
    client.write(`POST ${opts.path} HTTP/1.1\r\nhost: ${opts.host}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"schema":`);
    await arrived;
    // The supervisor waits 10 s for a stop; without cutting connections this one would wait for the request timeout.
    await withTimeout(closeServer(server), 5_000);
    await cut;
    const again = await startCallbackServer(opts, dispatcher, hooks);
    await closeServer(again);
  });

  it('reports every server error after it listens, not only the first', async () => {
    const errors: unknown[] = [];
    const server = await startCallbackServer(await options(), dispatcher, { onRejected: () => {}, onError: (err) => void errors.push(err) });
    try {
      server.emit('error', new Error('first'));
      server.emit('error', new Error('second'));
      expect(errors.map((e) => (e as Error).message)).toEqual(['first', 'second']);
    } finally {
      await closeServer(server);
    }
  });
});

describe('feishu definition and translation', () => {
  const me = { openId: 'ou_bot', name: 'kuakua' };
  const event = (message: Partial<FeishuMessageEvent['message']>, sender: Partial<FeishuMessageEvent['sender']> = {}): FeishuMessageEvent => ({
    event_id: 'e1',
    sender: { sender_id: { open_id: 'ou_alice' }, sender_type: 'user', ...sender },
    message: { message_id: 'om_1', chat_id: 'oc_1', chat_type: 'group', message_type: 'text', content: '{"text":"hi"}', ...message },
  });

  it('is off without app id and secret, takes the domain and mode from its config section, and needs no secret in the config', () => {
    const section = { domain: 'feishu', mode: 'websocket' as const, callback: { host: '127.0.0.1', port: 8790, path: '/feishu/events' } };
    expect(feishuOptions(section, {})).toBeUndefined();
    expect(feishuOptions(section, { FEISHU_APP_ID: 'cli_0123456789abcdef' })).toBeUndefined();
    expect(feishuOptions(section, { FEISHU_APP_ID: 'cli_0123456789abcdef', FEISHU_APP_SECRET: 's3cret' })).toEqual({
      appId: 'cli_0123456789abcdef',
      appSecret: 's3cret',
      domain: 'feishu',
    });
    const lark = feishuOptions(
      { ...section, domain: 'lark', mode: 'callback' },
      { FEISHU_APP_ID: 'a', FEISHU_APP_SECRET: 'b', FEISHU_VERIFICATION_TOKEN: 'vt' },
    );
    expect(lark).toMatchObject({ domain: 'lark', callback: { port: 8790, path: '/feishu/events', verificationToken: 'vt' } });
    expect(feishuAdapter.config.safeParse({ ...section, domain: 'ftp://x' }).success).toBe(false);
    expect(() => feishuOptions({ ...section, mode: 'callback' }, { FEISHU_APP_ID: 'a', FEISHU_APP_SECRET: 'b' })).toThrow(
      'feishu.mode callback needs FEISHU_VERIFICATION_TOKEN',
    );
    expect(feishuAdapter.config.safeParse(section).success).toBe(true);
    expect(feishuAdapter.secretEnv).toEqual(['FEISHU_APP_SECRET', 'FEISHU_VERIFICATION_TOKEN', 'FEISHU_ENCRYPT_KEY']);
  });

  it('claims uncaught errors from the SDK, axios and ws, and no others', () => {
    expect(feishuAdapter.sdk.test('at WSClient.connect (/app/node_modules/@larksuiteoapi/node-sdk/lib/index.js:1:1)')).toBe(true);
    expect(feishuAdapter.sdk.test('at settle (/app/node_modules/axios/lib/core/settle.js:19:12)')).toBe(true);
    expect(feishuAdapter.sdk.test('at WebSocket.emit (/app/node_modules/ws/lib/websocket.js:1:1)')).toBe(true);
    expect(feishuAdapter.sdk.test('at handle (/app/src/core.ts:1:1)')).toBe(false);
  });

  it('reads text and rich text, and nothing else', () => {
    expect(messageText('text', '{"text":"@_user_1 求夸"}')).toBe('@_user_1 求夸');
    const post = {
      title: '标题',
      content: [
        [
          { tag: 'text', text: '第一行 ' },
          { tag: 'a', text: '链接', href: 'https://x' },
        ],
        [
          { tag: 'at', user_id: '@_user_1' },
          { tag: 'img', image_key: 'k' },
        ],
      ],
    };
    expect(messageText('post', JSON.stringify(post))).toBe('标题\n第一行 链接\n@_user_1');
    expect(messageText('post', JSON.stringify({ zh_cn: post }))).toBe('标题\n第一行 链接\n@_user_1');
    expect(messageText('image', '{"image_key":"k"}')).toBeNull();
    expect(() => messageText('text', '{"text": 3}')).toThrow();
    expect(() => messageText('text', 'not json')).toThrow();
  });

  it('counts only a mentions entry with the bot open_id whose key is in the text', () => {
    const bot = { key: '@_user_1', id: { open_id: 'ou_bot' }, name: 'kuakua' };
    const bob = { key: '@_user_12', id: { open_id: 'ou_bob' }, name: 'bob' };
    expect(resolveMentions('@_user_1 求夸 @_user_12', [bot, bob], me)).toEqual({ text: '求夸 @bob', mentionsBot: true });
    expect(resolveMentions('@_user_12 求夸', [bot, bob], me)).toEqual({ text: '@bob 求夸', mentionsBot: false });
    expect(resolveMentions('@kuakua 求夸', [], me)).toEqual({ text: '@kuakua 求夸', mentionsBot: false });
    expect(resolveMentions('求夸', [bot], me)).toEqual({ text: '求夸', mentionsBot: false });
    expect(resolveMentions('@_user_1 hi', [{ ...bot, id: {} }], me).mentionsBot).toBe(false);
  });

  it('translates chat type, sender kind, replies and time', () => {
    expect(toIncoming(event({ chat_type: 'p2p', create_time: '1700000000000' }), me, () => false)).toMatchObject({
      platform: 'feishu',
      chatId: 'oc_1',
      messageId: 'om_1',
      userId: 'ou_alice',
      text: 'hi',
      isPrivate: true,
      fromBot: false,
      repliesToBot: false,
      sentAt: 1700000000000,
    });
    expect(toIncoming(event({}, { sender_type: 'app' }), me, () => false)?.fromBot).toBe(true);
    expect(toIncoming(event({}, { sender_id: { open_id: 'ou_bot' } }), me, () => false)?.fromBot).toBe(true);
    expect(toIncoming(event({ parent_id: 'om_mine' }), me, (id) => id === 'om_mine')?.repliesToBot).toBe(true);
    expect(toIncoming(event({ message_type: 'sticker', content: '{}' }), me, () => false)).toBeNull();
  });
});

describe('feishu secrets', () => {
  it("routes the SDK's log calls into ours without request bodies, and redacts secrets from what it keeps", () => {
    const lines: string[] = [];
    const log = sdkLogger(createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(l) } }), redactor('s3cret-value'));
    const axiosLike = Object.assign(new Error('token request for s3cret-value failed'), { config: { data: '{"app_secret":"s3cret-value"}' } });
    // The SDK's LoggerProxy hands over its arguments as one array; formatErrors() adds plain objects.
    log.error([axiosLike]);
    log.error([
      [
        { message: 'Request failed with status code 400', config: { data: { app_secret: 's3cret-value' } } },
        { code: 10014, msg: 'app secret invalid' },
      ],
    ]);
    log.info(['client ready']);
    const all = lines.join('');
    expect(all).not.toContain('s3cret-value');
    expect(all).not.toContain('app_secret');
    expect(lines.map((l) => JSON.parse(l) as { level: number; msg: string })).toEqual([
      expect.objectContaining({ level: 40, msg: 'feishu sdk: Error: token request for [REDACTED] failed' }),
      expect.objectContaining({ level: 40, msg: 'feishu sdk: Request failed with status code 400 code 10014 app secret invalid' }),
      expect.objectContaining({ level: 20, msg: 'feishu sdk: client ready' }),
    ]);
  });

  it('never logs the app secret, verification token or encrypt key, though the SDK logged the rejected token request', () => {
    const all = stack.logs.join('\n');
    expect(all).toContain('feishu adapter started');
    expect(logged('feishu sdk:').some((l) => l.includes('400'))).toBe(true);
    expect(all).not.toContain(fake.appSecret);
    expect(all).not.toContain(fake.verificationToken);
    expect(all).not.toContain('encrypt-key-for-tests');
    expect(all).not.toContain('wrong-secret-value');
  });
});
