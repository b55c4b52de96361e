import { describe, expect, it } from 'vitest';
import { prefillRuns } from '../../worker/engine/prefillRuns.ts';

/** Padded tokens plus runCost per run: what prefillRuns minimizes. */
const cost = (lengths: number[], runs: number[][], runCost: number) =>
  runs.reduce((sum, run) => sum + runCost + run.length * Math.max(...run.map((i) => lengths[i]!)), 0);

describe('prefillRuns', () => {
  it('keeps prompts of one length in one run, and has no run for no prompts', () => {
    expect(prefillRuns([9, 9, 9])).toEqual([[0, 1, 2]]);
    expect(prefillRuns([])).toEqual([]);
  });

  it('splits off long prompts when their padding would cost more than a run', () => {
    expect(prefillRuns([3, 50, 4], 8)).toEqual([[0, 2], [1]]);
    expect(prefillRuns([3, 5, 4], 8)).toEqual([[0, 2, 1]]);
  });

  it('uses every prompt once and is never costlier than one run or than one run per length', () => {
    const lengths = [10, 16, 7, 11, 14, 9, 9, 9, 10, 16, 7, 11, 14, 9, 9, 9];
    for (const runCost of [0, 4, 8, 64]) {
      const runs = prefillRuns(lengths, runCost);
      expect(runs.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
      const single = [lengths.map((_, i) => i)];
      const byLength = [...new Set(lengths)].map((n) => lengths.flatMap((m, i) => (m === n ? [i] : [])));
      expect(cost(lengths, runs, runCost)).toBeLessThanOrEqual(Math.min(cost(lengths, single, runCost), cost(lengths, byLength, runCost)));
    }
    expect(prefillRuns(lengths, 0)).toHaveLength(new Set(lengths).size);
    expect(prefillRuns(lengths, 1000)).toHaveLength(1);
  });
});
