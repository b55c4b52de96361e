import { describe, expect, it } from 'vitest';
import { chooseReply } from '../../worker/engine/choose.ts';
import { textKey } from '../../common/textKey.ts';
import { replyFromDecoded, joinCjk } from '../../worker/engine/postprocess.ts';

describe('postprocess', () => {
  it('removes spaces between CJK characters and CJK punctuation only', () => {
    expect(joinCjk('你 真 棒 ！ 继 续 加 油 。')).toBe('你真棒！继续加油。');
    expect(joinCjk('考 了 100 分 , good job')).toBe('考了 100 分 , good job');
  });

  it('keeps the text after the separator and trims', () => {
    expect(replyFromDecoded('今 天 | 太 厉 害 了 ', '|')).toBe('太厉害了');
    expect(replyFromDecoded(' 真 棒 ', '|')).toBe('真棒');
  });

  it('normalizes width, case, spaces and punctuation for comparisons', () => {
    expect(textKey('太棒了！ Ｇood')).toBe(textKey('太棒了 good。'));
    expect(textKey('太棒了')).not.toBe(textKey('太强了'));
  });
});

describe('chooseReply', () => {
  const cands = [
    { text: '一般般', logprob: -3 },
    { text: '太厉害了！', logprob: -1 },
    { text: '太厉害了', logprob: -1.5 },
    { text: '', logprob: 0 },
    { text: '驾照到手，稳！', logprob: -2 },
  ];

  it('ranks distinct non-empty candidates by log-probability', () => {
    expect(chooseReply(cands, [], '拿到驾照了')).toMatchObject({
      reply: '太厉害了！',
      candidates: ['太厉害了！', '驾照到手，稳！', '一般般'],
    });
  });

  it('ranks by the judge when there is one, and keeps the scores beside the texts', () => {
    const judged = cands.map((c, i) => ({ ...c, judge: i }));
    const r = chooseReply(judged, [], '拿到驾照了');
    // 太厉害了 (judge 2) outranks its twin 太厉害了！ (judge 1), which is then dropped as the same text.
    expect(r.candidates).toEqual(['驾照到手，稳！', '太厉害了', '一般般']);
    expect(r.scored.map((c) => c.judge)).toEqual([4, 2, 0]);
  });

  it('skips candidates in the avoid list and echoes of the post', () => {
    expect(chooseReply(cands, ['太厉害了'], '拿到驾照了').reply).toBe('驾照到手，稳！');
    expect(chooseReply(cands, ['太厉害了'], '驾照到手 稳').reply).toBe('一般般');
    expect(chooseReply(cands, ['太厉害了', '驾照到手，稳', '一般般!'], 'x').reply).toBe('');
  });
});
