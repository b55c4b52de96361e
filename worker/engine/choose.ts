import { textKey } from '../../common/textKey.ts';

/** A sampled reply with its scores: the generator's mean log-probability per token, and the judge's logit. */
export interface ScoredCandidate {
  text: string;
  logprob: number;
  /** Absent when the engine runs without a judge. */
  judge?: number;
}

/**
 * Distinct non-empty candidates, best first (by the judge when there is one, else by log-probability), and the best
 * one whose normalized text is neither in `avoid` nor an echo of the post ('' when there is none).
 */
export function chooseReply(cands: ScoredCandidate[], avoid: string[], post: string): { reply: string; candidates: string[]; scored: ScoredCandidate[] } {
  const seen = new Set<string>();
  const scored: ScoredCandidate[] = [];
  const rank = (c: ScoredCandidate) => c.judge ?? c.logprob;
  for (const c of [...cands].sort((a, b) => rank(b) - rank(a))) {
    const key = textKey(c.text);
    if (!key || seen.has(key)) continue;
    seen.add(key);
    scored.push(c);
  }
  const blocked = new Set([...avoid, post].map(textKey));
  const candidates = scored.map((c) => c.text);
  return { reply: candidates.find((t) => !blocked.has(textKey(t))) ?? '', candidates, scored };
}
