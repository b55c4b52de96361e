import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.ts';
import { defaultDistressConfig } from '../../src/config.ts';
import { careReply, matchDistress } from '../../src/distress.ts';
import { inScript } from '../../src/script.ts';

const { patterns, exceptions, reply, replyTraditional } = defaultDistressConfig();
const match = (text: string) => matchDistress(text, patterns, exceptions);

describe('matchDistress with the shipped patterns', () => {
  it.each([
    ['我不想活了', '不想活'],
    ['活着没意思', '活着没意思'],
    ['最近总想死', '想死'],
    ['我想自杀', '自杀'],
    ['有轻生的念头', '轻生'],
    ['真的活不下去了', '活不下去'],
    ['还不如死了', '不如死了'],
    ['想结束生命', '结束生命'],
    ['想结束自己', '结束自己'],
    ['昨晚又割腕了', '割腕'],
    ['我在自残', '自残'],
    ['总想伤害自己', '伤害自己'],
    ['一了百了吧', '一了百了'],
    ['我活够了', '活够了'],
    ['想去跳楼', '跳楼'],
    ['寻死', '寻死'],
    ['我不想活了，最近太累', '不想活'],
    ['求夸 我想自杀', '自杀'],
    ['活著沒意思', '活著沒意思'],
    // Plain words from the douban group's own distress posts.
    ['最近一年，负能量好多，好想去死啊', '想去死'],
    ['半夜里醒来。想跳下去。', '想跳下去'],
    ['天天想着死', '想着死'],
    ['又想DIE了求赞美', '想die'],
    ['想从楼上跳下去', '从楼上跳下'],
    ['最近产生了一些不好的念头', '不好的念头'],
    ['覺得人生沒有意義', '人生沒有意義'],
  ])('%s -> %s', (text, pattern) => {
    expect(match(text)).toBe(pattern);
  });

  it.each([
    '不 想 活 了',
    '不想活了!!!',
    '不-想-活-了……',
    '不，想，活，了',
    '不😭想😭活😭了',
    '不\u200b想\u200d活了',
    '\u3000不\u3000想\u3000活\u3000了\u3000',
  ])('sees through spaces, punctuation, emoji and invisible characters: %j', (text) => {
    expect(match(text)).toBe('不想活');
  });

  it.each([
    ['suicide', 'suicide'],
    ['Having SUICIDAL thoughts again', 'suicidal'],
    ['I want to kill myself', 'kill myself'],
    ['ｋｉｌｌ　ｍｙｓｅｌｆ', 'kill myself'],
    ['kill-myself', 'kill myself'],
    ['I just want to die.', 'want to die'],
    ['i wanna die lol', 'wanna die'],
    ['I want to end my life', 'end my life'],
    ['self-harm', 'self-harm'],
    ['Self Harm', 'self-harm'],
    ['I keep thinking I should hurt myself', 'hurt myself'],
    ["I don't want to live", "don't want to live"],
    ['I don’t want to live anymore', "don't want to live"],
    ['i dont want to live', "don't want to live"],
    ['我真的 want to die', 'want to die'],
  ])('English: %j -> %s', (text, pattern) => {
    expect(match(text)).toBe(pattern);
  });

  it.each([
    ['想死你了', 'miss you so much'],
    ['想死你了！！', 'with punctuation'],
    ['好久不见，想死你们了', 'missing a group'],
    ['可想死我了', 'missed by me'],
    ['今天不想活动，求夸', 'not in the mood to move'],
    ['我要跟这道题死磕到底，我想死磕', 'stubborn'],
    ['周末去坐了跳楼机，求夸我勇敢', 'a drop tower ride'],
    ['跳楼价大甩卖', 'a sale'],
    ['the suicide squad movie was fun', 'a film title'],
  ])('an exception alone is no match: %s (%s)', (text) => {
    expect(match(text)).toBeUndefined();
  });

  it('an exception is cut out, not a pass for the whole text; punctuation breaks a Chinese exception', () => {
    expect(match('想死你了，可我真的想死')).toBe('想死');
    expect(match('我想死，你们了解吗')).toBe('想死');
    expect(match('跳楼价甩卖，我也想跳楼')).toBe('跳楼');
  });

  it.each([
    '失恋了',
    '考研没过',
    '今天好累，不开心',
    '被老板骂了，心情很差',
    '求夸 我今天跑了五公里',
    '夸我 我终于把论文写完了',
    '求鼓励 明天要面试了，好紧张',
    'I killed it at the interview today',
    'skills matter: I taught myself to code',
    'the die is cast',
    '笑死我了',
  ])('no match: %s', (text) => {
    expect(match(text)).toBeUndefined();
  });

  it('Latin patterns match whole words only', () => {
    expect(matchDistress('I can skill myself up', ['kill myself'])).toBeUndefined();
    expect(matchDistress('suicides', ['suicide'])).toBeUndefined();
    expect(matchDistress('Suicide.', ['suicide'])).toBe('suicide');
    expect(matchDistress('résumé', ['resume'])).toBe('resume');
  });

  it('ignores patterns that are empty after normalization', () => {
    expect(matchDistress('任何文字', ['!!!', ' ', '…'])).toBeUndefined();
  });
});

describe('the distress config', () => {
  it('ships the required patterns, the exceptions and a reply with the help lines', () => {
    expect(patterns).toEqual(
      expect.arrayContaining([
        '活着没意思',
        '不想活',
        '想死',
        '自杀',
        '轻生',
        '寻死',
        '活不下去',
        '不如死了',
        '结束生命',
        '结束自己',
        '割腕',
        '自残',
        '伤害自己',
        '一了百了',
        '活够了',
        '跳楼',
        'suicide',
        'suicidal',
        'kill myself',
        'want to die',
        'wanna die',
        'end my life',
        'self-harm',
        'self harm',
        'hurt myself',
        "don't want to live",
      ]),
    );
    expect(exceptions).toEqual(expect.arrayContaining(['想死你了', '想死我了']));
    for (const line of ['12356', '010-82951332', '120', '110', '信任']) expect(reply).toContain(line);
    // The CLI's defaults and the bot's config are one source.
    expect(loadConfig({ env: {} }).distress).toEqual({ patterns, exceptions, reply, replyTraditional, repeatSeconds: 600 });
  });

  it('answers a Traditional post with help lines of Taiwan and Hong Kong, a Simplified one with the mainland lines', async () => {
    const traditional = await careReply({ reply, replyTraditional }, 'traditional');
    for (const line of ['1925', '1995', '2389 2222', '2896 0000', '119', '999', '信任']) expect(traditional).toContain(line);
    expect(traditional).not.toContain('12356');
    expect(await careReply({ reply, replyTraditional }, 'simplified')).toBe(reply);
    // Without a Traditional reply of its own, a Traditional post gets distress.reply converted.
    expect(await careReply({ reply, replyTraditional: '' }, 'traditional')).toBe(await inScript(reply, 'traditional'));
  });
});
