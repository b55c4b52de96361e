import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTENTS } from '../../src/intents.ts';
import { startPostReader } from '../../worker/engine/postReader.ts';
import { NgramReader } from '../../worker/engine/ngramReader.ts';
import { loadReaderConfig, ReaderSession } from '../../worker/engine/reader.ts';
import { modelTool } from '../helpers/modelTool.ts';

// A random reader from the toolchain: its ONNX graph, run by onnxruntime-node, must read exactly what PyTorch reads.
let tmp: string;
let dir: string;

const POSTS = [
  '今天终于拿到驾照了',
  '求夸',
  '以后不会再麻烦大家了',
  // Longer than the reader keeps: its start and its end are read.
  `开头的话${'今天熬过了第三次化疗，求表扬！'.repeat(12)}最后一句`,
  'Hello world 😀 deadline 过了',
];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'kuakua-reader-'));
  dir = join(tmp, 'reader');
  writeFileSync(join(tmp, 'labels.json'), JSON.stringify(INTENTS));
  await modelTool(['reader-random', '--out', dir, '--labels', join(tmp, 'labels.json')]);
}, 120_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const softmaxOf = (logits: number[]) => {
  const max = Math.max(...logits);
  const exps = logits.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
};
const sigmoidOf = (x: number) => 1 / (1 + Math.exp(-x));

describe('post reader', () => {
  it('reads the same tokens (start and end of a long post) and gives the same outputs as the PyTorch reference, in one padded batch', async () => {
    const session = await ReaderSession.load(dir, 'fp32');
    try {
      const ref = JSON.parse(await modelTool(['reader-reference', '--dir', dir], JSON.stringify(POSTS)));
      const cfg = loadReaderConfig(dir);
      const rows = POSTS.map((p) => session.encode(p));
      expect(rows).toEqual(ref.input_ids.map((ids: number[], i: number) => ids.slice(0, rows[i]!.length)));
      expect(rows[3]!.length).toBe(cfg.head_tokens + cfg.tail_tokens + 1);
      const outs = await session.read(POSTS);
      for (const [i, o] of outs.entries()) {
        const logits: number[] = ref.intent_logits[i];
        const max = Math.max(...logits);
        const sum = logits.reduce((a, x) => a + Math.exp(x - max), 0);
        for (const [c, x] of logits.entries()) expect(o.probs[c]).toBeCloseTo(Math.exp(x - max) / sum, 4);
        expect(o.distress).toBeCloseTo(1 / (1 + Math.exp(-ref.distress_logit[i])), 4);
      }
      // Padding must not change a post's reading: each post alone reads as it did in the batch.
      for (const [i, p] of POSTS.entries()) expect((await session.read([p]))[0]!.distress).toBeCloseTo(outs[i]!.distress, 4);
    } finally {
      await session.close();
    }
  });

  it('mixes in its character n-gram bag by the bag’s weight (its intent none for a post without Chinese), the bag reading as the toolchain’s reference', async () => {
    const mixed = join(tmp, 'reader-ngram');
    await modelTool(['reader-random', '--out', mixed, '--labels', join(tmp, 'labels.json'), '--ngram']);
    const cfg = loadReaderConfig(mixed);
    expect(cfg.ngram).toMatchObject({ file: 'ngram.bin', weight: 0.5, min_han: 2 });
    const bag = NgramReader.load(mixed, cfg.ngram!, cfg.labels.length);
    // The last has no Han character: its intent is the graph's alone.
    const posts = [...POSTS, '🎉🎉 ok'];
    const ref = JSON.parse(await modelTool(['reader-ngram-reference', '--dir', mixed], JSON.stringify(posts)));
    const graph = JSON.parse(await modelTool(['reader-reference', '--dir', mixed], JSON.stringify(posts)));
    const session = await ReaderSession.load(mixed, 'fp32');
    try {
      const outs = await session.read(posts);
      for (const [i, post] of posts.entries()) {
        const w = i === POSTS.length ? 0 : 0.5;
        expect(bag.intentWeightFor(post)).toBe(w);
        const logits = bag.read(post).logits;
        const n = cfg.labels.length;
        const probs = softmaxOf(Array.from(logits.subarray(0, n)));
        for (const [c, p] of probs.entries()) expect(p).toBeCloseTo(ref[i].probs[c], 4);
        expect(sigmoidOf(logits[n]!)).toBeCloseTo(ref[i].distress, 4);
        const own = softmaxOf(graph.intent_logits[i]);
        for (const [c, p] of outs[i]!.probs.entries()) expect(p).toBeCloseTo((1 - w) * own[c]! + w * ref[i].probs[c], 4);
        expect(outs[i]!.distress).toBeCloseTo(0.5 * sigmoidOf(graph.distress_logit[i]) + 0.5 * ref[i].distress, 4);
      }
    } finally {
      await session.close();
    }
    // A bag file that does not match its config is refused in one line.
    writeFileSync(join(mixed, 'ngram.bin'), Buffer.alloc(10));
    await expect(ReaderSession.load(mixed)).rejects.toThrow(/ngram\.bin has 10 bytes, its config says \d+/);
  });

  it('refuses a broken reader directory with a one-line error, also when started as a thread', async () => {
    expect(() => loadReaderConfig(join(tmp, 'nope'))).toThrow(/reader directory not found/);
    expect(() => loadReaderConfig(tmp)).toThrow(/missing config\.json/);
    await expect(startPostReader(join(tmp, 'nope'))).rejects.toThrow(/reader directory not found/);
  });

  it('in its thread, reads as the session does and adds the subject; once closed, a read fails at once', async () => {
    const reader = await startPostReader(dir);
    const session = await ReaderSession.load(dir);
    try {
      expect(reader.labels).toEqual(INTENTS);
      expect(reader.threshold).toBe(0.5);
      const [direct] = await session.read(['今天终于拿到驾照了']);
      const threaded = await reader.read('今天终于拿到驾照了');
      expect(threaded.probs).toEqual(direct!.probs);
      expect(threaded.subject).toBe('驾照');
      expect(await Promise.all(POSTS.map((p) => reader.read(p)))).toHaveLength(POSTS.length);
    } finally {
      await session.close();
      await reader.close();
    }
    await expect(reader.read('求夸')).rejects.toThrow(/post reader stopped/);
  });
});
