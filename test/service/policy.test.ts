import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { fallbackPraise } from '../../src/fallback.ts';
import { blockedWord, choosePraise, cleanReply } from '../../src/policy.ts';

const { policy } = loadConfig({ env: {} });
const rules = { blocklist: policy.blocklist, minChars: 4, maxChars: 30 };

describe('choosePraise', () => {
  it('takes the first acceptable candidate', () => {
    expect(choosePraise(['你太厉害了，五公里说跑就跑！', '第二个'], [], rules).reply).toBe('你太厉害了，五公里说跑就跑！');
  });

  it('skips one of the chat’s recent replies, even with different spacing or punctuation', () => {
    const r = choosePraise(['你真棒！继续加油', '坚持就是胜利，为你骄傲'], ['你真棒 继续加油！'], rules);
    expect(r.reply).toBe('坚持就是胜利，为你骄傲');
    expect(r.rejected).toEqual([{ text: '你真棒！继续加油', reason: 'repeat' }]);
  });

  it.each([
    ['你真是个笨蛋，不过还行', 'Chinese insult'],
    ['你这个 傻 逼 居然做到了', 'insult split by spaces'],
    ['What a LOSER move, just kidding', 'English insult in capitals'],
  ])('rejects %s (%s) and uses the next candidate', (bad) => {
    const r = choosePraise([bad, '你的坚持让人佩服'], [], rules);
    expect(r.reply).toBe('你的坚持让人佩服');
    expect(r.rejected[0]?.reason).toBe('blocked');
  });

  it('matches Latin blocklist words as whole words only', () => {
    expect(blockedWord('Your dumbbell routine is impressive', policy.blocklist)).toBeUndefined();
    expect(blockedWord('that was dumb', policy.blocklist)).toBe('dumb');
  });

  it('rejects empty and too short candidates; nothing acceptable gives no reply', () => {
    const r = choosePraise(['', '  ', '好', '!!!'], [], rules);
    expect(r.reply).toBeUndefined();
    expect(r.rejected.every((x) => x.reason === 'too-short')).toBe(true);
  });

  it('cuts long replies at a sentence end within the limit', () => {
    const long = '你真的太厉害了！每天坚持跑步真的很不容易。你的毅力让所有人都佩服得五体投地，继续加油吧朋友们都看着呢';
    const text = cleanReply(long, 30);
    expect(Array.from(text).length).toBeLessThanOrEqual(30);
    expect(text).toBe('你真的太厉害了！每天坚持跑步真的很不容易。');
    expect(Array.from(cleanReply('哈'.repeat(100), 30))).toHaveLength(30);
  });

  it('cuts a run of one punctuation mark or emoji to three', () => {
    expect(cleanReply('哇这也太棒了吧' + '！'.repeat(40), 120)).toBe('哇这也太棒了吧！！！');
    expect(cleanReply('加油💪💪💪💪💪!!!!', 120)).toBe('加油💪💪💪!!!');
    expect(cleanReply('好棒……', 120)).toBe('好棒……');
  });
});

describe('fallbackPraise', () => {
  it('is varied, Chinese, and quotes a short post', () => {
    const texts = new Set(Array.from({ length: 20 }, () => fallbackPraise('我今天跑了五公里', '求夸')));
    expect(texts.size).toBeGreaterThanOrEqual(15);
    for (const t of texts) expect(t).toMatch(/[\u4e00-\u9fff]/);
    expect([...texts].some((t) => t.includes('我今天跑了五公里'))).toBe(true);
  });

  it('does not quote the generic post or very long posts', () => {
    for (let i = 0; i < 20; i++) {
      expect(fallbackPraise('求夸', '求夸')).not.toContain('「');
      expect(fallbackPraise('长'.repeat(200), '求夸')).not.toContain('长长');
    }
  });

  it('avoids the texts it is told to avoid', () => {
    let i = 0;
    const fixed = () => [0, 0, 0, 0.99, 0.99, 0.99][i++ % 6]!;
    const first = fallbackPraise('求夸', '求夸', [], () => 0);
    expect(fallbackPraise('求夸', '求夸', [first], fixed)).not.toBe(first);
  });
});
