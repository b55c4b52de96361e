import { describe, expect, it } from 'vitest';
import { candidateCount } from '../../src/candidateCount.ts';
import { loadConfig } from '../../src/app/config.ts';
import { fallbackPraise } from '../../src/fallback.ts';
import { blockedWord, choosePraise, tidyAndCutReply, echoesPost, policyRules } from '../../src/policy.ts';
import { detectTone } from '../../src/tone.ts';

const { policy } = loadConfig({ env: {} });
// Rules on texts alone: every candidate scores the same, and no threshold.
const rules = { ...policyRules(policy), minChars: 4, maxChars: 30, weights: { bias: 3, logprob: 0, judge: 0, chars: 0 }, minScore: undefined };
const POST = '我今天跑了五公里';
const texts = (xs: string[]) => xs.map((text) => ({ text }));

describe('choosePraise', () => {
  it('takes the candidate with the best predicted score: bias + weighted log-probability, judge logit and length', () => {
    const weights = { bias: 4, logprob: 1, judge: 0.5, chars: -0.01 };
    const cands = [
      { text: '你太厉害了，五公里说跑就跑！', judge: 1.0, logprob: -1.0 },
      { text: '跑完五公里还来求夸，自律又可爱！', judge: 3, logprob: -1.2 },
      { text: '好棒好棒', judge: -2, logprob: -0.5 },
    ];
    const r = choosePraise(cands, [], POST, { ...rules, weights, minScore: undefined });
    expect(r.reply).toBe('跑完五公里还来求夸，自律又可爱！');
    expect(r.score).toBeCloseTo(4 - 1.2 + 1.5 - 0.01 * Array.from('跑完五公里还来求夸，自律又可爱！').length);
    expect(r.judge).toBe(3);
    // Without the judge's term, the generator's own log-probability (and length) decides.
    expect(choosePraise(cands, [], POST, { ...rules, weights: { ...weights, judge: 0 }, minScore: undefined }).reply).toBe('好棒好棒');
  });

  it('skips one of the chat’s recent replies, even with different spacing or punctuation', () => {
    const r = choosePraise(texts(['你真棒！继续加油', '坚持就是胜利，为你骄傲']), ['你真棒 继续加油！'], POST, rules);
    expect(r.reply).toBe('坚持就是胜利，为你骄傲');
    expect(r.rejected).toEqual([{ text: '你真棒！继续加油', reason: 'repeat' }]);
  });

  it('scores a retrieved praise by its own weights (judge, similarity, length) and says it was retrieved', () => {
    const retrievedWeights = { bias: 2, judge: 0.5, similarity: 2, chars: 0 };
    const cands = [
      { text: '五公里跑下来，腿是你的，风也是你的', judge: 1, similarity: 0.6 },
      { text: '跑完五公里还来求夸，自律又可爱！', judge: 1, logprob: -1 },
    ];
    const r = choosePraise(cands, [], POST, { ...rules, retrievedWeights });
    expect(r).toMatchObject({ reply: '五公里跑下来，腿是你的，风也是你的', retrieved: true });
    expect(r.score).toBeCloseTo(2 + 0.5 + 1.2);
    // The same candidate from a corpus post that is barely like this one loses to the generated one.
    const far = choosePraise([{ ...cands[0]!, similarity: 0 }, cands[1]!], [], POST, { ...rules, retrievedWeights });
    expect(far).toMatchObject({ reply: '跑完五公里还来求夸，自律又可爱！', retrieved: false });
  });

  it('skips a text sent its daily maximum already (overused), by the same comparison as repeats', () => {
    const r = choosePraise(texts(['五公里说跑就跑，佩服！', '配速稳稳的五公里，太自律了']), [], POST, rules, undefined, new Set(['五公里说跑就跑佩服']));
    expect(r.reply).toBe('配速稳稳的五公里，太自律了');
    expect(r.rejected).toEqual([{ text: '五公里说跑就跑，佩服！', reason: 'overused' }]);
  });

  it('never sends the post back: an echo is rejected, and when every candidate echoes there is no reply', () => {
    const r = choosePraise(texts(['我今天跑了五公里！', '今天跑了五公里啊', '五公里说跑就跑，佩服！']), [], POST, rules);
    expect(r.reply).toBe('五公里说跑就跑，佩服！');
    expect(r.rejected.map((x) => x.reason)).toEqual(['echo', 'echo']);
    expect(choosePraise(texts(['我今天跑了五公里', '我 今天 跑了 五公里！！']), [], POST, rules).reply).toBeUndefined();
    expect(echoesPost('五公里好厉害呀，真棒', POST)).toBe(false);
  });

  it('uses no candidate predicted to score below the threshold', () => {
    const weights = { bias: 0, logprob: 0, judge: 1, chars: 0 };
    const cands = [
      { text: '你好棒呀', judge: -3, logprob: -0.2 },
      { text: '我也想去吃火锅', judge: -1, logprob: -0.4 },
    ];
    const r = choosePraise(cands, [], '今天吃了火锅', { ...rules, weights, minScore: 0 });
    expect(r.reply).toBeUndefined();
    expect(r.rejected.map((x) => x.reason)).toEqual(['below-threshold', 'below-threshold']);
    expect(choosePraise(cands, [], '今天吃了火锅', { ...rules, weights, minScore: -2 }).reply).toBe('我也想去吃火锅');
  });

  it('never laughs or celebrates at a sad or anxious post, whatever the scores', () => {
    const cands = [
      { text: '哈哈你好棒呀', judge: 5 },
      { text: '生日快乐！', judge: 4 },
      { text: '恭喜恭喜🎉', judge: 3 },
      { text: '抱抱你，会好起来的', judge: 1 },
    ];
    const sad = choosePraise(cands, [], '做完手术了，好难受', rules);
    expect(sad.reply).toBe('抱抱你，会好起来的');
    expect(sad.rejected.map((x) => x.reason)).toEqual(['off-tone', 'off-tone', 'off-tone']);
    expect(choosePraise(cands, [], '明天面试，好紧张', rules).reply).toBe('抱抱你，会好起来的');
    expect(choosePraise(cands, [], '终于拿到驾照了', rules).reply).toBe('哈哈你好棒呀');
    // A sad post needs a word of comfort: praise alone misreads it.
    const praiseOnly = [
      { text: '你这也太优秀了吧', judge: 5 },
      { text: '没关系，你已经很棒了', judge: 1 },
    ];
    expect(choosePraise(praiseOnly, [], '考研没过线，差了6分', rules).reply).toBe('没关系，你已经很棒了');
    // Laughter alone is no reply.
    expect(choosePraise([{ text: '哈哈哈哈哈哈哈哈' }], [], '今天给绿萝浇了水', rules).rejected[0]?.reason).toBe('too-short');
    // 生日快乐 only where there is a birthday.
    const wishes = [
      { text: '生日快乐！', judge: 5 },
      { text: '驾照到手，稳！', judge: 1 },
    ];
    expect(choosePraise(wishes, [], '终于拿到驾照了', rules).reply).toBe('驾照到手，稳！');
    expect(choosePraise(wishes, [], '今天我生日，求夸', rules).reply).toBe('生日快乐！');
  });

  it.each([
    ['你真是个笨蛋，不过还行', 'Chinese insult'],
    ['你这个 傻 逼 居然做到了', 'insult split by spaces'],
    ['What a LOSER move, just kidding', 'English insult in capitals'],
  ])('rejects %s (%s) and uses the next candidate', (bad) => {
    const r = choosePraise(texts([bad, '你的坚持让人佩服']), [], POST, rules);
    expect(r.reply).toBe('你的坚持让人佩服');
    expect(r.rejected[0]?.reason).toBe('blocked');
  });

  it('matches Latin blocklist words as whole words only', () => {
    expect(blockedWord('Your dumbbell routine is impressive', policy.blocklist)).toBeUndefined();
    expect(blockedWord('that was dumb', policy.blocklist)).toBe('dumb');
  });

  it('rejects empty and too short candidates; nothing acceptable gives no reply', () => {
    const r = choosePraise(texts(['', '  ', '好', '!!!']), [], POST, rules);
    expect(r.reply).toBeUndefined();
    expect(r.rejected.every((x) => x.reason === 'too-short')).toBe(true);
  });

  it('cuts long replies at a sentence end within the limit', () => {
    const long = '你真的太厉害了！每天坚持跑步真的很不容易。你的毅力让所有人都佩服得五体投地，继续加油吧朋友们都看着呢';
    const text = tidyAndCutReply(long, 30);
    expect(Array.from(text).length).toBeLessThanOrEqual(30);
    expect(text).toBe('你真的太厉害了！每天坚持跑步真的很不容易。');
    expect(Array.from(tidyAndCutReply('哈'.repeat(100), 30))).toHaveLength(30);
  });

  it('cuts a run of one punctuation mark or emoji to three', () => {
    expect(tidyAndCutReply(`哇这也太棒了吧${'！'.repeat(40)}`, 120)).toBe('哇这也太棒了吧！！！');
    expect(tidyAndCutReply('加油💪💪💪💪💪!!!!', 120)).toBe('加油💪💪💪!!!');
    expect(tidyAndCutReply('好棒……', 120)).toBe('好棒……');
  });
});

describe('tone replies', () => {
  it.each([
    ['考研三战还是差一分，没考上', 'sad'],
    ['分手了，好难过', 'sad'],
    ['外婆去世了，很想念她', 'sad'],
    ['明天面试好紧张，睡不着', 'anxious'],
    ['求鼓励！下周就要答辩了', 'encourage'],
    ['终于拿到驾照了！', 'achievement'],
    ['语言考试过啦！！', 'achievement'],
    ['今天我生日，希望得到大家的祝福', 'birthday'],
    ['觉得自己很差劲', 'sad'],
    ['今天给花浇了水', 'neutral'],
  ] as const)('%s is %s', (post, tone) => {
    expect(detectTone(post)).toBe(tone);
  });

  it('comforts a sad post and never congratulates it or laughs', () => {
    for (let i = 0; i < 30; i++) {
      const { text, tone } = fallbackPraise('做了手术，刚出院，好难受');
      expect(tone).toBe('sad');
      expect(text).not.toMatch(/恭喜|哈哈|生日|庆祝|🎉/);
    }
  });

  it('congratulates an achievement and encourages before an event', () => {
    expect(fallbackPraise('终于拿到驾照了', [], () => 0).text).toMatch(/恭喜/);
    expect(fallbackPraise('求鼓励，明天考试', [], () => 0).text).toMatch(/加油/);
  });

  it('never quotes the post back and avoids the chat’s recent replies while others are left', () => {
    const post = '我今天跑了五公里';
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const { text } = fallbackPraise(post, [...seen], () => 0);
      expect(text).not.toContain(post);
      expect(seen.has(text)).toBe(false);
      seen.add(text);
    }
  });
});

describe('candidateCount', () => {
  it('keeps the configured count while the queue keeps up, and shrinks in proportion to the backlog down to the minimum', () => {
    const base = { configured: 8, minimum: 2, concurrency: 4 };
    expect(candidateCount({ ...base, waiting: 0 })).toBe(8);
    expect(candidateCount({ ...base, waiting: 4 })).toBe(8);
    expect(candidateCount({ ...base, waiting: 8 })).toBe(4);
    expect(candidateCount({ ...base, waiting: 1000 })).toBe(2);
    expect(candidateCount({ ...base, minimum: 20, waiting: 1000 })).toBe(8);
  });
});
