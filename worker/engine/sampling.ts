import type { GenerationConfig } from './config.ts';

export type Rng = () => number;

/** mulberry32: small, fast, and reproducible from a 32-bit seed (tests and `--seed`). */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SamplingParams extends Pick<GenerationConfig, 'temperature' | 'top_k' | 'top_p' | 'repetition_penalty'> {}

export interface SampleContext {
  /** Token ids already in the sequence (prompt + generated), penalised by repetition_penalty. */
  seen: Iterable<number>;
  /** Ids that must not be chosen at this step (stop tokens before min_new_tokens). */
  banned?: Iterable<number>;
  rng: Rng;
}

export interface Sample {
  id: number;
  /** Log-probability of the chosen id after repetition penalty and temperature, before truncation (ranks candidates). */
  logprob: number;
}

const POW2_BIAS = 1100;
/** 2^k for k in [-1100, 0]: exp's scale factor by table lookup (below 2^-1074 it is 0, as for Math.exp). */
const POW2 = Float64Array.from({ length: POW2_BIAS + 1 }, (_, i) => 2 ** (i - POW2_BIAS));

/**
 * e^x for x <= 0, within 1e-8 relative of Math.exp and about twice as fast: the exp over the vocabulary is most of a
 * sampling step. x = k·ln2 + r with |r| <= ln2/2, e^r by its degree-7 Taylor polynomial, 2^k from the table.
 */
export function expNonPositive(x: number): number {
  const k = Math.round(x * Math.LOG2E);
  if (k < -POW2_BIAS) return 0;
  const r = x - k * Math.LN2;
  const p = 1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r / 5040))))));
  return p * POW2[k + POW2_BIAS]!;
}

// Scratch space reused by every call (sampling is synchronous): no allocation over the vocabulary per token.
let scoresBuf = new Float32Array(0);
let weightsBuf = new Float64Array(0);
let poolBuf = new Int32Array(0);

/**
 * One sampling step over a row of logits, in the order Hugging Face applies its processors: repetition penalty,
 * temperature, top-k, top-p. temperature 0 means greedy. `logits` is not modified.
 */
export function sampleToken(logits: Float32Array, params: SamplingParams, ctx: SampleContext): Sample {
  const vocab = logits.length;
  if (scoresBuf.length < vocab) {
    scoresBuf = new Float32Array(vocab);
    weightsBuf = new Float64Array(vocab);
    poolBuf = new Int32Array(vocab);
  }
  const scores = scoresBuf.subarray(0, vocab);
  scores.set(logits);
  const penalty = params.repetition_penalty;
  if (penalty !== 1) {
    for (const id of ctx.seen instanceof Set ? ctx.seen : new Set(ctx.seen)) {
      const s = scores[id]!;
      scores[id] = s > 0 ? s / penalty : s * penalty;
    }
  }
  if (ctx.banned) for (const id of ctx.banned) scores[id] = -Infinity;

  const greedy = params.temperature === 0;
  const invT = greedy ? 1 : 1 / params.temperature;
  let max = -Infinity;
  let argmax = 0;
  for (let i = 0; i < vocab; i++) {
    if (scores[i]! > max) {
      max = scores[i]!;
      argmax = i;
    }
  }
  // Ids more than e^30 below the best get weight 0: skipping their exp is most of the work on a peaked distribution.
  const cut = max - 30 / invT;
  const weights = weightsBuf.subarray(0, vocab);
  let total = 0;
  for (let i = 0; i < vocab; i++) {
    const s = scores[i]!;
    total += weights[i] = s > cut ? expNonPositive((s - max) * invT) : 0;
  }

  const id = greedy ? argmax : sampleFrom(weights, total, params, ctx.rng);
  return { id, logprob: Math.log(weights[id]! / total) };
}

function sampleFrom(weights: Float64Array, total: number, params: SamplingParams, rng: Rng): number {
  // An id lighter than (1 - top_p) · total / vocab can never be in the nucleus: everything at or below its weight
  // sums to less than 1 - top_p. Dropping those first leaves a handful of ids on a peaked distribution.
  const floor = params.top_k > 0 ? 0 : ((1 - params.top_p) * total) / weights.length;
  let size = 0;
  for (let i = 0; i < weights.length; i++) if (weights[i]! >= floor && weights[i]! > 0) poolBuf[size++] = i;
  let pool: Int32Array<ArrayBufferLike> = poolBuf.subarray(0, size);
  let poolMass = total;
  if (params.top_k > 0 && params.top_k < pool.length) {
    pool = topMass(weights, pool, Infinity, params.top_k);
    poolMass = 0;
    for (const i of pool) poolMass += weights[i]!;
  }
  if (params.top_p < 1) pool = topMass(weights, pool, params.top_p * poolMass, pool.length);
  let mass = 0;
  for (const i of pool) mass += weights[i]!;
  let r = rng() * mass;
  let last = pool[0]!;
  for (const i of pool) {
    if (weights[i]! === 0) continue;
    last = i;
    r -= weights[i]!;
    if (r <= 0) return i;
  }
  return last;
}

/**
 * The heaviest ids of `pool` (at most `maxCount`) whose weights first reach `need`, found by quickselect in
 * expected O(n) instead of sorting the vocabulary on every step. The result is not sorted; callers only need the set.
 * With need = Infinity this is plain top-k.
 */
export function topMass(weights: Float64Array, pool: Int32Array, need: number, maxCount: number): Int32Array {
  const idx = Int32Array.from(pool);
  let lo = 0;
  let hi = idx.length;
  while (lo < hi && lo < maxCount && need > 0) {
    const pivot = weights[idx[lo + ((hi - lo) >> 1)]!]!;
    // Three-way partition of [lo, hi): heavier than pivot | equal | lighter.
    let gt = lo;
    let i = lo;
    let lt = hi;
    let massGt = 0;
    while (i < lt) {
      const w = weights[idx[i]!]!;
      if (w > pivot) {
        massGt += w;
        const t = idx[gt]!;
        idx[gt++] = idx[i]!;
        idx[i++] = t;
      } else if (w < pivot) {
        const t = idx[--lt]!;
        idx[lt] = idx[i]!;
        idx[i] = t;
      } else i++;
    }
    if (massGt >= need || gt > maxCount) {
      hi = gt;
      continue;
    }
    need -= massGt;
    const eqCount = lt - gt;
    const take = Math.min(eqCount, maxCount - gt, pivot > 0 ? Math.ceil(need / pivot) : eqCount);
    need -= take * pivot;
    lo = gt + take;
    if (take < eqCount) break;
    hi = Math.max(hi, lo);
  }
  return idx.subarray(0, Math.max(1, Math.min(lo, maxCount)));
}
