import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dingtalkAdapter } from '../../adapters/dingtalk/definition.ts';
import { DINGTALK_MAX_TEXT } from '../../adapters/dingtalk/index.ts';
import type { DingtalkOptions } from '../../adapters/dingtalk/options.ts';
import { supervise } from '../../adapters/shared/supervise.ts';
import { PermanentAdapterError, type Core, type RunningAdapter } from '../../src/adapter.ts';
import type { IncomingMessage } from '../../src/events.ts';
import { startFakeDingtalk, type FakeDingtalk, type FakeFrame, type FakeReply } from '../fakes/dingtalk.ts';
import { freePort } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { askedPost, BAD_INPUTS, expectedPost } from './badInput.ts';
import { INDIRECT_DISTRESS, INDIRECT_DISTRESS_TRADITIONAL, traditionalCareReply } from '../helpers/distressPosts.ts';
import { gatedCore, recordingCore, startStack, type GatedCore, type Stack } from './stack.ts';

const ADMIN = 'manager4242';
const LONG_HELP = '夸夸使用说明。'.repeat(1500); // 10 500 characters: three DingTalk messages
const ROBOT_TOPIC = '/v1.0/im/bot/messages/get';

let stack: Stack;
let fake: FakeDingtalk;
let adapter: RunningAdapter;
/** The core the adapter under test runs with: recording what it hands over, deliveries held back on demand. */
let gated: GatedCore;
/** What the adapter handed to the (real) core, to check how it read each DingTalk message. */
const handed: IncomingMessage[] = [];
/** Everything written through console while the adapter ran: the SDK's own output channel. */
const consoleLines: string[] = [];

type Sent = ReturnType<FakeDingtalk['robotMessage']>;

const options = (over: Partial<DingtalkOptions> = {}): DingtalkOptions => ({
  ...dingtalkAdapter.options(
    { gatewayUrl: fake.gatewayUrl, webhookOrigins: [fake.origin] },
    { DINGTALK_CLIENT_ID: fake.clientId, DINGTALK_CLIENT_SECRET: fake.clientSecret },
  )!,
  ...over,
});
/** The core for a second adapter: it must not take over the deliveries the core sends the main one. */
const noDeliveries = (): Core => ({
  instanceId: stack.core.instanceId,
  handle: (m) => stack.core.handle(m),
  status: () => stack.core.status(),
  close: async () => {},
  onDelivery: () => {},
});
const handedFor = (s: Sent) => handed.find((h) => h.messageId === s.message.msgId);
const logLine = (messageId: string, msg: string) => stack.logs.find((l) => l.includes(msg) && l.includes(messageId));

/** Waits for the reply to `s`, then until nothing is left in the queues that could (wrongly) send a second one. */
async function oneReplyTo(s: Sent): Promise<FakeReply> {
  const [reply] = await waitFor(
    () => (fake.repliesTo(s.session).length > 0 ? fake.repliesTo(s.session) : undefined),
    `a reply to "${s.message.text?.content.slice(0, 30)}"`,
  );
  await stack.idle();
  expect(fake.repliesTo(s.session)).toHaveLength(1);
  return reply!;
}

/** The core decided to ignore it, and nothing was posted to its webhook. */
async function ignored(s: Sent): Promise<void> {
  expect(await stack.handled(s.message.msgId)).toBe('ignored');
  await stack.idle();
  expect(fake.repliesTo(s.session)).toHaveLength(0);
}

/** Waits for the ack of frame `messageId`, in the SDK's ack format. */
async function acked(messageId: string): Promise<void> {
  const [ack] = await waitFor(() => (fake.acksFor(messageId).length > 0 ? fake.acksFor(messageId) : undefined), `the ack of ${messageId}`);
  expect(ack).toMatchObject({ code: 200, headers: { contentType: 'application/json', messageId }, message: 'OK' });
}

const callback = (topic: string, data: string): FakeFrame => ({
  specVersion: '1.0',
  type: 'CALLBACK',
  headers: { contentType: 'application/json', messageId: `frame-${Math.random().toString(36).slice(2)}`, time: String(Date.now()), topic },
  data,
});

beforeAll(async () => {
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[level].bind(console);
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      consoleLines.push(args.map(String).join(' '));
      original(...args);
    });
  }
  fake = await startFakeDingtalk();
  stack = await startStack({
    admins: { telegram: [], discord: [], wechat: [], web: [], dingtalk: [ADMIN] },
    rateLimit: { chatPerMinute: 0 },
    messages: { help: LONG_HELP },
    // Every candidate of the tiny random model acceptable, so that a chorus has its replies.
    model: { candidates: 8, maxNewTokens: 8 },
    policy: { minScore: -100, minScoreOverFrame: -100 },
    chorus: { gapMs: 200 },
  });
  gated = gatedCore(recordingCore(stack.core, handed));
  adapter = await dingtalkAdapter.start({ core: gated.core, logger: stack.logger }, options());
});

afterAll(async () => {
  // A delivery still held (by a failed test) would keep the core from closing.
  gated?.release();
  await adapter?.stop();
  await stack?.close();
  await fake?.close();
  vi.restoreAllMocks();
});

describe('dingtalk adapter, end to end through dingtalk-stream, Redis, the core and the worker', () => {
  it('is on only with both DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET, and reads the gateway from its config section', () => {
    const section = { gatewayUrl: 'https://api.dingtalk.com/v1.0/gateway/connections/open', webhookOrigins: ['https://oapi.dingtalk.com'] };
    expect(dingtalkAdapter.options(section, {})).toBeUndefined();
    expect(dingtalkAdapter.options(section, { DINGTALK_CLIENT_ID: 'dingabc' })).toBeUndefined();
    expect(dingtalkAdapter.options(section, { DINGTALK_CLIENT_SECRET: 'secret' })).toBeUndefined();
    expect(
      dingtalkAdapter.options({ ...section, gatewayUrl: 'http://127.0.0.1:1/open' }, { DINGTALK_CLIENT_ID: ' dingabc ', DINGTALK_CLIENT_SECRET: ' s3cret ' }),
    ).toEqual({
      clientId: 'dingabc',
      clientSecret: 's3cret',
      gatewayUrl: 'http://127.0.0.1:1/open',
      webhookOrigins: ['https://oapi.dingtalk.com'],
    });
    expect(dingtalkAdapter.secretEnv).toEqual(['DINGTALK_CLIENT_SECRET']);
    expect(dingtalkAdapter.sdk.test('/app/node_modules/dingtalk-stream/dist/client.mjs:150:10')).toBe(true);
    expect(dingtalkAdapter.sdk.test('/app/node_modules/ws/lib/websocket.js:1:1')).toBe(true);
    expect(dingtalkAdapter.sdk.test('/app/adapters/dingtalk/stream.ts:1:1')).toBe(false);
  });

  it('opens the stream at the configured gateway, subscribed to robot messages only', () => {
    expect(fake.opens[0]).toMatchObject({
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      subscriptions: [{ type: 'CALLBACK', topic: ROBOT_TOPIC }],
    });
    expect(fake.connected()).toBe(true);
  });

  it('answers a group @ once, through the sessionWebhook, with an @ of the sender in the text and in at.atUserIds', async () => {
    const s = fake.robotMessage({ text: ' 我今天跑完了全马', staffId: 'alice01' });
    const reply = await oneReplyTo(s);
    expect(reply.body.msgtype).toBe('text');
    expect(reply.body.at).toEqual({ atUserIds: ['alice01'] });
    expect(reply.body.text?.content).toMatch(/^@alice01 \S/);
    expect(handedFor(s)).toMatchObject({ chatId: s.message.conversationId, userId: 'alice01', mentionsBot: true, isPrivate: false, text: '我今天跑完了全马' });
  });

  it('answers a 求夸 that hides distress in words no pattern lists with the care reply, in the script it was written in', async () => {
    const simplified = await oneReplyTo(fake.robotMessage({ text: ` ${INDIRECT_DISTRESS}`, staffId: 'quiet01' }));
    expect(simplified.body.text?.content).toContain(stack.config.distress.reply);
    const traditional = await oneReplyTo(fake.robotMessage({ text: ` ${INDIRECT_DISTRESS_TRADITIONAL}`, staffId: 'quiet02' }));
    expect(traditional.body.text?.content).toContain(await traditionalCareReply(stack.config.distress));
  });

  it('answers a private chat', async () => {
    const s = fake.robotMessage({ text: '我今天按时起床了', group: false, staffId: 'bob02' });
    const reply = await oneReplyTo(s);
    expect(reply.body.at).toEqual({ atUserIds: ['bob02'] });
    expect(handedFor(s)).toMatchObject({ isPrivate: true, mentionsBot: false });
  });

  it('answers someone from outside the organisation (no senderStaffId) without an @', async () => {
    const s = fake.robotMessage({ text: '求夸 我是外部联系人', staffId: null });
    const reply = await oneReplyTo(s);
    expect(reply.body.at).toBeUndefined();
    expect(handedFor(s)?.userId).toBe(s.message.senderId);
  });

  it('does not take "@kuakua" typed in the text of a group message DingTalk says is not an @ of the robot as a mention', async () => {
    const s = fake.robotMessage({ text: '@kuakua 今天天气不错', over: { isInAtList: false } });
    await ignored(s);
    expect(handedFor(s)).toMatchObject({ mentionsBot: false });
  });

  it('answers a redelivered message once (same frame, or a new frame with the same msgId), and acknowledges every delivery', async () => {
    const s = fake.robotMessage({ text: '求夸 我收到了三次' });
    fake.push(s.frame);
    const again = { ...s.frame, headers: { ...s.frame.headers, messageId: `${s.frame.headers.messageId}-retry` } };
    fake.push(again);
    await oneReplyTo(s);
    await waitFor(() => fake.acksFor(s.frame.headers.messageId!).length === 2 || undefined, 'both acks of the first frame');
    await acked(again.headers.messageId!);
    expect(handed.filter((h) => h.messageId === s.message.msgId)).toHaveLength(1);
  });

  it('acknowledges every callback: answered, ignored, non-text, malformed data and unknown topics', async () => {
    const answered = fake.robotMessage({ text: '求夸 被确认的消息' });
    const spoof = fake.robotMessage({ text: '今天天气不错', over: { isInAtList: false } });
    const picture = fake.robotMessage({ over: { msgtype: 'picture', text: undefined } });
    const frames = [
      callback(ROBOT_TOPIC, 'not json {'),
      callback(ROBOT_TOPIC, JSON.stringify({ msgId: 'x' })),
      callback(ROBOT_TOPIC, 'null'),
      callback('/v1.0/card/instances/callback', '{}'),
      callback('error', '{}'),
    ];
    for (const f of frames) fake.push(f);
    for (const f of [answered.frame, spoof.frame, picture.frame, ...frames]) await acked(f.headers.messageId!);
    await oneReplyTo(answered);
    await ignored(spoof);
    expect(handedFor(picture)).toBeUndefined();
    for (const f of [answered.frame, spoof.frame, picture.frame, ...frames]) expect(fake.acksFor(f.headers.messageId!)).toHaveLength(1);
  });

  it('survives malformed frames and unknown frame types, and answers afterwards', async () => {
    for (const raw of ['{not json', '[]', 'null', '42', '""', JSON.stringify({ type: 'CALLBACK', headers: { topic: ROBOT_TOPIC }, data: '{}' })])
      fake.push(raw);
    fake.push(JSON.stringify({ specVersion: '1.0', type: 'WHATEVER', headers: { topic: 'x', messageId: 'm' }, data: '' }));
    fake.push(JSON.stringify({ specVersion: '1.0', type: 'EVENT', headers: { topic: 'chat_update_title', messageId: 'event-1' }, data: '{}' }));
    await acked('event-1');
    await waitFor(() => stack.logs.some((l) => l.includes('malformed DingTalk stream frame ignored')) || undefined, 'the malformed frame warning');
    await oneReplyTo(fake.robotMessage({ text: '求夸 乱码之后' }));
  });

  it('answers the SYSTEM ping with the echo DingTalk expects', async () => {
    expect(await fake.ping()).toMatchObject({ code: 200, message: 'OK' });
  });

  it('drops, without crashing, a message whose sessionWebhook has expired', async () => {
    const s = fake.robotMessage({ text: '求夸 过期了', over: { sessionWebhookExpiredTime: Date.now() - 1000 } });
    await waitFor(() => logLine(s.message.msgId, 'robot message dropped'), 'the drop log line');
    expect(logLine(s.message.msgId, 'robot message dropped')).toContain('expired-webhook');
    await acked(s.frame.headers.messageId!);
    await oneReplyTo(fake.robotMessage({ text: '求夸 过期之后' }));
    expect(fake.repliesTo(s.session)).toHaveLength(0);
  });

  it.each([
    ['another host', 'https://evil.example.com/robot/sendBySession?session=1'],
    ['a DingTalk lookalike', 'https://oapi.dingtalk.com.evil.example.com/robot/sendBySession?session=1'],
    ['plain http to DingTalk', 'http://oapi.dingtalk.com/robot/sendBySession?session=1'],
    ['not a URL', 'javascript:alert(1)'],
  ])('never posts to a sessionWebhook on %s', async (_name, url) => {
    const s = fake.robotMessage({ text: '求夸 可疑的回调地址', over: { sessionWebhook: url } });
    await waitFor(() => logLine(s.message.msgId, 'robot message dropped'), 'the drop log line');
    expect(logLine(s.message.msgId, 'robot message dropped')).toContain('untrusted-webhook');
    expect(stack.logs.join('\n')).not.toContain(url);
    expect(handedFor(s)).toBeUndefined();
  });

  it('lets only admins (by senderStaffId) use admin commands', async () => {
    const chat = `cid-admin-${Date.now()}`;
    const refused = await oneReplyTo(fake.robotMessage({ text: '/kuakua_off', conversationId: chat, staffId: 'mallory' }));
    expect(refused.body.text?.content).toBe(`@mallory ${stack.config.messages.notAdmin}`);
    const off = await oneReplyTo(fake.robotMessage({ text: ' /kuakua_off', conversationId: chat, staffId: ADMIN }));
    expect(off.body.text?.content).toBe(`@${ADMIN} ${stack.config.messages.disabled}`);
    const whileOff = fake.robotMessage({ text: '求夸 没人理我', conversationId: chat });
    await ignored(whileOff);
    await oneReplyTo(fake.robotMessage({ text: '/kuakua_on', conversationId: chat, staffId: ADMIN }));
  });

  it('answers with a chorus of 3 once an admin sets /kuakua_chorus 3, every reply through the webhook the ask came with', async () => {
    const chat = `cid-chorus-${Date.now()}`;
    await oneReplyTo(fake.robotMessage({ text: '/kuakua_chorus 3', conversationId: chat, staffId: ADMIN }));
    const s = fake.robotMessage({ text: '求夸 我今天跑完了五公里', conversationId: chat, staffId: 'runner' });
    const replies = await waitFor(() => (fake.repliesTo(s.session).length === 3 ? fake.repliesTo(s.session) : undefined), 'three replies');
    await stack.idle();
    expect(fake.repliesTo(s.session)).toHaveLength(3);
    const voices = stack.config.chorus.voices.map((v) => v.name);
    const spoken = replies.map((r) => /^@runner 【(.+?)】/.exec(r.body.text?.content ?? '')?.[1]);
    const first = voices.indexOf(spoken[0]!);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(spoken).toEqual([0, 1, 2].map((i) => voices[(first + i) % voices.length]));
    expect(new Set(replies.map((r) => r.body.text?.content)).size).toBe(3);
  });

  it('praises the one other member an @ names, @-mentioning them by staff id, by the name in the text', async () => {
    const s = fake.robotMessage({
      text: '夸夸 @小明 他今天答辩过了',
      staffId: 'asker01',
      over: { atUsers: [{ dingtalkId: fake.robotId }, { dingtalkId: '$:LWCP_v1:$ming', staffId: 'ming01' }] },
    });
    const reply = await oneReplyTo(s);
    expect(reply.body.at).toEqual({ atUserIds: ['ming01'] });
    expect(reply.body.text?.content).toMatch(/^@ming01 小明，/);
    expect(handedFor(s)).toMatchObject({ friend: { userId: 'ming01', name: '小明', inChat: true } });
  });

  it(`splits a long reply into messages of at most ${DINGTALK_MAX_TEXT} characters, the @ only on the first`, async () => {
    const s = fake.robotMessage({ text: '/kuakua_help', staffId: 'reader' });
    await waitFor(() => fake.repliesTo(s.session).length >= 3 || undefined, 'three parts');
    await stack.idle();
    const parts = fake.repliesTo(s.session).map((r) => r.body);
    expect(parts).toHaveLength(3);
    expect(parts.every((p) => (p.text?.content ?? '').length <= DINGTALK_MAX_TEXT)).toBe(true);
    expect(parts.map((p) => p.at)).toEqual([{ atUserIds: ['reader'] }, undefined, undefined]);
    expect(parts.map((p) => p.text?.content).join('')).toBe(`@reader ${LONG_HELP}`);
  });

  it('answers, through the webhook it came with, a message whose reply is delivered after the adapter restarted', async () => {
    gated.hold();
    const s = fake.robotMessage({ text: '求夸 重启之前' });
    await waitFor(() => gated.arrived.some((d) => d.replyToMessageId === s.message.msgId) || undefined, 'the reply held at the core');
    await adapter.stop();
    adapter = await dingtalkAdapter.start({ core: gated.core, logger: stack.logger }, options());
    gated.release();
    await oneReplyTo(s);
  });

  it('posts each part of a long reply once when a later part failed and the core retried the delivery', async () => {
    gated.hold();
    const s = fake.robotMessage({ text: '求夸 写长一点', staffId: 'reader' });
    const held = await waitFor(() => gated.arrived.find((d) => d.replyToMessageId === s.message.msgId), 'the reply held at the core');
    const long = { ...held, text: LONG_HELP };
    fake.refuseReply(s.session, 1);
    await expect(gated.deliver(long)).rejects.toThrow('errcode 130101');
    expect(fake.repliesTo(s.session)).toHaveLength(1);
    await gated.deliver(long);
    expect(
      fake
        .repliesTo(s.session)
        .map((r) => r.body.text?.content)
        .join(''),
    ).toBe(`@reader ${LONG_HELP}`);
    // The core's own (short) delivery, let through now, is a text of its own: the webhook is kept for every reply to the
    // message (a chorus has several), so it is posted once, after the three parts.
    gated.release();
    await stack.idle();
    expect(fake.repliesTo(s.session)).toHaveLength(4);
    expect(fake.repliesTo(s.session)[3]!.body.text?.content).toBe(`@reader ${held.text}`);
  });

  it('reconnects after the connection drops, and answers the message sent meanwhile', async () => {
    const before = fake.connections;
    fake.drop();
    const s = fake.robotMessage({ text: '求夸 断线之后' });
    await oneReplyTo(s);
    expect(fake.connections).toBe(before + 1);
    expect(stack.logs.some((l) => l.includes('dingtalk stream reconnected'))).toBe(true);
  });

  it('reconnects with backoff while the gateway answers 503, and answers once it is back', async () => {
    const opensBefore = fake.opens.length;
    fake.failOpens(2);
    fake.drop();
    await oneReplyTo(fake.robotMessage({ text: '求夸 网关恢复了' }));
    expect(fake.opens.length - opensBefore).toBe(3);
    expect(stack.logs.some((l) => l.includes('dingtalk stream reconnect failed') && l.includes('503'))).toBe(true);
  });

  it.each(BAD_INPUTS)('answers bad input in a private chat, asking the models for the post the core makes of it: %s', async (_name, content, facts) => {
    const s = fake.robotMessage({ text: content, group: false });
    await oneReplyTo(s);
    expect(await askedPost(stack, s.message.msgId)).toBe(expectedPost(facts, stack.config));
    await oneReplyTo(fake.robotMessage({ text: '求夸', group: false }));
  });

  it('fails clearly and for good when DingTalk rejects the Client ID / Secret', async () => {
    const wrong = 'wrong-dingtalk-secret-value';
    const start = dingtalkAdapter.start({ core: stack.core, logger: stack.logger }, options({ clientSecret: wrong }));
    await expect(start).rejects.toThrow(PermanentAdapterError);
    await expect(start).rejects.toThrow('DingTalk rejected DINGTALK_CLIENT_ID / DINGTALK_CLIENT_SECRET (401 authFailed)');
    expect(stack.logs.join('\n')).not.toContain(wrong);
  });

  it('reports an unreachable gateway as a retryable start failure naming the cause', async () => {
    const port = await freePort();
    const start = dingtalkAdapter.start(
      { core: stack.core, logger: stack.logger },
      options({ gatewayUrl: `http://127.0.0.1:${port}/v1.0/gateway/connections/open` }),
    );
    await expect(start).rejects.toThrow(/ECONNREFUSED/);
    await expect(start).rejects.not.toBeInstanceOf(PermanentAdapterError);
  });

  it('closes and reopens a connection that stops answering pings (half-open); the new one works', async () => {
    const other = await startFakeDingtalk();
    const quiet = await dingtalkAdapter.start(
      { core: noDeliveries(), logger: stack.logger },
      { clientId: other.clientId, clientSecret: other.clientSecret, gatewayUrl: other.gatewayUrl, webhookOrigins: [other.origin], heartbeatMs: 100 },
    );
    try {
      other.silence();
      await waitFor(() => (other.connections === 2 && other.connected() ? true : undefined), 'a second connection');
      expect((await other.ping()).code).toBe(200);
    } finally {
      await quiet.stop();
      await other.close();
    }
  });

  it('refuses a stream frame over 1 MiB: the connection is closed (1009) and opened again', async () => {
    const other = await startFakeDingtalk();
    const quiet = await dingtalkAdapter.start(
      { core: noDeliveries(), logger: stack.logger },
      { clientId: other.clientId, clientSecret: other.clientSecret, gatewayUrl: other.gatewayUrl, webhookOrigins: [other.origin] },
    );
    try {
      const data = 'x'.repeat(1024 * 1024);
      other.push({ specVersion: '1.0', type: 'SYSTEM', headers: { contentType: 'application/json', messageId: 'big', topic: 'ping' }, data });
      await waitFor(() => other.closeCodes.includes(1009) || undefined, 'the client to close the stream with 1009');
      await waitFor(() => (other.connections === 2 && other.connected()) || undefined, 'a second connection');
    } finally {
      await quiet.stop();
      await other.close();
    }
  });

  it.each([302, 307])('follows no redirect (%i) from the gateway: the secret it posts reaches no other server', async (code) => {
    const listening = async (server: Server) => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    };
    const elsewhere: string[] = [];
    const target = createServer((req, res) => {
      elsewhere.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const targetUrl = await listening(target);
    const redirector = createServer((req, res) => {
      req.resume();
      res.writeHead(code, { location: `${targetUrl}/v1.0/gateway/connections/open` }).end();
    });
    const redirectorUrl = await listening(redirector);
    try {
      const start = dingtalkAdapter.start({ core: noDeliveries(), logger: stack.logger }, options({ gatewayUrl: `${redirectorUrl}/open` }));
      await expect(start).rejects.toThrow(/redirect/);
      expect(elsewhere).toEqual([]);
    } finally {
      await Promise.all([target, redirector].map((s) => new Promise((resolve) => s.close(resolve))));
    }
  });

  it('opens nothing once stopped while a reconnect waits for the gateway, and stop() waits for that reconnect', async () => {
    const other = await startFakeDingtalk();
    const quiet = await dingtalkAdapter.start(
      { core: noDeliveries(), logger: stack.logger },
      { clientId: other.clientId, clientSecret: other.clientSecret, gatewayUrl: other.gatewayUrl, webhookOrigins: [other.origin] },
    );
    try {
      const gateway = other.holdOpens();
      other.drop();
      await waitFor(() => other.opens.length === 2 || undefined, 'the reconnect at the gateway');
      const stopped = quiet.stop();
      gateway.release();
      await stopped;
      expect(other.connections).toBe(1);
      expect(other.connected()).toBe(false);
    } finally {
      await quiet.stop();
      await other.close();
    }
  });

  it('under its supervisor: running, then failed for good when the secret is revoked and the stream reconnects', async () => {
    const other = await startFakeDingtalk();
    const supervised = supervise({
      name: 'dingtalk',
      logger: stack.logger,
      backoff: { initialMs: 50, maxMs: 100 },
      start: (faults) =>
        dingtalkAdapter.start(
          { core: noDeliveries(), logger: stack.logger, faults },
          { clientId: other.clientId, clientSecret: other.clientSecret, gatewayUrl: other.gatewayUrl, webhookOrigins: [other.origin] },
        ),
    });
    try {
      expect((await supervised.settled(10_000)).state).toBe('running');
      other.revokeSecret();
      other.drop();
      const status = await waitFor(() => (supervised.status().state === 'failed' ? supervised.status() : undefined), 'the adapter to fail');
      expect(status).toMatchObject({ lastError: expect.stringContaining('DingTalk rejected DINGTALK_CLIENT_ID / DINGTALK_CLIENT_SECRET (401 authFailed)') });
      expect(stack.logs.join('\n')).not.toContain(other.clientSecret);
    } finally {
      await supervised.stop();
      await other.close();
    }
  });

  it('never logs or prints the client secret, and the SDK prints nothing to the console', () => {
    const all = stack.logs.join('\n');
    expect(all).toContain('dingtalk adapter started');
    expect(all).not.toContain(fake.clientSecret);
    expect(consoleLines.join('\n')).not.toContain(fake.clientSecret);
    expect(consoleLines).toEqual([]);
  });
});
