import { describe, expect, it } from 'vitest';
import { parseAdminCommand } from '../../src/admin.ts';
import { loadConfig } from '../../src/app/config.ts';
import { chatChorus, chorusSize, chorusVoices, labelled } from '../../src/chorus.ts';
import { asTheirOwn, friendAsk } from '../../src/friend.ts';
import { alike } from '../../src/policy.ts';
import { message } from './support.ts';

const config = loadConfig({ env: {} });
const ask = { chat: 3, post: '我今天跑了五公里', depth: 0, limit: 100 };

describe('chorus size', () => {
  it('is the chat’s: admins’ setting, else the config’s entry for the chat, else the platform’s default (web 3, others 1)', () => {
    expect(chatChorus(config, 'web', 'anyone')).toBe(3);
    expect(chatChorus(config, 'telegram', 'g1')).toBe(1);
    expect(chatChorus({ ...config, chats: { 'telegram:g1': { chorus: 2 } } }, 'telegram', 'g1')).toBe(2);
    expect(chatChorus({ ...config, chats: { 'telegram:g1': { chorus: 2 } } }, 'telegram', 'g1', 4)).toBe(4);
  });

  it('gives an ask what it asks for up to the chat’s, never more', () => {
    expect(chorusSize({ ...ask, requested: 1 }, 2)).toBe(1);
    expect(chorusSize({ ...ask, requested: 4 }, 2)).toBe(3);
    expect(chorusSize(ask, 2)).toBe(3);
  });

  it('gives a post that calls for comfort at most gentleMax, by the reader’s intent or, without one, the words', () => {
    expect(chorusSize({ ...ask, post: '今天考试没过', intent: 'setback' }, 2)).toBe(2);
    expect(chorusSize({ ...ask, post: '明天复查，好紧张', intent: 'anxious' }, 1)).toBe(1);
    expect(chorusSize({ ...ask, post: '失恋了好难过' }, 2)).toBe(2);
    expect(chorusSize({ ...ask, post: '今天考试没过', intent: 'achievement' }, 2)).toBe(3);
  });

  it('shrinks as the queue fills, in proportion to the room left, down to one before anyone is refused', () => {
    const at = (depth: number) => chorusSize({ ...ask, chat: 4, depth, limit: 100 }, 2);
    expect([0, 25, 50, 76, 99].map(at)).toEqual([4, 3, 2, 1, 1]);
  });
});

describe('chorus voices', () => {
  it('speaks as the bot itself for one reply, and as that many different members for a chorus, from a random one', () => {
    expect(chorusVoices(config.chorus, 1)).toEqual([config.chorus.host]);
    const names = (r: number) => chorusVoices(config.chorus, 4, () => r).map((v) => v.name);
    expect(new Set(names(0)).size).toBe(4);
    expect(names(0)[0]).toBe(config.chorus.voices[0]!.name);
    expect(names(0.99)[0]).toBe(config.chorus.voices.at(-1)!.name);
    expect(labelled('【{voice}】{text}', { text: '五公里说跑就跑！', voice: { name: '小夸', avatar: '🌟' } })).toBe('【小夸】五公里说跑就跑！');
  });

  it('counts two replies alike when one is mostly the other, not when they share a word', () => {
    expect(alike('五公里说跑就跑，佩服！', '五公里说跑就跑，佩服你')).toBe(true);
    expect(alike('五公里说跑就跑，佩服！', '配速稳稳的五公里，太自律了')).toBe(false);
  });
});

describe('praise a friend: reading the ask', () => {
  const t = { keywords: config.triggers.keywords, friendKeywords: config.triggers.friendKeywords, genericPost: config.triggers.genericPost };
  const ming = { userId: 'u-ming', name: '小明', isBot: false, inChat: true };

  it('takes what the ask says about the friend as their own post', () => {
    const got = friendAsk(message({ text: '夸夸 @小明 他今天答辩过了', friend: ming, mentionTexts: ['@小明'] }), t);
    expect(got).toEqual({ friend: ming, post: '我今天答辩过了' });
    expect(asTheirOwn('小明今天帮其他同学搬了家', '小明')).toBe('我今天帮其他同学搬了家');
  });

  it('praises the message it replies to when the ask says nothing more, and the generic post when there is none', () => {
    const replied = { ...ming, repliedText: '我终于把驾照考下来了' };
    expect(friendAsk(message({ text: '夸夸他', friend: replied }), t)?.post).toBe('我终于把驾照考下来了');
    expect(friendAsk(message({ text: '夸一下', friend: ming }), t)?.post).toBe(config.triggers.genericPost);
  });

  it('is no friend ask without a friend keyword, with a keyword that asks for the writer, or naming the writer', () => {
    expect(friendAsk(message({ text: '@小明 晚上吃什么', friend: ming }), t)).toBeUndefined();
    expect(friendAsk(message({ text: '求夸 我和小明跑完了半马', friend: ming }), t)).toBeUndefined();
    expect(friendAsk(message({ text: '夸夸他', friend: { ...ming, userId: 'me' }, userId: 'me' }), t)).toBeUndefined();
  });

  it('has the commands: /kuakua_chorus with its count, /kuakua_optout and /kuakua_optin', () => {
    expect(parseAdminCommand('/kuakua_chorus@kuakua_bot 3')).toEqual({ name: 'chorus', args: ['3'] });
    expect(parseAdminCommand('/kuakua_optout')).toEqual({ name: 'optout', args: [] });
    expect(parseAdminCommand('/kuakua_optin')).toEqual({ name: 'optin', args: [] });
  });
});
