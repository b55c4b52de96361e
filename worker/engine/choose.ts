import { textKey } from '../../src/textKey.ts';

export interface Candidate {
  text: string;
  score: number;
}

/**
 * Distinct non-empty candidates, best score first, and the best one whose normalized text is neither in `avoid`
 * nor an echo of the post ('' when there is none).
 */
export function chooseReply(cands: Candidate[], avoid: string[], post: string): { reply: string; candidates: string[] } {
  const seen = new Set<string>();
  const ranked: string[] = [];
  for (const c of [...cands].sort((a, b) => b.score - a.score)) {
    const key = textKey(c.text);
    if (!key || seen.has(key)) continue;
    seen.add(key);
    ranked.push(c.text);
  }
  const blocked = new Set([...avoid, post].map(textKey));
  return { reply: ranked.find((t) => !blocked.has(textKey(t))) ?? '', candidates: ranked };
}
