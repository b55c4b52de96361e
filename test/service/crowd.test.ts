import { describe, expect, it } from 'vitest';
import type { AppConfig } from '../../src/app/config.ts';
import type { Delivery } from '../../src/events.ts';
import type { Engine } from '../../worker/engine/index.ts';
import { scriptedEngine } from '../helpers/scriptedEngine.ts';
import { collect, message, testConfig, useServiceFixture, waitFor } from './support.ts';

// A chorus and a friend's praise through the real core, queue and worker, with a scripted engine so that the candidates
// are known. The adapters' own tests show each platform's messages and mention formats.
const fx = useServiceFixture();

const RUN = ['五公里说跑就跑，佩服！', '五公里说跑就跑，佩服你', '配速稳稳的五公里，太自律了', '跑完还来求夸，元气满满的一天', '腿是你的，风也是你的'];
const MORNING = ['早起跑步的人自带光芒', '五公里打卡成功，今天的你闪闪发光', '坚持跑步的人运气都不会差'];
const SAD = ['抱抱你，这次没过不代表你不行', '辛苦了，先好好休息一下', '慢慢来，你已经很努力了', '别难过，下次一定可以'];

async function setup(engine: Engine, patch: Parameters<typeof testConfig>[1] = {}) {
  const config: AppConfig = testConfig(fx.redis.url, {
    retrieval: { dir: '' },
    ...patch,
    // Every candidate scores the same, so the engine's order decides.
    policy: { minScore: 0, score: { bias: 4, logprob: 0, judge: 0, chars: 0 }, ...patch.policy },
    chorus: { default: 3, gapMs: 300, ...patch.chorus },
    admins: { telegram: ['admin-1'] },
  });
  const bot = await fx.core(config);
  const got = collect(bot);
  const at: number[] = [];
  bot.onDelivery('telegram', async (d) => {
    got.push(d);
    at.push(Date.now());
  });
  await fx.worker(config, engine);
  return { config, bot, got, at };
}

const texts = (ds: Delivery[]) => ds.map((d) => d.text);

describe('a chorus', () => {
  it('answers one ask with 3 messages to the asker, in order, each a different candidate in its own voice, chorus.gapMs apart', async () => {
    const { config, bot, got, at } = await setup(scriptedEngine([RUN]));
    const msg = message({ text: '求夸 我今天跑了五公里' });
    await bot.handle(msg);
    await waitFor(() => got.length === 3, 'three replies');
    const voices = got.map((d) => d.voice.name);
    expect(new Set(voices).size).toBe(3);
    expect(voices.every((v) => config.chorus.voices.some((x) => x.name === v))).toBe(true);
    // The best three, the second candidate left out as alike the first, each labelled with its voice.
    expect(texts(got)).toEqual([RUN[0], RUN[2], RUN[3]].map((t, i) => `【${voices[i]}】${t}`));
    expect(got.every((d) => d.replyToMessageId === msg.messageId && d.userId === msg.userId && d.kind === 'praise')).toBe(true);
    // Slow machines only make the gaps longer.
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(config.chorus.gapMs - 50);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(config.chorus.gapMs - 50);
    // All three are the chat's history now: none comes back to this chat.
    expect(await fx.admin.lrange('{kuakua}:history:telegram:group-1', 0, -1)).toEqual([RUN[3], RUN[2], RUN[0]]);
    await fx.idle(config);
    expect(got).toHaveLength(3);
  });

  it('hands an adapter that takes a chorus at once one delivery with all of it, unlabelled', async () => {
    const { config, bot } = await setup(scriptedEngine([RUN]));
    const together: Delivery[] = [];
    bot.onDelivery('web', async (d) => void together.push(d), { chorusTogether: true });
    await bot.handle(message({ platform: 'web', chatId: 'web-1', isPrivate: true, text: '我今天跑了五公里' }));
    await waitFor(() => together.length === 1, 'the reply');
    await fx.idle(config);
    expect(together).toHaveLength(1);
    expect(together[0]!.chorus?.map((r) => r.text)).toEqual([RUN[0], RUN[2], RUN[3]]);
    expect(together[0]!.text).toBe(RUN[0]);
  });

  it('sends fewer when fewer candidates are acceptable, and a tone reply alone when none is', async () => {
    const { config, bot, got } = await setup(
      scriptedEngine([
        [RUN[0]!, '哈'],
        ['哈哈', '好'],
      ]),
    );
    await bot.handle(message({ userId: 'u1' }));
    await waitFor(() => got.length === 1, 'the reply');
    await bot.handle(message({ userId: 'u2' }));
    await waitFor(() => got.length === 2, 'the second reply');
    await fx.idle(config);
    // One candidate: one reply, spoken by the bot itself and not labelled.
    expect(got[0]).toMatchObject({ kind: 'praise', text: RUN[0], voice: config.chorus.host });
    expect(got[1]).toMatchObject({ kind: 'fallback', voice: config.chorus.host });
    expect(got).toHaveLength(2);
  });

  it('answers a sad post with at most chorus.gentleMax gentle replies, and a distress post with the care reply only', async () => {
    const engine = scriptedEngine([SAD]);
    const { config, bot, got } = await setup(engine);
    await bot.handle(message({ text: '求安慰 考试没过，好难过', userId: 'u1', mentionsBot: true }));
    await waitFor(() => got.length === 2, 'two replies');
    const care = await bot.handle(message({ text: '求夸 我真的不想活了', userId: 'u2' }));
    expect(care).toMatchObject({ action: 'replied', delivery: { kind: 'care', voice: config.chorus.host } });
    await fx.idle(config);
    expect(got).toHaveLength(2);
    expect(engine.calls).toHaveLength(1);
  });

  it('counts one ask once against the cooldown and the chat’s rate limit', async () => {
    const { config, bot, got } = await setup(scriptedEngine([RUN, MORNING]), { rateLimit: { chatPerMinute: 2 } });
    expect(await bot.handle(message({ userId: 'u1' }))).toMatchObject({ action: 'queued' });
    expect(await bot.handle(message({ userId: 'u1' }))).toEqual({ action: 'ignored', reason: 'cooldown' });
    expect(await bot.handle(message({ userId: 'u2' }))).toMatchObject({ action: 'queued' });
    expect(await bot.handle(message({ userId: 'u3' }))).toEqual({ action: 'ignored', reason: 'rate-limited' });
    await waitFor(() => got.length === 6, 'two choruses of three');
    await fx.idle(config);
    expect(got).toHaveLength(6);
  });

  it('lets admins set the chat’s chorus with /kuakua_chorus, and nobody else', async () => {
    const { bot, got } = await setup(scriptedEngine([RUN]));
    const refused = await bot.handle(message({ text: '/kuakua_chorus 1', userId: 'u1' }));
    expect(refused).toMatchObject({ action: 'replied', delivery: { kind: 'refusal' } });
    const wrong = await bot.handle(message({ text: '/kuakua_chorus 9', userId: 'admin-1' }));
    expect(wrong).toMatchObject({ action: 'replied', delivery: { kind: 'refusal', text: '用法：/kuakua_chorus 1-4' } });
    const set = await bot.handle(message({ text: '/kuakua_chorus 1', userId: 'admin-1' }));
    expect(set).toMatchObject({ action: 'replied', delivery: { kind: 'admin', text: '本群每次求夸会有 1 位夸夸员来夸' } });
    await bot.handle(message({ userId: 'u2' }));
    await waitFor(() => got.length === 1, 'the reply');
    expect(got[0]!.text).toBe(RUN[0]);
  });
});

describe('praise a friend', () => {
  const ming = { userId: 'u-ming', name: '小明', isBot: false, inChat: true };

  it('praises the friend by name, for what the ask says about them, and mentions them', async () => {
    const engine = scriptedEngine([['答辩一次就过，太稳了！', '准备了那么久，终于收获了']]);
    const { config, bot, got } = await setup(engine, { chorus: { default: 1 } });
    const msg = message({ text: '夸夸 @小明 他今天答辩过了', friend: ming, mentionTexts: ['@小明'] });
    expect(await bot.handle(msg)).toMatchObject({ action: 'queued' });
    await waitFor(() => got.length === 1, 'the reply');
    expect(engine.calls[0]!.post).toBe('我今天答辩过了');
    expect(got[0]).toMatchObject({ kind: 'praise', text: '小明，答辩一次就过，太稳了！', userId: 'u-ming', userName: '小明', replyToMessageId: msg.messageId });
    await fx.idle(config);
  });

  it('never praises a bot or someone not in the chat, and respects /kuakua_optout until /kuakua_optin', async () => {
    const engine = scriptedEngine([['答辩一次就过，太稳了！']]);
    const { config, bot, got } = await setup(engine, { chorus: { default: 1 } });
    const ask = (friend: typeof ming, userId: string) => bot.handle(message({ text: '夸夸他 今天答辩过了', friend, userId }));
    expect(await ask({ ...ming, isBot: true }, 'a1')).toMatchObject({ delivery: { kind: 'refusal', text: config.messages.friendIsBot } });
    expect(await ask({ ...ming, inChat: false }, 'a2')).toMatchObject({ delivery: { kind: 'refusal', text: config.messages.friendNotInChat } });
    expect(await bot.handle(message({ text: '/kuakua_optout', userId: 'u-ming' }))).toMatchObject({ delivery: { text: config.messages.optedOut } });
    expect(await ask(ming, 'a3')).toMatchObject({ delivery: { kind: 'refusal', text: config.messages.friendOptedOut } });
    expect(await bot.handle(message({ text: '/kuakua_optin', userId: 'u-ming' }))).toMatchObject({ delivery: { text: config.messages.optedIn } });
    expect(await ask(ming, 'a4')).toMatchObject({ action: 'queued' });
    await waitFor(() => got.length === 1, 'the reply');
    expect(got[0]).toMatchObject({ kind: 'praise', userId: 'u-ming' });
    // Refusals took no cooldown: the askers may ask again at once.
    expect(await bot.handle(message({ userId: 'a1' }))).toMatchObject({ action: 'queued' });
    await fx.idle(config);
    expect(engine.calls).toHaveLength(2);
  });
});
