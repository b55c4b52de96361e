/**
 * What one extra prefill run costs, in prompt tokens. A run reads every weight once: on the GPT-3-large q4 file a
 * one-token run took as long as about four more tokens in a big run, whose 4-bit products cost the same per token at
 * any batch size (so a padding token costs as much as a real one). Small models' runs are mostly fixed overhead and
 * cost relatively more; 8 sits between the two.
 */
export const RUN_COST_TOKENS = 8;

/**
 * Splits prompts into prefill runs so that left padding wastes little: a run is padded to its longest prompt, so
 * prompts of 7 and 16 tokens in one run cost as much as two of 16. Returns the prompts' indices per run, shortest
 * prompts first, minimizing padded tokens plus `runCost` per run (exact, by dynamic programming over the prompts
 * sorted by length).
 */
export function prefillRuns(lengths: readonly number[], runCost = RUN_COST_TOKENS): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]!);
  const n = order.length;
  // best[j]: cheapest plan for the j shortest prompts; cut[j]: where its last run starts.
  const best = new Float64Array(n + 1).fill(Infinity);
  const cut = new Int32Array(n + 1);
  best[0] = 0;
  for (let j = 1; j <= n; j++) {
    const width = lengths[order[j - 1]!]!;
    for (let i = 0; i < j; i++) {
      const cost = best[i]! + runCost + (j - i) * width;
      if (cost < best[j]!) {
        best[j] = cost;
        cut[j] = i;
      }
    }
  }
  const runs: number[][] = [];
  for (let j = n; j > 0; j = cut[j]!) runs.unshift(order.slice(cut[j]!, j));
  return runs;
}
