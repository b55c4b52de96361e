import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fallbackPraise } from '../../src/fallback.ts';
import { type Frames, fillFrame, isFrameText, loadFrames } from '../../src/frames.ts';
import { GENTLE_INTENTS } from '../../src/intents.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { clashesWithTone, toneOf } from '../../src/tone.ts';
import { loadTopics, MOODS, moodOf, topicOf } from '../../src/topicFrames.ts';

/** A frames directory with one intent frame per kind used here and two topics. */
function writeFrames(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kuakua-topics-'));
  writeFileSync(
    join(dir, 'a.jsonl'),
    [
      '{"kind":"effort","text":"「{q}」，坚持的样子真好"}',
      '{"kind":"joke","text":"「{q}」这句我要念十遍"}',
      '{"kind":"anxious","text":"「{q}」，别怕"}',
      '{"kind":"setback","text":"「{q}」，先抱抱你"}',
      '{"kind":"celebration","text":"「{q}」，热闹起来"}',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'topics'));
  writeFileSync(
    join(dir, 'topics', 'body.keywords.json'),
    JSON.stringify({
      exercise: { name: '运动', keywords: ['跑步', '健身'], not: [] },
      pets: { name: '宠物', keywords: ['猫', '狗'], not: ['单身狗'] },
    }),
  );
  writeFileSync(
    join(dir, 'topics', 'body.jsonl'),
    [
      '{"topic":"exercise","mood":"cheer","text":"「{q}」！脂肪已经连夜收拾行李了"}',
      '{"topic":"exercise","mood":"cheer","text":"你说「{q}」，肌肉都在鼓掌"}',
      '{"topic":"exercise","mood":"worry","text":"「{q}」，别怕，身体记得每一次坚持"}',
      '{"topic":"exercise","mood":"hurt","text":"「{q}」，先抱抱你，跑道一直在等你"}',
      '{"topic":"pets","mood":"cheer","text":"「{q}」，毛孩子选你当家人真会挑"}',
      '{"topic":"pets","mood":"joke","text":"「{q}」，猫主子已经批准你当御用铲屎官了"}',
      '{"topic":"pets","mood":"cheer","text":"没有槽位的猫"}',
      '{"topic":"nobody","mood":"cheer","text":"「{q}」，没有关键词的话题"}',
    ].join('\n'),
  );
  return dir;
}

describe('topic frames', () => {
  const frames = loadFrames(writeFrames());
  const topic = (id: string) => frames.topics.find((t) => t.id === id)!;

  it('load by topic and mood, keeping only valid frames of topics with keywords', () => {
    expect(frames.topics.map((t) => t.id)).toEqual(['exercise', 'pets']);
    expect(topic('exercise').frames).toEqual({
      cheer: ['「{q}」！脂肪已经连夜收拾行李了', '你说「{q}」，肌肉都在鼓掌'],
      worry: ['「{q}」，别怕，身体记得每一次坚持'],
      joke: [],
    });
    expect(topic('pets').frames).toEqual({ cheer: ['「{q}」，毛孩子选你当家人真会挑'], worry: [], joke: ['「{q}」，猫主子已经批准你当御用铲屎官了'] });
    expect(loadTopics(join(tmpdir(), 'no-such-topics-dir'), isFrameText)).toEqual([]);
    // A keywords file that does not parse leaves its topics out; the intent's frames still load.
    const broken = writeFrames();
    writeFileSync(join(broken, 'topics', 'body.keywords.json'), '{"exercise": {"keywords": []}');
    expect(loadFrames(broken).topics).toEqual([]);
    expect(loadFrames(broken).byKind.get('effort')).toEqual(['「{q}」，坚持的样子真好']);
  });

  it('find the topic the quoted phrase names first, read in Simplified, and none it names only elsewhere', () => {
    expect(topicOf('今天跑步五公里，回家撸猫', frames.topics)?.id).toBe('exercise');
    expect(topicOf('回家撸猫', frames.topics)?.id).toBe('pets');
    expect(topicOf('第一次帶貓去看醫生', frames.topics)?.id).toBe('pets');
    expect(topicOf('单身狗也要好好吃饭', frames.topics)).toBeUndefined();
    expect(topicOf('把衣服洗完了', frames.topics)).toBeUndefined();
    expect(fallbackPraise('终于坚持下来了，今天跑步五公里', [], () => 0, 'effort', { frames }).form).toBe('framed');
  });

  it('take the mood from the intent: cheer, worry or joke; none for a party or bad news', () => {
    expect(moodOf('effort', 'neutral')).toBe('cheer');
    expect(moodOf('anxious', 'anxious')).toBe('worry');
    for (const intent of GENTLE_INTENTS.filter((i) => i !== 'anxious')) expect(moodOf(intent, 'sad')).toBeUndefined();
    expect(moodOf('celebration', 'achievement')).toBeUndefined();
    expect(moodOf('joke', 'neutral')).toBe('joke');
    // Without a reader, the tone of the words decides.
    expect(moodOf(undefined, 'sad')).toBeUndefined();
    expect(moodOf(undefined, 'encourage')).toBe('worry');
    expect(moodOf(undefined, 'birthday')).toBeUndefined();
  });

  it('answer a post that names a topic with a frame of its topic and mood, before the intent’s', () => {
    const post = '今天跑步五公里，求夸';
    const cheer = topic('exercise').frames.cheer.map((f) => fillFrame(f, '跑步五公里'));
    for (let i = 0; i < 10; i++) expect(cheer).toContain(fallbackPraise(post, [], Math.random, 'effort', { frames }).text);
    expect(fallbackPraise('明天跑步比赛好紧张', [], () => 0, 'anxious', { frames }).text).toBe('「明天跑步比赛好紧张」，别怕，身体记得每一次坚持');
    // A worry's topic may be named beside the clause quoted; good news is answered about the clause itself.
    expect(fallbackPraise('今晚紧张到睡不着，明天就是健身比赛', [], () => 0, 'anxious', { frames }).text).toBe('「紧张到睡不着」，别怕，身体记得每一次坚持');
    expect(fallbackPraise('今晚开心到睡不着，明天就是健身比赛', [], () => 0, 'effort', { frames }).text).toBe('「开心到睡不着」，坚持的样子真好');
  });

  it('answer with the intent’s frame when the topic has no frame of that mood (a joke about running here), the news is bad, or the chat had them all', () => {
    expect(fallbackPraise('明天带猫去打针好紧张', [], () => 0, 'anxious', { frames }).text).toBe('「明天带猫去打针好紧张」，别怕');
    expect(fallbackPraise('跑步把膝盖跑伤了', [], () => 0, 'setback', { frames }).text).toBe('「跑步把膝盖跑伤了」，先抱抱你');
    expect(fallbackPraise('跑步五公里', [], () => 0, 'joke', { frames }).text).toBe('「跑步五公里」这句我要念十遍');
    // A topic with joke frames answers a joke with one.
    expect(fallbackPraise('把猫喂成了一个球', [], () => 0, 'joke', { frames }).text).toBe('「把猫喂成了一个球」，猫主子已经批准你当御用铲屎官了');
    const sent = topic('exercise').frames.cheer.map((f) => fillFrame(f, '跑步五公里'));
    expect(fallbackPraise('跑步五公里', sent, () => 0, 'effort', { frames }).text).toBe('「跑步五公里」，坚持的样子真好');
  });

  it('leave a birthday to the birthday frames', () => {
    const noBirthday: Frames = { ...frames, byKind: new Map([...frames.byKind, ['birthday', ['生日这天「{q}」，真好']]]) };
    expect(fallbackPraise('今天生日，跑步五公里', [], () => 0, 'celebration', { frames: noBirthday }).text).toBe('生日这天「跑步五公里」，真好');
  });

  it('count the douban titles a topic could answer, and the titles a new keyword moves (tools/frames/coverage.ts)', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kuakua-titles-'));
    mkdirSync(join(dataDir, 'douban_kuakua_forg77'));
    writeFileSync(join(dataDir, 'douban_kuakua_forg77', 'titles.txt'), ['今天跑步五公里', '撸猫一下午', '求夸', '单身狗的周末', '健身房打卡第三天'].join('\n'));
    const before = writeFrames();
    const after = writeFrames();
    const keywords = join(after, 'topics', 'body.keywords.json');
    writeFileSync(
      keywords,
      JSON.stringify({
        exercise: { name: '运动', keywords: ['跑步', '健身', '周末'], not: [] },
        pets: { name: '宠物', keywords: ['猫', '狗'], not: ['单身狗'] },
      }),
    );
    const run = (...args: string[]) =>
      execFileSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'tools/frames/coverage.ts'), '--data-dir', dataDir, '--frames', after, ...args], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
      })
        .trim()
        .split('\n');
    // 求夸 has no phrase to quote; 单身狗 is not a pet, and names no topic until 周末 does.
    expect(JSON.parse(run().at(-1)!)).toEqual({ quotable: 4, named: 4, share: 1, byTopic: { exercise: 3, pets: 1 } });
    const moved = run('--before', before);
    expect(moved.slice(0, -2)).toEqual(['- → exercise\t单身狗的周末']);
    expect(JSON.parse(moved.at(-2)!)).toEqual({ before: 0.75, after: 1 });
  });
});

describe('the shipped topic frames', () => {
  const { topics } = loadFrames(join(PROJECT_ROOT, 'data/frames'));

  it('give every topic keywords and frames of every mood, gentle ones comforting without laughter', () => {
    expect(topics.length).toBeGreaterThanOrEqual(30);
    for (const t of topics) {
      expect(t.keywords.length, t.id).toBeGreaterThan(0);
      for (const mood of MOODS.filter((m) => m !== 'joke')) expect(t.frames[mood].length, `${t.id} ${mood}`).toBeGreaterThanOrEqual(4);
      for (const f of t.frames.worry) expect(clashesWithTone(f, toneOf('', 'anxious')), f).toBe(false);
    }
  });

  it('pass the frames checker, as every shipped frame does', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'tools/frames/check.ts')], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toMatchObject({ problems: 0 });
  });
});
