import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelConfig } from '../../worker/engine/config.ts';
import { buildPrompt } from '../../worker/engine/prompt.ts';
import { TextTokenizer } from '../../worker/engine/tokenizer.ts';
import { makeRandomModel, pythonTokenize, REPO_ROOT } from '../helpers/model.ts';

const LONG = `${'今天终于拿到驾照了，科目二挂了三次，教练都说我稳了！'.repeat(20)}Finally passed 2024 driving test 🎉`;

const SAMPLES = [
  '今天终于拿到驾照了',
  '我今天跑了5公里，pace 6分30秒，Strava上PR了',
  'GPT-3 和 BERT 的区别是什么？iPhone15 Pro Max 256GB',
  '考研上岸啦！！！（终于）「开心」——谢谢大家～',
  '全角：ＡＢＣ１２３，半角：ABC123.',
  '求夸😭😭 今天加班到12点🌙✨ 👍🏽',
  '  多余   空格\t和\n换行  ',
  'Ünïcödé àccents café naïve',
  '',
  LONG,
];

describe('tokenizer parity with the Python toolchain', () => {
  let dir: string;
  let tok: TextTokenizer;
  beforeAll(async () => {
    dir = await makeRandomModel();
    tok = new TextTokenizer(dir);
  });

  it('produces the same ids for Chinese, mixed, full-width, emoji and long text', async () => {
    const expected = await pythonTokenize(dir, SAMPLES);
    expect(SAMPLES.map((s) => tok.encode(s))).toEqual(expected);
  });

  it('decodes back to text with special tokens stripped', () => {
    const ids = tok.encode('今天终于拿到驾照了');
    expect(tok.decode([2, ...ids, 3]).replace(/ /g, '')).toBe('今天终于拿到驾照了');
  });

  it('truncates long posts from the left so prompt and reply fit the context', () => {
    const cfg = loadModelConfig(dir);
    const prompt = buildPrompt(LONG, cfg, tok, 48);
    expect(prompt.ids.length + prompt.maxNewTokens).toBeLessThanOrEqual(cfg.nPositions);
    const full = tok.encode(`${LONG} | `);
    expect(prompt.ids).toEqual(full.slice(full.length - prompt.ids.length));
    // the separator stays at the end
    expect(prompt.ids.at(-1)).toBe(tok.encode('|')[0]);
    // asking for more new tokens than the context holds is capped
    expect(buildPrompt('短', cfg, tok, 10_000).maxNewTokens).toBeLessThan(cfg.nPositions);
  });

  it('writes the reader’s intent and subject into a template that asks for them, as its config names them', () => {
    const plain = loadModelConfig(dir);
    const cfg = { ...plain, promptTemplate: '{intent}，关于{subject}：{post} | ', promptFields: { intent: { achievement: '成就' }, missing: '无' } };
    const ids = (text: string) => tok.encode(text);
    expect(buildPrompt('拿到驾照了', cfg, tok, 8, { intent: 'achievement', subject: '驾照' }).ids).toEqual(ids('成就，关于驾照：拿到驾照了 | '));
    // What the reader did not give, or an intent the model has no name for, is written as `missing`.
    expect(buildPrompt('拿到驾照了', cfg, tok, 8, { intent: 'joke' }).ids).toEqual(ids('无，关于无：拿到驾照了 | '));
    // A plain template (the ModelScope seed's) ignores the reading.
    expect(buildPrompt('拿到驾照了', plain, tok, 8, { intent: 'achievement', subject: '驾照' }).ids).toEqual(ids('拿到驾照了 | '));
  });
});

const MINI = join(REPO_ROOT, 'models/kuakua-mini');

describe.skipIf(!existsSync(join(MINI, 'tokenizer.json')))('tokenizer parity on the bundled kuakua-mini vocabulary', () => {
  it('matches the Python ids', async () => {
    const tok = new TextTokenizer(MINI);
    expect(SAMPLES.map((s) => tok.encode(s))).toEqual(await pythonTokenize(MINI, SAMPLES));
  });
});
