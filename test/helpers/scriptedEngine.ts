import type { Engine, GenerateRequest, GenerateResult, ScoredCandidate } from '../../worker/engine/index.ts';

/** Answers each generate() call with the next scripted candidate list (texts, or texts with scores), once `until` resolves. */
export function scriptedEngine(script: (string | ScoredCandidate)[][], until: Promise<unknown> = Promise.resolve()): Engine & { calls: GenerateRequest[] } {
  const calls: GenerateRequest[] = [];
  return {
    modelName: 'scripted',
    calls,
    async generate(reqs: GenerateRequest[]): Promise<GenerateResult[]> {
      calls.push(...reqs);
      await until;
      const scored = (script.shift() ?? []).map((c) => (typeof c === 'string' ? { text: c, logprob: -1 } : c));
      const candidates = scored.map((c) => c.text);
      return reqs.map((r) => ({
        reply: candidates[0] ?? '',
        candidates,
        scored,
        alsoJudged: (r.judgeAlso ?? []).map((text) => ({ text })),
        newTokens: 10,
        ms: 0,
      }));
    },
    async close() {},
  };
}
