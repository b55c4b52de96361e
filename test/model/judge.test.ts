import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../worker/engine/index.ts';
import { JudgeSession, loadJudgeConfig } from '../../worker/engine/judge.ts';
import { makeRandomModel, REPO_ROOT } from '../helpers/model.ts';
import { modelTool } from '../helpers/modelTool.ts';

// A random judge from the toolchain: its ONNX graph, run by onnxruntime-node, must score exactly what PyTorch scores.
let tmp: string;
let dir: string;
let judge: JudgeSession;

const PAIRS: [string, string][] = [
  ['今天终于拿到驾照了', '太厉害了！科目三一把过真的稳'],
  ['求夸', '你好棒'],
  ['失恋了，好难过', '抱抱你，慢慢会好起来的'],
  ['熬过了第三次化疗，求表扬！'.repeat(8), '你真的很坚强，'.repeat(12)],
  ['Hello world 😀', 'nice!'],
];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'kuakua-judge-'));
  dir = join(tmp, 'judge');
  await modelTool(['judge-random', '--out', dir]);
}, 120_000);

afterAll(async () => {
  await judge?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('reply judge', () => {
  it('reads the same tokens and gives the same scores as the PyTorch reference, in one padded batch', async () => {
    judge = await JudgeSession.load(dir, 'fp32');
    const ref = JSON.parse(await modelTool(['judge-reference', '--dir', dir], JSON.stringify(PAIRS)));
    const rows = PAIRS.map(([post, reply]) => judge.encode(post, reply));
    expect(rows).toEqual(
      ref.input_ids.map((ids: number[], i: number) =>
        ids.slice(
          0,
          ref.attention_mask[i].reduce((a: number, b: number) => a + b, 0),
        ),
      ),
    );
    const scores = await judge.score(PAIRS.map(([post, reply]) => ({ post, reply })));
    expect(scores).toHaveLength(PAIRS.length);
    for (const [i, s] of scores.entries()) expect(Math.abs(s - ref.scores[i])).toBeLessThan(1e-4);
    // Padding must not change a row's score: each pair alone scores as it did in the batch.
    for (const [i, [post, reply]] of PAIRS.entries()) expect((await judge.score([{ post, reply }]))[0]).toBeCloseTo(scores[i]!, 4);
  });

  it('refuses a broken judge directory with a one-line error', () => {
    expect(() => loadJudgeConfig(join(tmp, 'nope'))).toThrow(/judge directory not found/);
    expect(() => loadJudgeConfig(tmp)).toThrow(/missing config\.json/);
  });

  it('in the engine thread, scores every candidate of a request with the judge', async () => {
    let engine: Engine | undefined;
    try {
      engine = await createEngine({ modelDir: await makeRandomModel(), judgeDir: dir, threads: 1, replicas: 1 });
      const post = '今天终于拿到驾照了';
      const [result] = await engine.generate([{ post, n: 4, seed: 3, maxNewTokens: 8 }]);
      expect(result!.scored.length).toBeGreaterThan(0);
      // The engine runs the int8 file, as a session loaded with the default does.
      const int8 = await JudgeSession.load(dir);
      const direct = await int8.score(result!.scored.map((c) => ({ post, reply: c.text })));
      await int8.close();
      result!.scored.forEach((c, i) => {
        expect(c.judge).toBeCloseTo(direct[i]!, 4);
      });
      // Best first, by the judge.
      const judged = result!.scored.map((c) => c.judge!);
      expect(judged).toEqual([...judged].sort((a, b) => b - a));
    } finally {
      await engine?.close();
    }
  });

  it('in the engine thread, scores retrieved praises beside the samples, in their order', async () => {
    let engine: Engine | undefined;
    try {
      engine = await createEngine({ modelDir: await makeRandomModel(), judgeDir: dir, threads: 1, replicas: 1 });
      const post = '今天终于拿到驾照了';
      const judgeAlso = ['驾照到手，以后出门靠你了', '科目二一把过，稳', ''];
      const [result] = await engine.generate([{ post, n: 2, seed: 3, maxNewTokens: 8, judgeAlso }]);
      const int8 = await JudgeSession.load(dir);
      const direct = await int8.score(judgeAlso.slice(0, 2).map((reply) => ({ post, reply })));
      await int8.close();
      // Blank texts are left out; the rest keep their order and get the judge's logit (int8 activations are quantized
      // per batch, and the engine's batch also holds the samples: within 0.2).
      expect(result!.alsoJudged.map((c) => c.text)).toEqual(judgeAlso.slice(0, 2));
      result!.alsoJudged.forEach((c, i) => {
        expect(Math.abs(c.judge! - direct[i]!)).toBeLessThan(0.2);
      });
    } finally {
      await engine?.close();
    }
  });

  it('an engine without a judge leaves the judge score out', async () => {
    const engine = await createEngine({ modelDir: await makeRandomModel(), threads: 1, replicas: 1 });
    try {
      const [result] = await engine.generate([{ post: '求夸', n: 2, seed: 1, maxNewTokens: 6 }]);
      for (const c of result!.scored) {
        expect(c.judge).toBeUndefined();
        expect(Number.isFinite(c.logprob)).toBe(true);
      }
    } finally {
      await engine.close();
    }
  });
});

describe('the bundled models/kuakua-judge', () => {
  const bundled = join(REPO_ROOT, 'models/kuakua-judge');

  it('runs its int8 file by default, within 0.3 of the fp32 reference', async () => {
    const [int8, fp32] = await Promise.all([JudgeSession.load(bundled), JudgeSession.load(bundled, 'fp32')]);
    try {
      const pairs = PAIRS.map(([post, reply]) => ({ post, reply }));
      const [a, b] = await Promise.all([int8.score(pairs), fp32.score(pairs)]);
      a.forEach((s, i) => {
        expect(Math.abs(s - b[i]!)).toBeLessThan(0.3);
      });
    } finally {
      await Promise.all([int8.close(), fp32.close()]);
    }
  });

  it('loads, and ranks a real reply above a reply in the poster’s voice and above the same reply with a repeated run', async () => {
    const session = await JudgeSession.load(bundled);
    try {
      const post = '熬过了第三次化疗，求表扬！';
      const real = '你真的好坚强！一切都会好起来的，早日康复！';
      const [good, poster, repeated] = await session.score([
        { post, reply: real },
        { post, reply: '谢谢大家的鼓励，我会继续加油的' },
        { post, reply: '你真的好坚强坚强坚强坚强坚强！一切都会好起来的' },
      ]);
      expect(good).toBeGreaterThan(poster!);
      expect(good).toBeGreaterThan(repeated!);
    } finally {
      await session.close();
    }
  });
});
