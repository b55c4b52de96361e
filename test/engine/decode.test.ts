import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DecodeBatch, type SequenceGroup } from '../../worker/engine/batch.ts';
import { BusyReplicas } from '../../worker/engine/busyReplicas.ts';
import { loadModelConfig, onnxPath, type ModelConfig } from '../../worker/engine/config.ts';
import { gatherRows, KvArena } from '../../worker/engine/kv.ts';
import { createRng } from '../../worker/engine/sampling.ts';
import type { KvCache } from '../../worker/engine/kvCache.ts';
import { DecoderSession, defaultThreads } from '../../worker/engine/session.ts';
import { makeRandomModel } from '../helpers/model.ts';

const big = (xs: number[]) => BigInt64Array.from(xs.map(BigInt));

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// Appending: steps fetch new_key_values and write them into the cache's spare columns (the default for models from
// tools/model). Fetching present: every step returns a whole new cache (what a plain Optimum export needs).
describe.each([
  { mode: 'appending new_key_values', fetchPresent: false },
  { mode: 'fetching present', fetchPresent: true },
])('KV-cache decoding on a random model, $mode', ({ fetchPresent }) => {
  let cfg: ModelConfig;
  let session: DecoderSession;
  let vocab: number;

  const prefill = (ids: number[], cache?: KvCache) =>
    session.run({
      rows: 1,
      seqLen: ids.length,
      inputIds: big(ids),
      attentionMask: big(new Array(ids.length).fill(1)),
      positionIds: big(ids.map((_, i) => i)),
      cache: cache ?? session.emptyCache(1),
    });

  beforeAll(async () => {
    const dir = await makeRandomModel();
    cfg = loadModelConfig(dir);
    session = await DecoderSession.load(cfg, { path: onnxPath(dir, 'fp32'), threads: 1, fetchPresent });
    vocab = cfg.vocabSize;
    expect(session.spareColumns > 0).toBe(!fetchPresent);
  });

  it('cached step-by-step logits equal a full-sequence pass, past the spare columns of one cache', async () => {
    const seq = Array.from({ length: 24 }, (_, i) => 101 * (i + 1));
    const full = await session.logits({
      rows: 1,
      seqLen: seq.length,
      inputIds: big(seq),
      attentionMask: big(seq.map(() => 1)),
      positionIds: big(seq.map((_, i) => i)),
      cache: session.emptyCache(1),
    });
    let out = await prefill(seq.slice(0, 3));
    expect(maxDiff(out.lastLogits, full.subarray(2 * vocab, 3 * vocab))).toBeLessThan(1e-4);
    for (let t = 3; t < seq.length; t++) {
      out = await session.run({
        rows: 1,
        seqLen: 1,
        inputIds: big([seq[t]!]),
        attentionMask: big(new Array(t + 1).fill(1)),
        positionIds: big([t]),
        cache: out.cache,
      });
      expect(out.cache.past).toBe(t + 1);
      expect(maxDiff(out.lastLogits, full.subarray(t * vocab, (t + 1) * vocab))).toBeLessThan(1e-4);
    }
  });

  it('a left-padded batch gives the same logits as each row alone, in prefill and in decode steps', async () => {
    const a = [11, 12, 13];
    const b = [21, 22, 23, 24, 25, 26];
    const aloneA = await prefill(a);
    const aloneB = await prefill(b);
    const batch = await session.run({
      rows: 2,
      seqLen: 6,
      inputIds: big([0, 0, 0, ...a, ...b]),
      attentionMask: big([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
      positionIds: big([0, 0, 0, 0, 1, 2, 0, 1, 2, 3, 4, 5]),
      cache: session.emptyCache(2),
    });
    expect(maxDiff(batch.lastLogits.subarray(0, vocab), aloneA.lastLogits)).toBeLessThan(1e-4);
    expect(maxDiff(batch.lastLogits.subarray(vocab), aloneB.lastLogits)).toBeLessThan(1e-4);

    const stepA = await session.run({ rows: 1, seqLen: 1, inputIds: big([31]), attentionMask: big([1, 1, 1, 1]), positionIds: big([3]), cache: aloneA.cache });
    const stepBatch = await session.run({
      rows: 2,
      seqLen: 1,
      inputIds: big([31, 32]),
      attentionMask: big([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
      positionIds: big([3, 6]),
      cache: batch.cache,
    });
    expect(maxDiff(stepBatch.lastLogits.subarray(0, vocab), stepA.lastLogits)).toBeLessThan(1e-4);
  });

  it('gatherRows right-aligns rows so merged caches keep decoding correctly', async () => {
    const a = await prefill([11, 12, 13]);
    const b = await prefill([21, 22, 23, 24, 25]);
    const merged = gatherRows(
      [
        { cache: b.cache, row: 0 },
        { cache: a.cache, row: 0 },
      ],
      5,
    );
    expect(merged.rows).toBe(2);
    const step = await session.run({
      rows: 2,
      seqLen: 1,
      inputIds: big([40, 41]),
      attentionMask: big([1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1]),
      positionIds: big([5, 3]),
      cache: merged,
    });
    const aloneA = await session.run({ rows: 1, seqLen: 1, inputIds: big([41]), attentionMask: big([1, 1, 1, 1]), positionIds: big([3]), cache: a.cache });
    expect(maxDiff(step.lastLogits.subarray(vocab), aloneA.lastLogits)).toBeLessThan(1e-4);
    // trimming back to the short row drops only its padding
    const trimmed = gatherRows([{ cache: merged, row: 1 }], 3);
    expect(maxDiff(trimmed.tensors[0]!.data as Float32Array, a.cache.tensors[0]!.data as Float32Array)).toBe(0);
  });

  it('gathering into reused arena buffers matches fresh buffers, old contents cleared', async () => {
    const a = await prefill([11, 12, 13]);
    const b = await prefill([21, 22, 23, 24, 25]);
    const arena = new KvArena();
    const [, heads, , headDim] = a.cache.tensors[0]!.dims as number[];
    // Dirty both arena buffers first: columns a gather leaves as padding must not keep old values.
    for (let i = 0; i < 2; i++) {
      for (const t of arena.take(a.cache.tensors.length, [2, heads!, 6, headDim!])) (t.data as Float32Array).fill(7);
    }
    const rows = [
      { cache: b.cache, row: 0 },
      { cache: a.cache, row: 0 },
    ];
    const merged = gatherRows(rows, 5, arena);
    const fresh = gatherRows(rows, 5);
    merged.tensors.forEach((t, i) => {
      expect(maxDiff(t.data as Float32Array, fresh.tensors[i]!.data as Float32Array)).toBe(0);
    });
    // The next cache goes to the other buffer, so the current one stays intact while it is read.
    const trimmed = gatherRows([{ cache: merged, row: 1 }], 3, arena);
    expect(maxDiff(trimmed.tensors[0]!.data as Float32Array, a.cache.tensors[0]!.data as Float32Array)).toBe(0);
    merged.tensors.forEach((t, i) => {
      expect(maxDiff(t.data as Float32Array, fresh.tensors[i]!.data as Float32Array)).toBe(0);
    });
  });

  it('defaults to one intra-op thread for narrow models and one per core (0) for wide ones', () => {
    expect(defaultThreads({ ...cfg, nHead: 4, headDim: 64 })).toBe(1);
    expect(defaultThreads({ ...cfg, nHead: 16, headDim: 64 })).toBe(0);
  });

  it('greedy output of a sequence does not change when other rows join and leave the batch', async () => {
    const greedy = { temperature: 0, top_k: 0, top_p: 1, repetition_penalty: 1.1 };
    const group = (prompt: number[], maxNewTokens: number): SequenceGroup => ({
      prompt,
      rngs: [createRng(1)],
      params: greedy,
      minNewTokens: maxNewTokens,
      maxNewTokens,
    });
    const runAlone = async (g: SequenceGroup) => {
      const batch = new DecodeBatch(session, cfg);
      const done = await batch.admit([g]);
      while (batch.size > 0) done.push(...(await batch.step()));
      return done[0]!.tokens;
    };
    const target = group([100, 200, 300, 400], 12);
    const expected = await runAlone(target);
    expect(expected).toHaveLength(12);

    const batch = new DecodeBatch(session, cfg);
    const done = await batch.admit([group([7, 8], 2), target]);
    done.push(...(await batch.step()));
    done.push(...(await batch.admit([group([9, 10, 11, 12, 13, 14, 15, 16, 17], 5), group([5], 20)])));
    expect(batch.size).toBe(3);
    while (batch.size > 0) done.push(...(await batch.step()));
    expect(done).toHaveLength(4);
    expect(done.find((d) => d.group === target)!.tokens).toEqual(expected);
  });
});

describe('a replica while another one is busy', () => {
  it('runs on its second session, with fewer threads and the same logits, and has none when it would not be fewer', async () => {
    const dir = await makeRandomModel();
    const cfg = loadModelConfig(dir);
    const buffer = BusyReplicas.create(2);
    const mine = new BusyReplicas(buffer, 0);
    const other = new BusyReplicas(buffer, 1);
    const path = onnxPath(dir, 'fp32');
    const ids = [101, 202, 303, 404];
    const pass = (s: DecoderSession) =>
      s.logits({
        rows: 1,
        seqLen: ids.length,
        inputIds: big(ids),
        attentionMask: big(ids.map(() => 1)),
        positionIds: big(ids.map((_, i) => i)),
        cache: s.emptyCache(1),
      });
    /** The onnxruntime sessions the passes ran on, with the other replica busy or not. */
    const sessionsUsed = async (s: DecoderSession, otherBusy: boolean[]) => {
      // The exported factory is the session class at runtime: its prototype's run is every session's run.
      const sessionClass = ort.InferenceSession as unknown as { prototype: ort.InferenceSession };
      const runs = vi.spyOn(sessionClass.prototype, 'run');
      try {
        const logits = [];
        for (const busy of otherBusy) {
          other.mark(busy);
          logits.push(await pass(s));
        }
        return { used: runs.mock.contexts, logits };
      } finally {
        runs.mockRestore();
      }
    };
    mine.mark(true); // its own slot does not count
    const two = await DecoderSession.load(cfg, { path, threads: 2, sharedThreads: 1, busy: mine });
    const { used, logits } = await sessionsUsed(two, [false, true, false]);
    expect(used[1]).not.toBe(used[0]);
    expect(used[2]).toBe(used[0]);
    expect(maxDiff(logits[1]!, logits[0]!)).toBeLessThan(1e-5);

    const one = await DecoderSession.load(cfg, { path, threads: 1, sharedThreads: 1, busy: mine });
    const single = await sessionsUsed(one, [false, true]);
    expect(single.used[1]).toBe(single.used[0]);
    await Promise.all([two.release(), one.release()]);
  });
});
