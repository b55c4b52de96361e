import { describe, expect, it } from 'vitest';
import type { CorpusRow } from '../../src/praiseCorpus.ts';
import { PraiseIndex } from '../../worker/retrieval.ts';

const row = (id: string, post: string, intent: CorpusRow['intent'], subject: string, praises: string[]): CorpusRow => ({
  id,
  situation: `test.${id}`,
  post,
  intent,
  subject,
  script: 'simplified',
  praises: praises.map((text) => ({ voice: 'detail', text })),
});

const CORPUS = [
  row('a-0001', '求夸：科目二一把过，倒车入库没压线', 'achievement', '科目二', [
    '科目二一把过，倒车入库稳得像尺子量过',
    '科目二没压线，方向盘在你手里特别听话',
  ]),
  row('a-0002', '我养的绿萝终于冒新芽了', 'daily_win', '绿萝', ['绿萝冒新芽，是你天天浇水换来的', '新芽一冒，绿萝在跟你说谢谢']),
  row('a-0003', '科目二挂了，倒车入库压线了', 'setback', '科目二', ['科目二这次压线了，可你已经把倒车入库练熟了大半', '压线只是一瞬间，科目二的手感会留下来']),
];

describe('PraiseIndex', () => {
  const index = new PraiseIndex(CORPUS);

  it('finds the corpus post nearest to a new one, and offers its praises', () => {
    const near = index.nearest('科目二过了！倒车入库一次成功', 'achievement', 2);
    expect(near[0]!.row.id).toBe('a-0001');
    const cands = index.candidates('科目二过了！倒车入库一次成功', { intent: 'achievement' }, { posts: 1, minSimilarity: 0 });
    expect(cands.map((c) => c.text)).toEqual(CORPUS[0]!.praises.map((p) => p.text));
    expect(cands.every((c) => c.from === 'a-0001' && c.similarity > 0 && c.similarity <= 1)).toBe(true);
  });

  it('offers a gentle post only praises written for gentle posts, and a happy post none of those', () => {
    expect(index.nearest('科目二没过，倒车入库压线了', 'setback', 3).map((n) => n.row.id)).toEqual(['a-0003']);
    expect(index.nearest('科目二没过，倒车入库压线了', 'achievement', 3).map((n) => n.row.id)).not.toContain('a-0003');
  });

  it('puts the new post’s subject where a praise names its own, and keeps the praise as written too', () => {
    const cands = index.candidates('我的多肉终于冒新芽了', { intent: 'daily_win', subject: '多肉' }, { posts: 1, minSimilarity: 0 });
    expect(cands.map((c) => c.text)).toEqual([
      '多肉冒新芽，是你天天浇水换来的',
      '绿萝冒新芽，是你天天浇水换来的',
      '新芽一冒，多肉在跟你说谢谢',
      '新芽一冒，绿萝在跟你说谢谢',
    ]);
  });

  it('keeps a praise as written when the new post names the corpus post’s subject too (科目二 in a post about 倒车入库)', () => {
    const cands = index.candidates('科目二过了！倒车入库一次成功', { intent: 'achievement', subject: '倒车入库' }, { posts: 1, minSimilarity: 0 });
    expect(cands.map((c) => c.text)).toEqual(CORPUS[0]!.praises.map((p) => p.text));
  });

  it('offers nothing below minSimilarity, and nothing for a post with no text to compare', () => {
    expect(index.candidates('今天天气怎么样', { intent: 'joke' }, { posts: 3, minSimilarity: 0.5 })).toEqual([]);
    expect(index.candidates('！！！', {}, { posts: 3, minSimilarity: 0 })).toEqual([]);
  });

  it('reads a Traditional post as Simplified', () => {
    expect(index.nearest('我養的綠蘿終於冒新芽了', undefined, 1)[0]!.row.id).toBe('a-0002');
  });
});
