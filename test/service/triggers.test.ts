import { describe, expect, it } from 'vitest';
import { parseAdminCommand } from '../../src/admin.ts';
import { resolveTriggerSettings } from '../../src/chatSettings.ts';
import { loadConfig } from '../../src/app/config.ts';
import { extractPost, evaluateTrigger, type TriggerDecision, type TriggerSettings } from '../../src/triggers.ts';
import { message } from './support.ts';

const base: TriggerSettings = {
  enabled: true,
  keywords: ['求夸', '夸我', '求表扬', '求鼓励'],
  mentionRequired: false,
  privateChats: true,
  genericPost: '求夸',
};

describe('evaluateTrigger', () => {
  // A row without a post is a message not taken, and the reason says why.
  const cases: [string, Parameters<typeof message>[0], Partial<TriggerSettings>, TriggerDecision['reason'], string?][] = [
    ['keyword with content', { text: '求夸 我今天跑了五公里' }, {}, 'keyword', '我今天跑了五公里'],
    ['keyword at the end with punctuation', { text: '我终于把论文写完了，夸我！' }, {}, 'keyword', '我终于把论文写完了'],
    ['bare keyword gets the generic post', { text: '求夸' }, {}, 'keyword', '求夸'],
    ['several trigger words only', { text: '求夸 夸我 求表扬！！' }, {}, 'keyword', '求夸'],
    ['no trigger in a group', { text: '今天天气不错' }, {}, 'no-trigger'],
    ['private chat without keyword', { text: '今天好累', isPrivate: true }, {}, 'private', '今天好累'],
    ['private chats switched off', { text: '今天好累', isPrivate: true }, { privateChats: false }, 'no-trigger'],
    ['@mention, mention text stripped', { text: '@kuakua_bot 我学会了游泳', mentionsBot: true, mentionTexts: ['@kuakua_bot'] }, {}, 'mention', '我学会了游泳'],
    ['bare @mention', { text: '<@123>', mentionsBot: true, mentionTexts: ['<@123>'] }, {}, 'mention', '求夸'],
    ['reply to the bot', { text: '再夸一次，我还做了饭', repliesToBot: true }, {}, 'reply', '再夸一次，我还做了饭'],
    ['explicit command', { text: '/kuakua 我考了满分', explicit: true }, {}, 'explicit', '我考了满分'],
    ['explicit command with bot name', { text: '/kuakua@kuakua_bot', explicit: true }, {}, 'explicit', '求夸'],
    ['disabled chat', { text: '求夸' }, { enabled: false }, 'disabled'],
    ['mention required, keyword only', { text: '求夸 我做完了' }, { mentionRequired: true }, 'mention-required'],
    [
      'mention required, with mention',
      { text: '@kk 求夸 我做完了', mentionsBot: true, mentionTexts: ['@kk'] },
      { mentionRequired: true },
      'mention',
      '我做完了',
    ],
    ['mention required does not apply to private chats', { text: '求夸', isPrivate: true }, { mentionRequired: true }, 'private', '求夸'],
    ['extra keyword', { text: '加油 我明天面试' }, { keywords: [...base.keywords, '加油'] }, 'keyword', '我明天面试'],
    ['latin keyword is case-insensitive', { text: 'PRAISE me, I shipped it' }, { keywords: ['praise me'] }, 'keyword', 'I shipped it'],
    ['zero-width chars inside a keyword', { text: '求\u200B夸 我戒烟一周了' }, {}, 'keyword', '我戒烟一周了'],
    ['lone surrogate is replaced', { text: '求夸 \uD800好' }, {}, 'keyword', '\uFFFD好'],
  ];
  it.each(cases)('%s', (_name, over, settings, reason, post) => {
    const d = evaluateTrigger(message(over), { ...base, ...settings });
    expect(d).toEqual(post === undefined ? { triggered: false, reason } : { triggered: true, reason, post });
  });

  it('reports why a message was not taken', () => {
    expect(evaluateTrigger(message({ text: 'hi' }), base)).toEqual({ triggered: false, reason: 'no-trigger' });
    expect(evaluateTrigger(message({ text: '求夸' }), { ...base, mentionRequired: true })).toEqual({ triggered: false, reason: 'mention-required' });
  });

  it('cuts a huge post to a bounded length', () => {
    const post = extractPost(`求夸 ${'跑'.repeat(100_000)}`, base.keywords, [], '求夸');
    expect(Array.from(post)).toHaveLength(300);
  });
});

describe('per-chat settings', () => {
  const config = loadConfig({ env: {} });
  config.chats['telegram:g2'] = { enabled: false, extraKeywords: ['冲'], mentionRequired: true };

  it('config overrides apply to their chat only', () => {
    expect(resolveTriggerSettings(config, 'telegram', 'g2', {})).toMatchObject({
      enabled: false,
      mentionRequired: true,
      keywords: [...config.triggers.keywords, '冲'],
    });
    expect(resolveTriggerSettings(config, 'telegram', 'other', {})).toMatchObject({
      enabled: true,
      mentionRequired: false,
      keywords: config.triggers.keywords,
    });
    expect(resolveTriggerSettings(config, 'discord', 'g2', {}).enabled).toBe(true);
  });

  it('settings stored by admins win over the config file', () => {
    expect(resolveTriggerSettings(config, 'telegram', 'g2', { enabled: true, extraKeywords: ['加油'] })).toMatchObject({
      enabled: true,
      keywords: [...config.triggers.keywords, '加油'],
    });
  });
});

describe('parseAdminCommand', () => {
  it.each([
    ['/kuakua_on', { name: 'on', args: [] }],
    ['/kuakua_off@kuakua_bot', { name: 'off', args: [] }],
    ['/kuakua_keywords 加油 冲，棒', { name: 'keywords', args: ['加油', '冲', '棒'] }],
    ['/KUAKUA_STATUS', { name: 'status', args: [] }],
    ['/kuakua_help', { name: 'help', args: [] }],
    ['/kuakua_rm -rf', null],
    ['求夸 /kuakua_on', null],
    ['/kuakua 我考了满分', null],
  ])('%s', (text, expected) => {
    expect(parseAdminCommand(text)).toEqual(expected);
  });
});
