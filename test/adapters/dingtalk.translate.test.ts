import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { dingtalkConfig } from '../../adapters/dingtalk/config.ts';
import { postToWebhook, sessionWebhooks } from '../../adapters/dingtalk/session.ts';
import { parseRobotMessage, replyBody, replyTarget, toIncoming, type RobotMessage } from '../../adapters/dingtalk/translate.ts';

const DINGTALK = ['https://oapi.dingtalk.com', 'https://api.dingtalk.com'];
const NOW = 1_700_000_000_000;

const message = (over: Partial<RobotMessage> = {}): RobotMessage => ({
  msgId: 'msgA',
  msgtype: 'text',
  conversationId: 'cidGroup',
  conversationType: '2',
  senderId: '$:LWCP_v1:$sender',
  senderStaffId: 'staff01',
  senderNick: '小明',
  chatbotUserId: '$:LWCP_v1:$robot',
  isInAtList: true,
  sessionWebhook: 'https://oapi.dingtalk.com/robot/sendBySession?session=abc',
  sessionWebhookExpiredTime: NOW + 60_000,
  createAt: NOW - 1000,
  text: { content: ' 我今天跑完了全马' },
  ...over,
});

describe('dingtalk translate', () => {
  it('reads a group @ as a mention, with the @ already removed by DingTalk', () => {
    expect(toIncoming(message())).toEqual({
      platform: 'dingtalk',
      chatId: 'cidGroup',
      messageId: 'msgA',
      userId: 'staff01',
      userName: '小明',
      text: '我今天跑完了全马',
      isPrivate: false,
      mentionsBot: true,
      repliesToBot: false,
      fromBot: false,
      sentAt: NOW - 1000,
    });
  });

  it('believes only isInAtList about mentions: "@kuakua" in the text is not one', () => {
    expect(toIncoming(message({ isInAtList: false, text: { content: '@kuakua 夸我' } }))).toMatchObject({ mentionsBot: false });
    expect(toIncoming(message({ isInAtList: undefined, text: { content: '@kuakua' } }))).toMatchObject({ mentionsBot: false });
  });

  it('marks private chats, the robot itself, and senders outside the organisation', () => {
    expect(toIncoming(message({ conversationType: '1', isInAtList: undefined }))).toMatchObject({ isPrivate: true });
    expect(toIncoming(message({ senderId: '$:LWCP_v1:$robot' }))).toMatchObject({ fromBot: true });
    expect(toIncoming(message({ senderStaffId: undefined }))).toMatchObject({ userId: '$:LWCP_v1:$sender' });
  });

  it('ignores non-text messages', () => {
    expect(toIncoming(message({ msgtype: 'picture', text: undefined }))).toBeNull();
    expect(toIncoming(message({ msgtype: 'richText' }))).toBeNull();
  });

  it.each([
    ['not JSON', '{'],
    ['null', 'null'],
    ['an array', '[]'],
    ['no msgId', JSON.stringify({ ...message(), msgId: undefined })],
    ['an unknown conversationType', JSON.stringify({ ...message(), conversationType: '3' })],
    ['a string expiry', JSON.stringify({ ...message(), sessionWebhookExpiredTime: 'tomorrow' })],
    ['text that is not a string', JSON.stringify({ ...message(), text: { content: 42 } })],
  ])('parses %s as no robot message', (_name, data) => {
    expect(parseRobotMessage(data)).toBeNull();
  });

  it('keeps fields it does not know', () => {
    expect(parseRobotMessage(JSON.stringify({ ...message(), atUsers: [{ dingtalkId: 'x' }] }))).toMatchObject({
      msgId: 'msgA',
      atUsers: [{ dingtalkId: 'x' }],
    });
  });

  it('answers through a DingTalk sessionWebhook that has not expired, @-mentioning the sender', () => {
    expect(replyTarget(message(), DINGTALK, NOW)).toEqual({
      webhook: new URL('https://oapi.dingtalk.com/robot/sendBySession?session=abc'),
      expiresAt: NOW + 60_000,
      atUserId: 'staff01',
      asker: 'staff01',
    });
    expect(replyTarget(message({ senderStaffId: undefined }), DINGTALK, NOW)).not.toHaveProperty('atUserId');
    expect(replyTarget(message({ sessionWebhookExpiredTime: NOW }), DINGTALK, NOW)).toBe('expired-webhook');
  });

  it.each([
    'https://evil.example.com/robot/sendBySession?session=abc',
    'https://oapi.dingtalk.com.evil.example.com/robot/sendBySession',
    'https://evil.example.com@oapi.dingtalk.com/robot/sendBySession',
    'https://user:pass@oapi.dingtalk.com/robot/sendBySession',
    'http://oapi.dingtalk.com/robot/sendBySession',
    'https://oapi.dingtalk.com:8443/robot/sendBySession',
    'file:///etc/passwd',
    '//oapi.dingtalk.com/robot',
    '',
  ])('refuses the untrusted sessionWebhook %j', (url) => {
    expect(replyTarget(message({ sessionWebhook: url }), DINGTALK, NOW)).toBe('untrusted-webhook');
  });

  it('builds the text reply DingTalk needs for an @: the @ in the text and the id in at.atUserIds', () => {
    expect(replyBody('你真棒', 'staff01')).toEqual({ msgtype: 'text', text: { content: '@staff01 你真棒' }, at: { atUserIds: ['staff01'] } });
    expect(replyBody('你真棒')).toEqual({ msgtype: 'text', text: { content: '你真棒' } });
  });

  it('accepts only origins in dingtalk.webhookOrigins', () => {
    const section = { gatewayUrl: 'https://api.dingtalk.com/v1.0/gateway/connections/open', webhookOrigins: DINGTALK };
    expect(dingtalkConfig.parse(section)).toEqual(section);
    expect(() => dingtalkConfig.parse({ ...section, webhookOrigins: ['https://oapi.dingtalk.com/'] })).toThrow(/origin/);
    expect(() => dingtalkConfig.parse({ ...section, webhookOrigins: [] })).toThrow();
    expect(() => dingtalkConfig.parse({ ...section, extra: 1 })).toThrow();
  });
});

describe('dingtalk session webhooks', () => {
  const target = (expiresAt: number) => ({ webhook: new URL('https://oapi.dingtalk.com/robot/sendBySession?session=s'), expiresAt, atUserId: 'u', asker: 'u' });

  it('gives each answer the webhook of the message it answers, and says why when it cannot', () => {
    const store = sessionWebhooks();
    const live = target(Date.now() + 60_000);
    store.remember('chat', 'm1', live);
    expect(store.lookup('chat', 'm1')).toBe(live);
    expect(store.lookup('chat', 'm2')).toBe('unknown-message');
    expect(store.lookup('other', 'm1')).toBe('unknown-message');
    store.forget('chat', 'm1');
    expect(store.lookup('chat', 'm1')).toBe('unknown-message');
  });

  it('remembers the parts of an answer already posted, for a retry of that same answer only', () => {
    const store = sessionWebhooks();
    store.remember('chat', 'm1', target(Date.now() + 60_000));
    expect(store.postedParts('chat', 'm1', 'long answer')).toBe(0);
    store.posted('chat', 'm1', 'long answer', 2);
    expect(store.postedParts('chat', 'm1', 'long answer')).toBe(2);
    expect(store.postedParts('chat', 'm1', 'another answer')).toBe(0);
    store.posted('chat', 'unknown', 'long answer', 1);
    expect(store.postedParts('chat', 'unknown', 'long answer')).toBe(0);
    store.forget('chat', 'm1');
    expect(store.postedParts('chat', 'm1', 'long answer')).toBe(0);
  });

  it('refuses a webhook that expired while the answer was being written', () => {
    const store = sessionWebhooks();
    store.remember('chat', 'm1', target(Date.now() - 1));
    expect(store.lookup('chat', 'm1')).toBe('expired-webhook');
  });
});

describe('dingtalk webhook posts', () => {
  it('follows no redirect, and throws on a DingTalk errcode so that the core retries', async () => {
    const posted: string[] = [];
    const server = createServer((req, res) => {
      posted.push(req.url ?? '');
      if (req.url?.startsWith('/moved')) res.writeHead(302, { location: '/elsewhere' }).end();
      else if (req.url?.startsWith('/busy')) res.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":130101,"errmsg":"send too fast"}');
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":0,"errmsg":"ok"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const target = (path: string) => ({ webhook: new URL(path, base), expiresAt: Date.now() + 60_000, atUserId: 'u1', asker: 'u1' });
    try {
      await expect(postToWebhook(target('/moved'), '你真棒', true)).rejects.toThrow();
      await expect(postToWebhook(target('/busy'), '你真棒', true)).rejects.toThrow('DingTalk sessionWebhook refused the reply (errcode 130101: send too fast)');
      await expect(postToWebhook(target('/ok'), '你真棒', true)).resolves.toBeUndefined();
      expect(posted).toEqual(['/moved', '/busy', '/ok']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
