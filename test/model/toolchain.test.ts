import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JudgeSession } from '../../worker/engine/judge.ts';
import { REPO_ROOT } from '../helpers/model.ts';
import { modelTool, runModelTool } from '../helpers/modelTool.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kuakua-train-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tools/model', () => {
  it('passes its Python unit tests, every one of them found and run', async () => {
    const tests = join(REPO_ROOT, 'tools/model/tests');
    const defined = readdirSync(tests)
      .filter((f) => /^test_.*\.py$/.test(f))
      .reduce((n, f) => n + (readFileSync(join(tests, f), 'utf8').match(/^ {4}def test_/gm)?.length ?? 0), 0);
    expect(defined).toBeGreaterThan(0);
    const r = await runModelTool(['unittest']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^Ran ${defined} tests? in `, 'm'));
  });

  it('trains on src_txt rows, writes a ModelScope checkpoint, resumes, and converts it', async () => {
    const rows = ['今天终于拿到驾照了 | 太厉害了！恭喜恭喜', '论文终于投出去了 | 辛苦了，你超棒的', '求夸 | 你真的很努力'];
    const data = join(dir, 'rows.jsonl');
    writeFileSync(data, rows.map((src_txt) => JSON.stringify({ src_txt })).join('\n'));
    const out = join(dir, 'ckpt');
    const common = [
      'train',
      '--data',
      data,
      '--valid',
      data,
      '--out',
      out,
      '--layers',
      '1',
      '--heads',
      '2',
      '--hidden',
      '32',
      '--positions',
      '64',
      '--vocab-size',
      '200',
      '--batch',
      '3',
      '--save-every',
      '2',
    ];
    await modelTool([...common, '--steps', '4']);
    for (const f of ['pytorch_model.bin', 'config.json', 'vocab.txt', 'trainer_state.pt']) expect(existsSync(join(out, f))).toBe(true);
    const first = JSON.parse(readFileSync(join(out, 'train_metrics.json'), 'utf8'));
    expect(first.steps).toBe(4);
    expect(first.valid.perplexity).toBeGreaterThan(1);

    const resumed = await runModelTool([...common, '--steps', '6', '--resume']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resumed at step 4/);
    expect(JSON.parse(readFileSync(join(out, 'train_metrics.json'), 'utf8')).steps).toBe(6);

    await modelTool(['convert', out, '--out', join(dir, 'model'), '--variants', 'fp32']);
    expect(existsSync(join(dir, 'model/onnx/model.onnx'))).toBe(true);
  });

  it('rejects rows without src_txt with the line number', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"src_txt": "好 | 棒"}\n{"text": "no"}\n');
    const r = await runModelTool(['train', '--data', bad, '--out', join(dir, 'x'), '--steps', '1']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/bad\.jsonl:2: each row needs a string field "src_txt"/);
  });
});

// A tiny copy of the shared praise data's layout (corpus.py), with one reply of each kind build-data must drop. With
// the default 10% held out, 考研上岸了, 求夸我养的花开了 and 我今天早睡了 are held-out topics (the first byte of their
// title's SHA-1 is below 26); the others are not.
const SPAM = '关注我的小组领取福利哦';
const DOUBAN = [
  {
    info: { title: '论文终于投出去了', href: 'https://www.douban.com/group/topic/1/' },
    comment_list: ['太厉害了，恭喜恭喜！', '辛苦啦，好好休息一下', '谢谢大家的鼓励', '投的哪个期刊？', '@小王 同感', SPAM],
    popular_list: ['辛苦啦，好好休息一下'],
  },
  {
    info: { title: '考研上岸了', href: 'https://www.douban.com/group/topic/2/' },
    comment_list: ['上岸的你闪闪发光', '恭喜学姐！', '谢谢你们，好开心'],
    popular_list: [],
  },
  {
    info: { title: '我升职了', href: 'https://www.douban.com/group/topic/3/' },
    comment_list: ['升职加薪走上人生巅峰', SPAM, '生日快乐呀', '开心得想死'],
    popular_list: [],
  },
];
const BLUEMOMO = [
  {
    title: '我拿到offer了',
    url: 'https://www.douban.com/group/topic/4/',
    author: 'u1',
    replies: [
      { content: 'offer拿到手软', user_id: 'u2' },
      { content: '开心到转圈圈', user_id: 'u1' },
    ],
  },
  // The same topic as the first douban one (same address): skipped.
  { title: '论文投出去啦', url: 'https://www.douban.com/group/topic/1/', author: 'u3', replies: [{ content: '同一个帖子', user_id: 'u4' }] },
];
const CGH233 = [
  // 开心到转圈圈 is what u1 wrote under their own topic: build-data drops it wherever it appears.
  { 我学会了游泳: ['游得像条小鱼', '你真棒|超级棒', '开心到转圈圈', 'http://t.cn/abc 看这个'] },
  { 我升职了: ['重复的帖子'] },
  { 求夸我养的花开了: ['花养得真好，一定很用心', '什么品种呀？'] },
];
const FORG77_TITLES = ['我通过了面试', '今天去献血了', '我今天早睡了'];
// One line per title, then lines without a title: replies to the generic post.
const FORG77_REPLIES = [`面试官一定很喜欢你##${SPAM}`, '献血的人最温暖', '谢谢大家', '你是最棒的##坚持就是胜利'];
const CLUE = '今天天气很好。'.repeat(19);

function writePraiseData(root: string): string {
  const put = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  put('douban_kuakua/content_list.json', JSON.stringify(DOUBAN));
  put('douban_kuakua_bluemomo/kuakua.jsonl', BLUEMOMO.map((t) => JSON.stringify(t)).join('\n'));
  put('douban_kuakua_cgh233/kuakua.json', JSON.stringify(CGH233));
  put('douban_kuakua_forg77/titles.txt', FORG77_TITLES.join('\n'));
  put('douban_kuakua_forg77/replies.txt', FORG77_REPLIES.join('\n'));
  put('general_zh/clue_small_sampled.txt', `${CLUE}\nwww.example.com 广告\n`);
  put('general_zh/book_review_cls.txt', 'label\ttext\n1\t这本书很好看\n');
  put('lccc_toy/toy_train.txt', '你 好 呀\t你 也 好\n只 有 一 句\n');
  return root;
}

const HELD_OUT = ['考研上岸了', '求夸我养的花开了'];
const TRAIN_ROWS = [
  '论文终于投出去了 | 太厉害了，恭喜恭喜！',
  '论文终于投出去了 | 辛苦啦，好好休息一下',
  '我升职了 | 升职加薪走上人生巅峰',
  '我拿到offer了 | offer拿到手软',
  '我学会了游泳 | 游得像条小鱼',
  '我学会了游泳 | 你真棒｜超级棒',
  '我通过了面试 | 面试官一定很喜欢你',
  '今天去献血了 | 献血的人最温暖',
  '求夸 | 你是最棒的',
  '求夸 | 坚持就是胜利',
];
const VALID_ROWS = ['考研上岸了 | 上岸的你闪闪发光', '考研上岸了 | 恭喜学姐！', '求夸我养的花开了 | 花养得真好，一定很用心'];

const readJsonl = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

describe('tools/model commands on tiny data', () => {
  let data: string;
  let ckpt: string;
  let model: string;
  beforeAll(async () => {
    data = writePraiseData(join(dir, 'data'));
    ckpt = join(dir, 'random-ckpt');
    model = join(dir, 'random-model');
    const shape = ['--layers', '1', '--heads', '2', '--hidden', '32', '--positions', '128', '--seed', '3'];
    await modelTool(['random', ...shape, '--checkpoint', ckpt, '--out', model, '--variants', 'fp32']);
  });

  it('build-data keeps each topic once, drops every unfit and spam reply, holds out whole topics, and writes the general rows', async () => {
    const out = join(dir, 'rows');
    const stats = JSON.parse(await modelTool(['build-data', '--data-dir', data, '--out', out]));
    expect(stats).toEqual({ topics: 9, train: TRAIN_ROWS.length, valid: VALID_ROWS.length, valid_topics: 2, general: 4 });
    expect(readJsonl(join(out, 'train.jsonl')).map((r) => r.src_txt)).toEqual(TRAIN_ROWS);
    expect(readJsonl(join(out, 'valid.jsonl')).map((r) => r.src_txt)).toEqual(VALID_ROWS);
    expect(JSON.parse(readFileSync(join(out, 'valid_posts.json'), 'utf8'))).toEqual(HELD_OUT);
    // Long lines in pieces of 120 characters; no address, no header; a dialogue's first two turns as post | reply.
    expect(readJsonl(join(out, 'general.jsonl')).map((r) => r.src_txt)).toEqual([CLUE.slice(0, 120), CLUE.slice(120), '这本书很好看', '你好呀 | 你也好']);
  });

  it('dev-set draws one reply of the group (never the poster’s) for each held-out topic, reproducibly, up to --count', async () => {
    const group: Record<string, string[]> = { 考研上岸了: ['上岸的你闪闪发光', '恭喜学姐！'], 求夸我养的花开了: ['花养得真好，一定很用心', '什么品种呀？'] };
    const devSet = async (name: string, ...args: string[]) => {
      const out = join(dir, name);
      return { stats: JSON.parse(await modelTool(['dev-set', '--data-dir', data, '--out', out, ...args])), rows: readJsonl(out) };
    };
    const all = await devSet('dev-all.jsonl', '--count', '5', '--seed', '2');
    // 我今天早睡了 is held out too, but its only reply is the poster's thanks.
    expect(all.stats).toEqual({ heldout_topics: 2, written: 2 });
    expect(all.rows.map((r) => r.post).sort()).toEqual([...HELD_OUT].sort());
    for (const r of all.rows) {
      expect(r.category).toBe('douban');
      expect(group[r.post]).toContain(r.human);
    }
    expect((await devSet('dev-again.jsonl', '--count', '5', '--seed', '2')).rows).toEqual(all.rows);
    const one = await devSet('dev-one.jsonl', '--count', '1');
    expect(one.stats).toEqual({ heldout_topics: 2, written: 1 });
    expect(one.rows).toHaveLength(1);
  });

  it('unpack turns a model directory back into a checkpoint with the same weights', async () => {
    const back = join(dir, 'unpacked');
    await modelTool(['unpack', model, '--out', back]);
    expect(readFileSync(join(back, 'vocab.txt'), 'utf8')).toBe(readFileSync(join(ckpt, 'vocab.txt'), 'utf8'));
    const input = JSON.stringify({ input_ids: [[101, 872, 1962, 102, 2769]] });
    const logits = async (c: string): Promise<number[]> => JSON.parse(await modelTool(['reference', '--checkpoint', c], input)).logits.flat(2);
    const [want, got] = [await logits(ckpt), await logits(back)];
    expect(got).toHaveLength(want.length);
    expect(Math.max(...got.map((x, i) => Math.abs(x - want[i]!)))).toBeLessThan(1e-5);
  });

  it('judge-data puts each kept reply beside negatives of every kind, in the corpus builder’s split', async () => {
    const out = join(dir, 'judge-data');
    const stats = JSON.parse(await modelTool(['judge-data', '--data-dir', data, '--generator', ckpt, '--out', out, '--samples', '2']));
    const train = readJsonl(join(out, 'train.jsonl'));
    const valid = readJsonl(join(out, 'valid.jsonl'));
    expect(stats).toEqual({ train: train.length, valid: valid.length });
    const pair = (g: { post: string; reply: string }) => `${g.post} | ${g.reply}`;
    // Unlike build-data, judge-data keeps what a poster wrote under their topic in another scrape (开心到转圈圈), and
    // the generic post's untitled replies are no group.
    expect(train.map(pair)).toEqual([...TRAIN_ROWS.slice(0, 6), '我学会了游泳 | 开心到转圈圈', ...TRAIN_ROWS.slice(6, 8)]);
    expect(valid.map(pair)).toEqual(VALID_ROWS);
    const replies = new Map<string, string[]>();
    for (const g of [...train, ...valid]) replies.set(g.post, [...(replies.get(g.post) ?? []), g.reply]);
    for (const g of [...train, ...valid]) {
      const of = (kind: string): string[] => g.negatives.filter((n: { kind: string }) => n.kind === kind).map((n: { text: string }) => n.text);
      const [other] = of('other-post');
      expect(of('other-post')).toHaveLength(1);
      expect([...replies].some(([post, rs]) => post !== g.post && rs.includes(other!))).toBe(true);
      expect(of('generated').length).toBeGreaterThan(0);
      expect(of('generated').length).toBeLessThanOrEqual(2);
      for (const text of of('generated')) expect(replies.get(g.post)).not.toContain(text);
      const chars = Array.from(g.reply as string);
      for (const cut of of('cut')) expect(g.reply.startsWith(cut) && cut.length < g.reply.length).toBe(true);
      for (const shuffled of of('shuffled')) expect(Array.from(shuffled).sort()).toEqual([...chars].sort());
      expect(of('cut').length + of('shuffled').length).toBe(chars.length < 6 ? 0 : 2);
      expect(of('repeated')).toHaveLength(1);
      expect(Array.from(of('repeated')[0]!).length).toBeGreaterThan(chars.length);
      expect(of('spliced')).toHaveLength(1);
      expect(of('spliced')[0]!.startsWith(chars.slice(0, Math.max(2, chars.length >> 1)).join(''))).toBe(true);
      expect(of('poster')).toHaveLength(1);
      expect(of('poster')[0]).toMatch(/谢|感/);
      for (const n of g.negatives) expect(n.text).not.toBe(g.reply);
    }
    // The top-liked reply of a topic is preferred over its other replies.
    expect(train.filter((g) => g.over)).toEqual([expect.objectContaining({ reply: '辛苦啦，好好休息一下', over: '太厉害了，恭喜恭喜！' })]);
  });

  it('judge-train trains from a generator checkpoint and writes a judge directory whose ONNX scores as its trained state does', async () => {
    const groups = join(dir, 'groups');
    mkdirSync(groups, { recursive: true });
    const group = (post: string, reply: string, negatives: [string, string][], over?: string) =>
      JSON.stringify({ post, reply, negatives: negatives.map(([kind, text]) => ({ kind, text })), ...(over && { over }) });
    writeFileSync(
      join(groups, 'train.jsonl'),
      [
        group('我升职了', '升职加薪走上人生巅峰', [
          ['other-post', '献血的人最温暖'],
          ['cut', '升职加'],
        ]),
        group(
          '我学会了游泳',
          '游得像条小鱼',
          [
            ['other-post', '恭喜学姐！'],
            ['generated', '你你你'],
          ],
          '你真棒',
        ),
        group('今天去献血了', '献血的人最温暖', [['poster', '谢谢大家']]),
      ].join('\n'),
    );
    writeFileSync(
      join(groups, 'valid.jsonl'),
      [
        group(
          '考研上岸了',
          '上岸的你闪闪发光',
          [
            ['other-post', '游得像条小鱼'],
            ['cut', '上岸的'],
          ],
          '恭喜学姐！',
        ),
        group('我通过了面试', '面试官一定很喜欢你', [
          ['other-post', '花养得真好'],
          ['generated', '面面'],
        ]),
      ].join('\n'),
    );
    const state = join(dir, 'judge-state');
    const out = join(dir, 'judge');
    const r = await runModelTool([
      'judge-train',
      '--data',
      groups,
      '--init',
      ckpt,
      '--out',
      state,
      '--out-dir',
      out,
      '--steps',
      '2',
      '--batch',
      '2',
      '--warmup',
      '1',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^3 train groups, 2 valid groups$/m);
    for (const f of ['onnx/judge.onnx', 'onnx/judge_int8.onnx', 'vocab.txt', 'tokenizer.json']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toMatchObject({
      model_type: 'kuakua-judge',
      backbone: { num_layers: 1, hidden_size: 32 },
    });
    const metrics = JSON.parse(readFileSync(join(out, 'train_metrics.json'), 'utf8'));
    expect(metrics.steps).toBe(2);
    // Held-out ranking over the valid groups: two true replies against each kind, and one liked pair.
    expect(metrics.heldout_ranking).toEqual({
      'other-post': { accuracy: expect.any(Number), pairs: 2 },
      generated: { accuracy: expect.any(Number), pairs: 1 },
      cut: { accuracy: expect.any(Number), pairs: 1 },
      all: { accuracy: expect.any(Number), pairs: 2 },
      liked: { accuracy: expect.any(Number), pairs: 1 },
    });
    const pairs: [string, string][] = [
      ['我升职了', '升职加薪走上人生巅峰'],
      ['考研上岸了', '恭喜学姐！'],
    ];
    const ref = JSON.parse(await modelTool(['judge-reference', '--dir', out, '--state', join(state, 'judge_state.pt')], JSON.stringify(pairs)));
    const session = await JudgeSession.load(out, 'fp32');
    try {
      const scores = await session.score(pairs.map(([post, reply]) => ({ post, reply })));
      expect(scores).toHaveLength(pairs.length);
      for (const [i, s] of scores.entries()) expect(Math.abs(s - ref.scores[i])).toBeLessThan(1e-4);
    } finally {
      await session.close();
    }
  });

  it('fit-score recovers the weights of policy.score from blind-judged candidates, and what each threshold would have sent', async () => {
    // Scores exactly bias 1 + 0.5 × logprob + 0.25 × judge − 0.05 × chars: each candidate's logprob is set to make it so.
    const w = { bias: 1, logprob: 0.5, judge: 0.25, chars: -0.05 };
    const candidates: [string, string, number, number][] = [
      ['A', '太厉害了', 0.8, 3.25],
      ['A', '你真的很棒呀', -1.2, 2.9],
      ['A', '好', 0.1, 2.0],
      ['B', '恭喜恭喜！', 1.5, 3.05],
      ['B', '加油', -0.3, 2.5],
      ['B', '哇哦哦哦哦哦哦', 0.4, 1.5],
      ['C', '棒棒哒', -0.7, 2.7],
      ['C', '你是最棒的人', 2.0, 2.2],
      ['C', '嗯嗯', 0.9, 1.0],
    ];
    const rows = [
      ...candidates.map(([post, reply, judge, score]) => ({
        post,
        system: 'kuakua-mini',
        reply,
        score,
        judge,
        logprob: (score - w.bias - w.judge * judge - w.chars * Array.from(reply).length) / w.logprob,
      })),
      // The tone reply's score per post; human rows take no part.
      ...[
        ['A', 3],
        ['B', 4],
        ['C', 2],
      ].flatMap(([post, score]) => [
        { post, system: 'tone', reply: '这件事做得真漂亮，必须夸！', score, logprob: 0, judge: 0 },
        { post, system: 'human', reply: '你最棒', score: 5, logprob: 0, judge: 0 },
      ]),
    ];
    const labeled = join(dir, 'labeled.jsonl');
    writeFileSync(labeled, rows.map((r) => JSON.stringify(r)).join('\n'));
    const fit = JSON.parse(await modelTool(['fit-score', labeled]));
    expect(fit).toMatchObject({ candidates: 9, posts: 3, held_out_correlation: 1 });
    for (const [k, v] of Object.entries(w)) expect(fit.weights[k]).toBeCloseTo(v, 4);
    // Per post the best candidate (A 3.25, B 3.05, C 2.7) is sent when it reaches the threshold, else the tone reply
    // (A 3, B 4, C 2).
    expect(fit.thresholds).toEqual([
      { minScore: 2.8, generated: 2, mean: 2.77, good: 0, bad: 0.33 },
      { minScore: 3.0, generated: 2, mean: 2.77, good: 0, bad: 0.33 },
      { minScore: 3.1, generated: 1, mean: 3.08, good: 0.33, bad: 0.33 },
      { minScore: 3.2, generated: 1, mean: 3.08, good: 0.33, bad: 0.33 },
      { minScore: 3.3, generated: 0, mean: 3, good: 0.33, bad: 0.33 },
    ]);

    // Retrieved praises (rows with a similarity) get weights of their own: exactly 2 + 0.5 × judge + 1.5 × similarity
    // − 0.02 × chars. Post C's best retrieved praise (3.13) then beats its generated 2.7, and C is answered from 2.8 on.
    const r = { bias: 2, judge: 0.5, similarity: 1.5, chars: -0.02 };
    const retrieved: [string, string, number, number][] = [
      ['A', '科目二一把过，稳得像尺子量过', 0.4, 0.3],
      ['B', '五公里一步没停，太自律了', -0.6, 0.5],
      ['C', '绿萝冒新芽，是你天天浇水换来的', 1.8, 0.35],
      ['C', '新芽一冒，绿萝在跟你说谢谢', -1.0, 0.1],
      ['A', '科目二一次过，方向盘很听话', 0.9, 0.6],
    ];
    const withRetrieved = [
      ...rows,
      ...retrieved.map(([post, reply, judge, similarity]) => ({
        post,
        system: 'retrieved',
        reply,
        judge,
        similarity,
        score: r.bias + r.judge * judge + r.similarity * similarity + r.chars * Array.from(reply).length,
      })),
    ];
    writeFileSync(labeled, withRetrieved.map((x) => JSON.stringify(x)).join('\n'));
    const both = JSON.parse(await modelTool(['fit-score', labeled]));
    expect(both).toMatchObject({ candidates: 14, posts: 3 });
    for (const [k, v] of Object.entries(w)) expect(both.weights[k]).toBeCloseTo(v, 4);
    for (const [k, v] of Object.entries(r)) expect(both.retrieved_weights[k]).toBeCloseTo(v, 4);
    expect(both.thresholds[0]).toMatchObject({ minScore: 2.8, generated: 3 });
  });
});
