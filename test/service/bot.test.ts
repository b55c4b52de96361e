import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppConfig } from '../../src/app/config.ts';
import { createLogger } from '../../src/logger.ts';
import { metrics } from '../../src/metrics.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import type { PostReader } from '../../src/reading.ts';
import { type PostReaderHandle, startPostReader } from '../../worker/engine/postReader.ts';
import { INDIRECT_DISTRESS } from '../helpers/distressPosts.ts';
import { idempotencyKey, jobIdFor, redisKeys, replyJobOptions, replyQueueName } from '../../src/queue/contracts.ts';
import { collect, message, silentLogger, testConfig, useServiceFixture, waitFor } from './support.ts';

// The bot side alone: no worker runs in this file, so every request stays queued until its timeout.
const fx = useServiceFixture();
const core = (config: AppConfig, instanceId?: string) => fx.core(config, instanceId);

async function queueDepth(config: AppConfig): Promise<number> {
  const q = new Queue(config.queue.name, { connection: { url: fx.redis.url }, prefix: config.redis.prefix });
  try {
    return await q.count();
  } finally {
    await q.close();
  }
}

describe('intake', () => {
  it('queues a triggered message and ignores the rest', async () => {
    const c = await core(testConfig(fx.redis.url));
    expect(await c.handle(message())).toMatchObject({ action: 'queued' });
    expect(await c.handle(message({ text: '今天吃什么' }))).toEqual({ action: 'ignored', reason: 'no-trigger' });
    expect(await c.handle(message({ fromBot: true }))).toEqual({ action: 'ignored', reason: 'from-bot' });
  });

  it('a bot gets nothing, not even an admin command or the care reply, and its message writes nothing to Redis', async () => {
    const config = testConfig(fx.redis.url, { admins: { telegram: ['a-bot'], discord: [], wechat: [], web: [] } });
    const c = await core(config);
    const bot = { fromBot: true, userId: 'a-bot', chatId: 'bot-chat' };
    for (const text of ['求夸 我是机器人', '/kuakua_off', '我真的不想活了']) {
      expect(await c.handle(message({ ...bot, text }))).toEqual({ action: 'ignored', reason: 'from-bot' });
      expect(await c.handle(message({ ...bot, text, isPrivate: true }))).toEqual({ action: 'ignored', reason: 'from-bot' });
    }
    // No dedupe, cooldown, care window, rate counter or chat setting was written for it.
    expect([...(await fx.admin.keys('*bot-chat*')), ...(await fx.admin.keys('*a-bot*'))]).toEqual([]);
    expect(await queueDepth(config)).toBe(0);
  });

  it('the same platform message twice is queued once, also through a second bot process', async () => {
    const config = testConfig(fx.redis.url);
    const [a, b] = [await core(config, 'bot-a'), await core(config, 'bot-b')];
    const msg = message();
    expect(await a.handle(msg)).toMatchObject({ action: 'queued' });
    expect(await a.handle({ ...msg })).toEqual({ action: 'ignored', reason: 'duplicate' });
    expect(await b.handle({ ...msg })).toEqual({ action: 'ignored', reason: 'duplicate' });
    // Same message id in another chat is another message.
    expect(await a.handle({ ...msg, chatId: 'group-2', userId: 'someone-else' })).toMatchObject({ action: 'queued' });
    expect(await queueDepth(config)).toBe(2);
  });
});

describe('bad input', () => {
  const cases: [string, Parameters<typeof message>[0], 'queued' | 'ignored', string?][] = [
    ['empty text', { text: '' }, 'ignored'],
    ['whitespace only', { text: ' \t\n ' }, 'ignored'],
    ['empty text in a private chat gets the generic post', { text: '', isPrivate: true }, 'queued', '求夸'],
    ['100 000 characters', { text: `求夸 ${'好'.repeat(100_000)}` }, 'queued', '好'.repeat(300)],
    ['only emoji', { text: '🎉🎉🎉', mentionsBot: true }, 'queued', '🎉🎉🎉'],
    ['zero-width and RTL marks', { text: '\u200B\u200F\u202E求夸\u2066' }, 'queued', '求夸'],
    ['control characters', { text: '求夸\u0000\u0007我\u001B做完了' }, 'queued', '我做完了'],
    ['lone surrogates', { text: '求夸 \uDC00\uD83D' }, 'queued', '\uFFFD\uFFFD'],
    ['HTML and script', { text: '求夸 <script>alert(1)</script>' }, 'queued', '<script>alert(1)</script>'],
    ['all trigger words', { text: '求夸夸我求表扬求鼓励'.repeat(50) }, 'queued', '求夸'],
    ['empty message id', { messageId: '' }, 'ignored'],
    ['empty user id', { userId: '' }, 'ignored'],
  ];
  it.each(cases)('%s', async (_name, over, action, post) => {
    const config = testConfig(fx.redis.url);
    const c = await core(config);
    const r = await c.handle(message(over));
    expect(r.action).toBe(action);
    if (r.action !== 'queued') return;
    const q = new Queue(config.queue.name, { connection: { url: fx.redis.url }, prefix: config.redis.prefix });
    try {
      expect((await q.getJob(r.jobId))!.data.post).toBe(post);
    } finally {
      await q.close();
    }
  });
});

describe('cooldown and rate limit', () => {
  it('a user is ignored during the cooldown, in every bot process, and can ask again after it', async () => {
    const config = testConfig(fx.redis.url, { cooldown: { userSeconds: 1 } });
    const [a, b] = [await core(config, 'bot-a'), await core(config, 'bot-b')];
    expect(await a.handle(message({ userId: 'u1' }))).toMatchObject({ action: 'queued' });
    expect(await a.handle(message({ userId: 'u1' }))).toEqual({ action: 'ignored', reason: 'cooldown' });
    expect(await b.handle(message({ userId: 'u1', chatId: 'elsewhere' }))).toEqual({ action: 'ignored', reason: 'cooldown' });
    expect(await a.handle(message({ userId: 'u2' }))).toMatchObject({ action: 'queued' });
    // The cooldown is a key that Redis expires after cooldown.userSeconds.
    const cooldown = redisKeys(config.redis.prefix).cooldown('telegram', 'u1');
    expect(await fx.admin.pttl(cooldown)).toBeLessThanOrEqual(1000);
    await waitFor(async () => (await fx.admin.exists(cooldown)) === 0, 'the cooldown to expire');
    expect(await a.handle(message({ userId: 'u1' }))).toMatchObject({ action: 'queued' });
  });

  it('cooldown.notify answers with the cooldown message; the web platform has no cooldown by default', async () => {
    const config = testConfig(fx.redis.url, { cooldown: { notify: true } });
    const c = await core(config);
    await c.handle(message({ userId: 'u1' }));
    expect(await c.handle(message({ userId: 'u1' }))).toMatchObject({ action: 'replied', delivery: { kind: 'refusal', text: config.messages.cooldown } });
    for (let i = 0; i < 3; i++) expect(await c.handle(message({ platform: 'web', userId: 'w1' }))).toMatchObject({ action: 'queued' });
  });

  it('a chat gets at most rateLimit.chatPerMinute requests a minute; other chats are not affected', async () => {
    const c = await core(testConfig(fx.redis.url, { rateLimit: { chatPerMinute: 3 } }));
    for (let i = 0; i < 3; i++) expect(await c.handle(message({ chatId: 'busy-chat' }))).toMatchObject({ action: 'queued' });
    const limited = message({ chatId: 'busy-chat' });
    expect(await c.handle(limited)).toEqual({ action: 'ignored', reason: 'rate-limited' });
    expect(await c.handle(message({ chatId: 'quiet-chat' }))).toMatchObject({ action: 'queued' });
    // The refused user's cooldown was given back: they are not punished for the chat's limit.
    expect(await c.handle(message({ chatId: 'quiet-chat', userId: limited.userId }))).toMatchObject({ action: 'queued' });
  });
});

describe('back-pressure', () => {
  it.each([
    ['busy', { action: 'replied', delivery: { kind: 'busy' } }],
    ['silent', { action: 'ignored', reason: 'busy' }],
  ] as const)('a full queue answers %s and does not grow', async (onFull, expected) => {
    const config = testConfig(fx.redis.url, { queue: { maxDepth: 2, onFull } });
    const c = await core(config);
    await c.handle(message());
    await c.handle(message());
    const third = await c.handle(message());
    expect(third).toMatchObject(expected);
    if (third.action === 'replied') expect(third.delivery.text).toBe(config.messages.busy);
    await c.handle(message());
    expect(await queueDepth(config)).toBe(2);
    expect((await c.status()).queueDepth).toBe(2);
  });
});

describe('timeout policies with no worker running', () => {
  it('fallback: a reply in Chinese that fits the post’s tone, kept in the chat history', async () => {
    const config = testConfig(fx.redis.url, { queue: { timeoutMs: 300, onTimeout: 'fallback' } });
    const c = await core(config);
    const got = collect(c);
    const msg = message({ text: '求夸 我今天跑了五公里' });
    await c.handle(msg);
    await waitFor(() => got.length === 1, 'the fallback');
    expect(got[0]).toMatchObject({ kind: 'fallback', chatId: msg.chatId, replyToMessageId: msg.messageId, userId: msg.userId, platform: 'telegram' });
    expect(got[0]!.text.match(/[\u4e00-\u9fff]/g)?.length ?? 0).toBeGreaterThanOrEqual(6);
    expect(await fx.admin.lrange('{kuakua}:history:telegram:group-1', 0, -1)).toEqual([got[0]!.text]);
    // The request was taken back: a worker starting later would not answer it a second time.
    expect(await queueDepth(config)).toBe(0);
  });

  it('busy: the busy message', async () => {
    const config = testConfig(fx.redis.url, { queue: { timeoutMs: 300, onTimeout: 'busy' } });
    const c = await core(config);
    const got = collect(c);
    await c.handle(message());
    await waitFor(() => got.length === 1, 'the busy reply');
    expect(got[0]).toMatchObject({ kind: 'busy', text: config.messages.busy });
  });

  it('silent: nothing is sent, and the request is withdrawn', async () => {
    const config = testConfig(fx.redis.url, { queue: { timeoutMs: 300, onTimeout: 'silent' } });
    const c = await core(config);
    const got = collect(c);
    const msg = message();
    await c.handle(msg);
    await waitFor(async () => (await fx.admin.get(`{kuakua}:answered:telegram:${msg.chatId}:${msg.messageId}`)) !== null, 'the timeout');
    await fx.idle(config);
    expect(got).toEqual([]);
    expect(await queueDepth(config)).toBe(0);
  });

  it('the timeout job has the reply job options a worker’s reply has', async () => {
    const config = testConfig(fx.redis.url, { queue: { retention: { completed: 7, failed: 9 } } });
    const c = await core(config);
    const msg = message();
    await c.handle(msg);
    const replies = new Queue(replyQueueName(config.queue.name, c.instanceId), { connection: { url: fx.redis.url }, prefix: config.redis.prefix });
    try {
      const job = await replies.getJob(jobIdFor(idempotencyKey(msg), 'timeout'));
      expect(job?.opts).toMatchObject(replyJobOptions(config.queue.retention));
    } finally {
      await replies.close();
    }
  });

  it('a failing sender gets the delivery retried, still only once in the end', async () => {
    const config = testConfig(fx.redis.url, { queue: { timeoutMs: 200, onTimeout: 'busy' } });
    const c = await core(config);
    let calls = 0;
    const got: string[] = [];
    c.onDelivery('telegram', async (d) => {
      calls += 1;
      if (calls === 1) throw new Error('platform API down');
      got.push(d.text);
    });
    await c.handle(message());
    await waitFor(() => got.length === 1, 'the retried delivery');
    await fx.idle(config);
    expect(calls).toBe(2);
    expect(got).toHaveLength(1);
  });
});

describe('admin commands', () => {
  const admins = { telegram: ['boss'], discord: [], wechat: [], web: [] };

  it('are refused politely to non-admins, and change nothing', async () => {
    const config = testConfig(fx.redis.url, { admins });
    const c = await core(config);
    const r = await c.handle(message({ text: '/kuakua_off', userId: 'someone' }));
    expect(r).toMatchObject({ action: 'replied', delivery: { kind: 'refusal', text: config.messages.notAdmin } });
    expect(await c.handle(message())).toMatchObject({ action: 'queued' });
    // Admin ids are per platform: "boss" on Discord is nobody.
    expect(await c.handle(message({ platform: 'discord', text: '/kuakua_off', userId: 'boss' }))).toMatchObject({
      action: 'replied',
      delivery: { kind: 'refusal' },
    });
  });

  it('/kuakua_off and /kuakua_on switch the chat for every bot process', async () => {
    const config = testConfig(fx.redis.url, { admins });
    const [a, b] = [await core(config, 'bot-a'), await core(config, 'bot-b')];
    expect(await a.handle(message({ text: '/kuakua_off@kuakua_bot', userId: 'boss' }))).toMatchObject({
      action: 'replied',
      delivery: { kind: 'admin', text: config.messages.disabled },
    });
    expect(await b.handle(message())).toEqual({ action: 'ignored', reason: 'disabled' });
    expect(await b.handle(message({ chatId: 'other-group' }))).toMatchObject({ action: 'queued' });
    await b.handle(message({ text: '/kuakua_on', userId: 'boss' }));
    expect(await a.handle(message())).toMatchObject({ action: 'queued' });
  });

  it('/kuakua_keywords sets the chat’s extra trigger words, and clears them without arguments', async () => {
    const config = testConfig(fx.redis.url, { admins });
    const c = await core(config);
    const set = await c.handle(message({ text: '/kuakua_keywords 加油 冲鸭', userId: 'boss' }));
    expect(set).toMatchObject({ action: 'replied', delivery: { text: '本群额外触发词：加油、冲鸭' } });
    expect(await c.handle(message({ text: '冲鸭 我明天面试' }))).toMatchObject({ action: 'queued' });
    expect(await c.handle(message({ chatId: 'other-group', text: '冲鸭 我明天面试' }))).toEqual({ action: 'ignored', reason: 'no-trigger' });
    await c.handle(message({ text: '/kuakua_keywords', userId: 'boss' }));
    expect(await c.handle(message({ text: '冲鸭 我明天面试' }))).toEqual({ action: 'ignored', reason: 'no-trigger' });
  });

  it('/kuakua_status reports queue depth, workers and model; /kuakua_help is for everyone', async () => {
    const config = testConfig(fx.redis.url, { admins });
    const c = await core(config);
    await c.handle(message());
    const status = await c.handle(message({ text: '/kuakua_status', userId: 'boss' }));
    expect(status).toMatchObject({ action: 'replied', delivery: { kind: 'admin' } });
    if (status.action === 'replied') expect(status.delivery.text).toMatch(/排队 1 条；在线 worker 0 个；模型 无；Redis 正常/);
    expect(await c.handle(message({ text: '/kuakua_help', userId: 'anyone' }))).toMatchObject({
      action: 'replied',
      delivery: { kind: 'help', text: config.messages.help },
    });
  });

  it('a redelivered admin command runs once', async () => {
    const c = await core(testConfig(fx.redis.url, { admins }));
    const cmd = message({ text: '/kuakua_off', userId: 'boss' });
    expect(await c.handle(cmd)).toMatchObject({ action: 'replied' });
    expect(await c.handle({ ...cmd })).toEqual({ action: 'ignored', reason: 'duplicate' });
  });
});

describe('people in distress, read by the post reader', () => {
  let reader: PostReaderHandle;
  beforeAll(async () => {
    reader = await startPostReader(join(PROJECT_ROOT, 'models/kuakua-reader'));
  });
  afterAll(() => reader.close());

  const count = async (by: 'pattern' | 'reader') =>
    (await metrics.distress.get()).values.find((v) => v.labels.platform === 'telegram' && v.labels.outcome === 'answered' && v.labels.by === by)?.value ?? 0;

  it('answers a 求夸 that hides distress in words no pattern lists with the care reply, once per window in a group, logged by score', async () => {
    const config = testConfig(fx.redis.url);
    const logs: string[] = [];
    const c = await fx.core(config, 'bot-a', createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } }), reader);
    const before = await count('reader');
    const first = await c.handle(message({ text: INDIRECT_DISTRESS, userId: 'quiet' }));
    expect(first).toMatchObject({ action: 'replied', delivery: { text: config.distress.reply, kind: 'care' } });
    expect(await c.handle(message({ text: INDIRECT_DISTRESS, userId: 'quiet' }))).toEqual({ action: 'ignored', reason: 'distress-repeat' });
    expect(await count('reader')).toBe(before + 1);
    expect(await queueDepth(config)).toBe(0);
    const line = JSON.parse(logs.find((l) => l.includes('distress post'))!);
    expect(line).toMatchObject({ by: 'reader', outcome: 'answered' });
    expect(line.score).toBeGreaterThanOrEqual(reader.threshold);
    expect(logs.join('\n')).not.toContain('麻烦大家');
  });

  it('leaves group chatter not addressed to the bot to the patterns: the reader does not read it', async () => {
    const c = await fx.core(testConfig(fx.redis.url), 'bot-a', silentLogger, reader);
    const chatter = INDIRECT_DISTRESS.replace('求夸，', '');
    expect(await c.handle(message({ text: chatter }))).toEqual({ action: 'ignored', reason: 'no-trigger' });
    // The same words in a private chat are addressed to the bot.
    expect(await c.handle(message({ text: chatter, isPrivate: true, chatId: 'dm-quiet' }))).toMatchObject({ action: 'replied', delivery: { kind: 'care' } });
  });

  it('decides by the patterns alone when the reader does not answer in time, and counts the miss', async () => {
    const config = testConfig(fx.redis.url, { reader: { timeoutMs: 20 } });
    const stuck: PostReader = { labels: reader.labels, threshold: reader.threshold, read: () => new Promise(() => {}) };
    const c = await fx.core(config, 'bot-a', silentLogger, stuck);
    const misses = async () => (await metrics.readerMisses.get()).values.find((v) => v.labels.why === 'timeout')?.value ?? 0;
    const before = await misses();
    expect(await c.handle(message({ text: '求夸 我真的不想活了', userId: 'floor' }))).toMatchObject({ delivery: { kind: 'care' } });
    expect(await c.handle(message({ text: INDIRECT_DISTRESS, userId: 'missed' }))).toMatchObject({ action: 'queued' });
    expect(await misses()).toBe(before + 1);
  });
});

describe('people in distress', () => {
  const DISTRESS = '我真的不想活了';
  const admins = { telegram: ['boss'], discord: [], wechat: [], web: [] };

  async function distressCount(outcome: 'answered' | 'repeat'): Promise<number> {
    return (
      (await metrics.distress.get()).values.find((v) => v.labels.platform === 'telegram' && v.labels.outcome === outcome && v.labels.by === 'pattern')?.value ??
      0
    );
  }

  it('a group message without trigger word or mention gets the care reply at once; nothing is queued, it is counted, the log has the pattern and never the text', async () => {
    const config = testConfig(fx.redis.url);
    const logs: string[] = [];
    const c = await fx.core(config, 'bot-a', createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } }));
    const before = await distressCount('answered');
    const msg = message({ text: DISTRESS });
    expect(await c.handle(msg)).toEqual({
      action: 'replied',
      delivery: {
        platform: 'telegram',
        chatId: msg.chatId,
        replyToMessageId: msg.messageId,
        userId: msg.userId,
        userName: msg.userName,
        text: config.distress.reply,
        kind: 'care',
        voice: config.chorus.host,
      },
    });
    expect(await queueDepth(config)).toBe(0);
    expect(await distressCount('answered')).toBe(before + 1);
    const line = logs.find((l) => l.includes('distress post'));
    expect(JSON.parse(line!)).toMatchObject({ level: 30, platform: 'telegram', chatId: msg.chatId, pattern: '不想活', outcome: 'answered' });
    expect(logs.join('\n')).not.toContain(DISTRESS);
    expect(logs.join('\n')).not.toContain('真的');
  });

  it('comes before the user’s cooldown and the chat’s off switch', async () => {
    const config = testConfig(fx.redis.url, { admins, cooldown: { userSeconds: 60 } });
    const c = await core(config);
    expect(await c.handle(message({ userId: 'u1' }))).toMatchObject({ action: 'queued' });
    expect(await c.handle(message({ userId: 'u1', text: `求夸 ${DISTRESS}` }))).toMatchObject({
      action: 'replied',
      delivery: { kind: 'care', text: config.distress.reply },
    });
    expect(await c.handle(message({ text: '/kuakua_off', userId: 'boss' }))).toMatchObject({ action: 'replied', delivery: { kind: 'admin' } });
    expect(await c.handle(message({ userId: 'u2', text: 'I want to kill myself' }))).toMatchObject({ action: 'replied', delivery: { kind: 'care' } });
    expect(await c.handle(message({ userId: 'u3' }))).toEqual({ action: 'ignored', reason: 'disabled' });
    // Only the first, ordinary request was queued.
    expect(await queueDepth(config)).toBe(1);
  });

  it('within distress.repeatSeconds the same user in the same chat gets no second care reply, and is never queued for praise', async () => {
    const config = testConfig(fx.redis.url, { distress: { repeatSeconds: 2 }, cooldown: { userSeconds: 0 } });
    const c = await core(config);
    const repeatsBefore = await distressCount('repeat');
    const first = message({ userId: 'u1', text: DISTRESS });
    expect(await c.handle(first)).toMatchObject({ action: 'replied', delivery: { kind: 'care' } });
    expect(await c.handle({ ...first })).toEqual({ action: 'ignored', reason: 'duplicate' });
    expect(await c.handle(message({ userId: 'u1', text: `求夸 ${DISTRESS}` }))).toEqual({ action: 'ignored', reason: 'distress-repeat' });
    expect(await c.handle(message({ userId: 'u1', text: '不 想 活 了', mentionsBot: true }))).toEqual({ action: 'ignored', reason: 'distress-repeat' });
    expect(await c.handle(message({ userId: 'u1', text: DISTRESS }))).toEqual({ action: 'ignored', reason: 'no-trigger' });
    expect(await distressCount('repeat')).toBe(repeatsBefore + 3);
    // The window is per user and chat; an ordinary request of the same user is handled as usual.
    expect(await c.handle(message({ userId: 'u2', text: DISTRESS }))).toMatchObject({ action: 'replied', delivery: { kind: 'care' } });
    expect(await c.handle(message({ userId: 'u1', chatId: 'group-2', text: DISTRESS }))).toMatchObject({ action: 'replied', delivery: { kind: 'care' } });
    expect(await queueDepth(config)).toBe(0);
    expect(await c.handle(message({ userId: 'u1' }))).toMatchObject({ action: 'queued' });
    await waitFor(async () => (await fx.admin.exists('{kuakua}:care:telegram:group-1:u1')) === 0, 'the care window to end');
    expect(await c.handle(message({ userId: 'u1', text: DISTRESS }))).toMatchObject({ action: 'replied', delivery: { kind: 'care' } });
    expect(await queueDepth(config)).toBe(1);
  });

  it('one to one, a repeat inside the window gets the care reply again: there is no group to flood', async () => {
    const config = testConfig(fx.redis.url, { distress: { repeatSeconds: 600 } });
    const c = await core(config);
    for (let i = 0; i < 3; i++) {
      expect(await c.handle(message({ userId: 'p1', chatId: 'dm-p1', isPrivate: true, text: DISTRESS }))).toMatchObject({
        action: 'replied',
        delivery: { kind: 'care' },
      });
    }
    expect(await queueDepth(config)).toBe(0);
  });
});
