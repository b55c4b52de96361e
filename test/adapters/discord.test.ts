import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discordAdapter } from '../../adapters/discord/definition.ts';
import { startDiscordAdapter } from '../../adapters/discord/index.ts';
import type { Core, RunningAdapter } from '../../src/adapter.ts';
import type { IncomingMessage } from '../../src/events.ts';
import { startFakeDiscord, type FakeDiscord, type FakeDiscordMessage, type FakeDiscordUser } from '../fakes/discord.ts';
import { waitFor } from '../service/support.ts';
import { askedPost, BAD_INPUTS, expectedPost } from './badInput.ts';
import { INDIRECT_DISTRESS, INDIRECT_DISTRESS_TRADITIONAL, traditionalCareReply } from '../helpers/distressPosts.ts';
import { recordingCore, startStack, type Stack } from './stack.ts';

const LONG_HELP = '夸夸使用说明。'.repeat(700); // 4900 characters: three Discord messages

let stack: Stack;
let fake: FakeDiscord;
let adapter: RunningAdapter;
let admin: FakeDiscordUser;
/** What the adapter handed to the (real) core, to check how it read each platform message. */
const handed: IncomingMessage[] = [];

const repliesTo = (m: FakeDiscordMessage) => fake.posted.filter((p) => p.message_reference?.message_id === m.id);
const handedFor = (m: FakeDiscordMessage) => handed.find((h) => h.messageId === m.id);

async function oneReplyTo(m: FakeDiscordMessage): Promise<FakeDiscordMessage> {
  const [reply] = await waitFor(() => (repliesTo(m).length > 0 ? repliesTo(m) : undefined), `a reply to "${m.content.slice(0, 30)}"`);
  // Whatever else the core decided for it has been delivered by now.
  await stack.handled(m.id);
  await stack.idle();
  expect(repliesTo(m)).toHaveLength(1);
  expect(reply!.channel_id).toBe(m.channel_id);
  // Generated text must never ping anyone but the asker, through the reply.
  expect(reply!.allowed_mentions).toEqual({ parse: [], replied_user: true });
  return reply!;
}

async function noReplyTo(m: FakeDiscordMessage): Promise<void> {
  const probe = fake.userMessage({ author: fake.user('prober'), content: '求夸 我来确认一下', channelId: m.channel_id });
  await oneReplyTo(probe);
  expect(repliesTo(m)).toHaveLength(0);
}

beforeAll(async () => {
  fake = await startFakeDiscord();
  admin = fake.user('admin');
  stack = await startStack({
    admins: { telegram: [], discord: [admin.id], wechat: [], web: [] },
    rateLimit: { chatPerMinute: 0 },
    messages: { help: LONG_HELP },
    // Every candidate of the tiny random model acceptable, so that a chorus has its replies.
    model: { candidates: 8, maxNewTokens: 8 },
    policy: { minScore: -100, minScoreOverFrame: -100 },
    chorus: { gapMs: 200 },
  });
  const recording: Core = recordingCore(stack.core, handed);
  const options = discordAdapter.options({ ...stack.config.discord, apiRoot: fake.apiRoot }, { DISCORD_TOKEN: fake.token });
  adapter = await startDiscordAdapter({ core: recording, logger: stack.logger, ...options! });
});

afterAll(async () => {
  await adapter?.stop();
  await stack?.close();
  await fake?.close();
});

describe('discord adapter, end to end through discord.js, Redis, the core and the worker', () => {
  it('takes the REST root from DISCORD_API_ROOT, connects to the gateway it names and registers /kuakua', () => {
    expect(discordAdapter.options(stack.config.discord, {})).toBeUndefined();
    expect(fake.rest.some((c) => c.method === 'GET' && c.path === '/api/v10/gateway/bot')).toBe(true);
    expect(fake.received.some((r) => r.op === 2)).toBe(true);
    expect(fake.registeredCommands).toEqual([
      expect.objectContaining({ name: 'kuakua', options: [expect.objectContaining({ name: 'text', type: 3, required: true })] }),
    ]);
  });

  it('answers a mention once, replying to the asker, with emoji before the mention', async () => {
    const m = fake.userMessage({ author: fake.user('alice'), content: `🎉👍🏽 <@${fake.bot.id}> 我今天跑完了全马` });
    const reply = await oneReplyTo(m);
    expect(reply.content.length).toBeGreaterThan(0);
    expect(handedFor(m)).toMatchObject({ mentionsBot: true, text: '🎉👍🏽 @kuakua 我今天跑完了全马', mentionTexts: ['@kuakua'] });
  });

  it('also takes the <@!id> nickname form', async () => {
    await oneReplyTo(fake.userMessage({ author: fake.user(), content: `<@!${fake.bot.id}> 我通过了面试` }));
  });

  it('ignores @everyone, role pings (even the bot role) and plain messages', async () => {
    const everyone = fake.userMessage({ author: fake.user(), content: '@everyone 开会了' });
    const role = fake.userMessage({ author: fake.user(), content: `<@&${fake.botRoleId}> 你好` });
    const plain = fake.userMessage({ author: fake.user(), content: '今天天气不错' });
    await noReplyTo(everyone);
    expect(repliesTo(role)).toHaveLength(0);
    expect(repliesTo(plain)).toHaveLength(0);
    expect(handedFor(role)).toMatchObject({ mentionsBot: false });
  });

  it('does not count a reply ping as a mention, but answers a reply to the bot', async () => {
    const first = fake.userMessage({ author: fake.user(), content: '夸我 我学会了游泳' });
    const botMessage = await oneReplyTo(first);
    const reply = fake.userMessage({ author: fake.user(), content: '谢谢！', replyTo: botMessage, pingRepliedUser: true });
    await oneReplyTo(reply);
    expect(handedFor(reply)).toMatchObject({ mentionsBot: false, repliesToBot: true });

    const human = fake.userMessage({ author: fake.user('bob'), content: '我刚到家' });
    const replyToHuman = fake.userMessage({ author: fake.user(), content: '欢迎回来', replyTo: human, pingRepliedUser: true });
    await noReplyTo(replyToHuman);
    expect(handedFor(replyToHuman)).toMatchObject({ mentionsBot: false, repliesToBot: false });
  });

  it('answers a direct message', async () => {
    const m = fake.userMessage({ author: fake.user('dm'), content: '我今天按时起床了', dm: true });
    await oneReplyTo(m);
    expect(handedFor(m)).toMatchObject({ isPrivate: true });
  });

  it('answers the /kuakua slash command by deferring, then editing the reply with the praise', async () => {
    const id = fake.slashCommand({ author: fake.user(), text: '我写完了论文' });
    await waitFor(() => fake.webhookMessages.some((w) => w.method === 'PATCH') || undefined, 'the edited slash command reply');
    expect(fake.interactionResponses).toEqual([{ interactionId: id, body: expect.objectContaining({ type: 5 }) }]);
    const edit = fake.webhookMessages.find((w) => w.method === 'PATCH')!;
    expect(String(edit.body.content).length).toBeGreaterThan(0);
    expect(edit.body.allowed_mentions).toEqual({ parse: [], replied_user: true });
  });

  it('answers a distress post in a channel with the care reply, without trigger word or mention', async () => {
    const reply = await oneReplyTo(fake.userMessage({ author: fake.user('sad'), content: 'I want to kill myself' }));
    expect(reply.content).toBe(stack.config.distress.reply);
  });

  it('answers a 求夸 that hides distress in words no pattern lists with the care reply, in the script it was written in', async () => {
    expect((await oneReplyTo(fake.userMessage({ author: fake.user('quiet'), content: INDIRECT_DISTRESS }))).content).toBe(stack.config.distress.reply);
    const traditional = await oneReplyTo(fake.userMessage({ author: fake.user('quiet-tw'), content: INDIRECT_DISTRESS_TRADITIONAL }));
    expect(traditional.content).toBe(await traditionalCareReply(stack.config.distress));
  });

  it('ignores other bots, even with a trigger word: the adapter hands them over and the core drops them', async () => {
    const m = fake.userMessage({ author: fake.user('robot', { bot: true }), content: '求夸 我是机器人' });
    expect(await stack.handled(m.id)).toBe('ignored');
    await noReplyTo(m);
  });

  it('keeps the per-user cooldown', async () => {
    const asker = fake.user('eager');
    const first = fake.userMessage({ author: asker, content: '求夸 第一次' });
    const second = fake.userMessage({ author: asker, content: '求夸 第二次' });
    await oneReplyTo(first);
    await noReplyTo(second);
  });

  it('lets only admins use admin commands; others get a polite refusal', async () => {
    const refused = await oneReplyTo(fake.userMessage({ author: fake.user('mallory'), content: '/kuakua_off' }));
    expect(refused.content).toBe(stack.config.messages.notAdmin);
    expect((await oneReplyTo(fake.userMessage({ author: admin, content: '/kuakua_off' }))).content).toBe(stack.config.messages.disabled);
    const whileOff = fake.userMessage({ author: fake.user(), content: '求夸 没人理我' });
    expect((await oneReplyTo(fake.userMessage({ author: admin, content: '/kuakua_on' }))).content).toBe(stack.config.messages.enabled);
    expect(repliesTo(whileOff)).toHaveLength(0);
    expect((await oneReplyTo(fake.userMessage({ author: admin, content: '/kuakua_status' }))).content).toMatch(/worker/);
  });

  it('answers with a chorus of 3 once an admin sets /kuakua_chorus 3: three distinct messages in order, each in its own voice; at most 2 for a sad post, care alone for distress, one cooldown per ask', async () => {
    expect((await oneReplyTo(fake.userMessage({ author: admin, content: '/kuakua_chorus 3' }))).content).toBe('本群每次求夸会有 3 位夸夸员来夸');
    try {
      const ask = fake.userMessage({ author: fake.user('runner'), content: '求夸 我今天跑完了五公里' });
      const replies = await waitFor(() => (repliesTo(ask).length === 3 ? repliesTo(ask) : undefined), 'three replies');
      await stack.idle();
      expect(repliesTo(ask)).toHaveLength(3);
      const voices = stack.config.chorus.voices.map((v) => v.name);
      const spoken = replies.map((r) => /^【(.+?)】/.exec(r.content)?.[1]);
      const at = voices.indexOf(spoken[0]!);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(spoken).toEqual([0, 1, 2].map((i) => voices[(at + i) % voices.length]));
      expect(new Set(replies.map((r) => r.content)).size).toBe(3);
      expect(replies.every((r) => r.allowed_mentions?.parse?.length === 0)).toBe(true);
      // In this chat of 3: a sad post gets at most chorus.gentleMax, distress the care reply alone, one ask one cooldown.
      const sad = fake.userMessage({ author: fake.user('sad'), content: '求鼓励 考试没过，好难过' });
      await waitFor(() => repliesTo(sad).length > 0 || undefined, 'a reply to the sad post');
      await stack.idle();
      expect(repliesTo(sad).length).toBeLessThanOrEqual(stack.config.chorus.gentleMax);
      expect((await oneReplyTo(fake.userMessage({ author: fake.user('low'), content: '我真的不想活了' }))).content).toBe(stack.config.distress.reply);
      const eager = fake.user('eager');
      const first = fake.userMessage({ author: eager, content: '求夸 我今天跑完了五公里' });
      await waitFor(() => repliesTo(first).length > 0 || undefined, 'the first ask answered');
      const second = fake.userMessage({ author: eager, content: '求夸 我又跑了五公里' });
      expect(await stack.handled(second.id)).toBe('ignored');
      await stack.idle();
      expect(repliesTo(second)).toHaveLength(0);
    } finally {
      await oneReplyTo(fake.userMessage({ author: admin, content: '/kuakua_chorus 1' }));
    }
  });

  it('praises a friend named by <@id> or by a reply to their message, by name; never a bot, a non-member or one who opted out', async () => {
    const ming = fake.user('小明');
    const post = fake.userMessage({ author: ming, content: '我今天把驾照考下来了' });
    const byMention = fake.userMessage({ author: fake.user(), content: `夸夸 <@${ming.id}> 他今天答辩过了` });
    expect((await oneReplyTo(byMention)).content).toMatch(/^小明，/);
    expect(handedFor(byMention)).toMatchObject({ friend: { userId: ming.id, name: '小明', isBot: false, inChat: true }, mentionTexts: ['@小明'] });
    const byReply = fake.userMessage({ author: fake.user(), content: '夸夸他', replyTo: post });
    expect((await oneReplyTo(byReply)).content).toMatch(/^小明，/);
    expect(handedFor(byReply)).toMatchObject({ friend: { userId: ming.id, repliedText: '我今天把驾照考下来了' } });

    const helper = fake.user('helper', { bot: true });
    const outsider = fake.user('路人', { outsider: true });
    const m = stack.config.messages;
    expect((await oneReplyTo(fake.userMessage({ author: fake.user(), content: `夸夸 <@${helper.id}> 它很勤快` }))).content).toBe(m.friendIsBot);
    expect((await oneReplyTo(fake.userMessage({ author: fake.user(), content: `夸夸 <@${outsider.id}> 他很棒` }))).content).toBe(m.friendNotInChat);
    const shy = fake.user('小静');
    expect((await oneReplyTo(fake.userMessage({ author: shy, content: '/kuakua_optout' }))).content).toBe(m.optedOut);
    expect((await oneReplyTo(fake.userMessage({ author: fake.user(), content: `夸一下 <@${shy.id}>` }))).content).toBe(m.friendOptedOut);
  });

  it('splits a long reply at 2000 characters', async () => {
    const m = fake.userMessage({ author: fake.user(), content: '/kuakua_help' });
    await oneReplyTo(m);
    const at = fake.posted.findIndex((p) => p.message_reference?.message_id === m.id);
    // Only the first part quotes the message: wait for the other two (and for anything after them).
    await waitFor(() => fake.posted.length >= at + 3 || undefined, 'all three parts of the help text');
    await stack.idle();
    expect(fake.posted).toHaveLength(at + 3);
    const parts = fake.posted.slice(at);
    expect(parts.map((p) => p.content).join('')).toBe(LONG_HELP);
    expect(parts.every((p) => p.content.length <= 2000)).toBe(true);
  });

  it('resumes the gateway session after the connection drops, and gets the messages sent meanwhile', async () => {
    const resumesBefore = fake.received.filter((r) => r.op === 6).length;
    fake.dropGateway();
    const m = fake.userMessage({ author: fake.user(), content: '求夸 断线之后' });
    await oneReplyTo(m);
    expect(fake.received.filter((r) => r.op === 6).length).toBe(resumesBefore + 1);
  });

  it('reconnects after the gateway refuses connections for a while, and answers messages sent after it is back', async () => {
    const sent = (op: number) => fake.received.filter((r) => r.op === op).length;
    const before = { identify: sent(2), resume: sent(6) };
    fake.dropGateway(2);
    await waitFor(() => fake.ready() || undefined, 'a new gateway session', 30_000);
    // discord.js gives up on resuming once a connection was refused, and identifies anew: one IDENTIFY, no RESUME.
    expect({ identify: sent(2), resume: sent(6) }).toEqual({ identify: before.identify + 1, resume: before.resume });
    await oneReplyTo(fake.userMessage({ author: fake.user(), content: '求夸 网络恢复了' }));
  });

  it('waits out a 429 from the REST API and then sends the reply once', async () => {
    const before = fake.rest.filter((c) => c.method === 'POST' && c.path.endsWith('/messages')).length;
    fake.rateLimitMessages(1, 1);
    await oneReplyTo(fake.userMessage({ author: fake.user(), content: '求夸 我被限流了' }));
    expect(fake.rest.filter((c) => c.method === 'POST' && c.path.endsWith('/messages')).length - before).toBe(2);
  });

  it.each(BAD_INPUTS)('answers bad input in a DM, asking the models for the post the core makes of it: %s', async (_name, content, facts) => {
    const m = fake.userMessage({ author: fake.user('fuzzer'), content, dm: true });
    await oneReplyTo(m);
    expect(await askedPost(stack, m.id)).toBe(expectedPost(facts, stack.config));
    await oneReplyTo(fake.userMessage({ author: fake.user('after'), content: '求夸', dm: true }));
  });

  it('says clearly when the Message Content intent is not enabled, or the token is wrong', async () => {
    const strict = await startFakeDiscord({ messageContentAllowed: false });
    try {
      await expect(startDiscordAdapter({ core: stack.core, logger: stack.logger, token: strict.token, apiRoot: strict.apiRoot })).rejects.toThrow(
        /enable it in the Developer Portal/,
      );
      await expect(startDiscordAdapter({ core: stack.core, logger: stack.logger, token: 'wrong-token-value', apiRoot: strict.apiRoot })).rejects.toThrow(
        'Discord rejected DISCORD_TOKEN (401)',
      );
    } finally {
      await strict.close();
    }
  });

  it('never logs the token', () => {
    const all = stack.logs.join('\n');
    expect(all).toContain('discord adapter started');
    expect(all).not.toContain(fake.token);
  });
});
