import { describe, expect, it } from 'vitest';
import { createRng, expNonPositive, sampleToken, topMass, type SamplingParams } from '../../worker/engine/sampling.ts';

const base: SamplingParams = { temperature: 1, top_k: 0, top_p: 1, repetition_penalty: 1 };

function counts(logits: number[], params: SamplingParams, draws: number, seen: number[] = []): number[] {
  const rng = createRng(7);
  const c = new Array(logits.length).fill(0);
  const row = Float32Array.from(logits);
  for (let i = 0; i < draws; i++) c[sampleToken(row, params, { seen, rng }).id]++;
  return c;
}

describe('createRng', () => {
  it('is reproducible per seed and differs across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe('sampleToken', () => {
  it('temperature 0 is greedy', () => {
    const { id } = sampleToken(Float32Array.from([0.1, 3, 2.9, -1]), { ...base, temperature: 0 }, { seen: [], rng: createRng(1) });
    expect(id).toBe(1);
  });

  it('follows the softmax distribution at temperature 1', () => {
    const c = counts([Math.log(0.5), Math.log(0.3), Math.log(0.2)], base, 20_000);
    expect(c[0]! / 20_000).toBeCloseTo(0.5, 1);
    expect(c[1]! / 20_000).toBeCloseTo(0.3, 1);
    expect(c[2]! / 20_000).toBeCloseTo(0.2, 1);
  });

  it('top-k keeps only the k best ids', () => {
    const c = counts([1, 5, 4, 3, 2], { ...base, top_k: 2 }, 2000);
    expect(c[1]! + c[2]!).toBe(2000);
    expect(c[2]).toBeGreaterThan(0);
  });

  it('top-p keeps the smallest head reaching the mass', () => {
    // probabilities 0.6, 0.25, 0.1, 0.05: top_p 0.8 keeps the first two
    const logits = [0.6, 0.25, 0.1, 0.05].map(Math.log);
    const c = counts(logits, { ...base, top_p: 0.8 }, 4000);
    expect(c[2]! + c[3]!).toBe(0);
    expect(c[1]).toBeGreaterThan(0);
    // a tiny top_p still keeps the single best id
    expect(counts(logits, { ...base, top_p: 0.01 }, 200)[0]).toBe(200);
  });

  it('low temperature sharpens, high temperature flattens', () => {
    const logits = [2, 1, 0];
    const cold = counts(logits, { ...base, temperature: 0.2 }, 3000);
    const hot = counts(logits, { ...base, temperature: 5 }, 3000);
    expect(cold[0]! / 3000).toBeGreaterThan(0.95);
    expect(hot[2]! / 3000).toBeGreaterThan(0.2);
  });

  it('repetition penalty lowers ids already seen, for positive and negative logits', () => {
    const greedy = { ...base, temperature: 0, repetition_penalty: 2 };
    expect(sampleToken(Float32Array.from([3, 2]), greedy, { seen: [0], rng: createRng(1) }).id).toBe(1);
    expect(sampleToken(Float32Array.from([-1, -1.5]), greedy, { seen: [0], rng: createRng(1) }).id).toBe(1);
    expect(sampleToken(Float32Array.from([3, 2]), { ...greedy, repetition_penalty: 1 }, { seen: [0], rng: createRng(1) }).id).toBe(0);
  });

  it('never picks banned ids and reports a log-probability', () => {
    const rng = createRng(3);
    for (let i = 0; i < 200; i++) {
      const s = sampleToken(Float32Array.from([5, 0, 0]), base, { seen: [], banned: [0], rng });
      expect(s.id).not.toBe(0);
      expect(s.logprob).toBeCloseTo(Math.log(0.5), 5);
    }
  });

  it('is reproducible with the same seed over a large vocabulary', () => {
    const logits = Float32Array.from({ length: 25_600 }, (_, i) => Math.sin(i * 12.9898) * 3);
    const params = { temperature: 0.9, top_k: 0, top_p: 0.9, repetition_penalty: 1.2 };
    const draw = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 20 }, () => sampleToken(logits, params, { seen: [1, 2, 3], rng }).id);
    };
    expect(draw(11)).toEqual(draw(11));
    expect(draw(11)).not.toEqual(draw(12));
  });
});

describe('topMass', () => {
  const weights = Float64Array.from([5, 1, 3, 3, 0, 8, 2]);
  const all = Int32Array.from(weights.keys());

  it('is top-k when no mass is asked for', () => {
    expect([...topMass(weights, all, Infinity, 3)].sort()).toEqual([0, 2, 5].sort());
    expect([...topMass(weights, all, Infinity, 1)]).toEqual([5]);
  });

  it('stops as soon as the mass is reached, ties included', () => {
    expect([...topMass(weights, all, 13, 7)].sort()).toEqual([0, 5]);
    expect([...topMass(weights, all, 14, 7)]).toHaveLength(3);
    expect([...topMass(weights, all, 22, 7)].sort()).toEqual([0, 1, 2, 3, 5, 6]);
  });
});

describe('expNonPositive', () => {
  it('matches Math.exp within 1e-8 relative over the range sampling uses, and underflows to 0 like it', () => {
    let worst = 0;
    for (let x = -60; x <= 0; x += 0.0137) worst = Math.max(worst, Math.abs(expNonPositive(x) / Math.exp(x) - 1));
    expect(worst).toBeLessThan(1e-8);
    expect(expNonPositive(0)).toBe(1);
    expect(Math.abs(expNonPositive(-700) / Math.exp(-700) - 1)).toBeLessThan(1e-8);
    expect(expNonPositive(-1e6)).toBe(0);
    expect(expNonPositive(-Infinity)).toBe(0);
  });
});
