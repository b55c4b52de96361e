import { expect } from 'vitest';
import { BARE_ASK, BY_TONE } from '../../src/fallback.ts';
import { tidyAndCutReply } from '../../src/policy.ts';

/**
 * The seed, and posts on which the bundled kuakua-mini with kuakua-judge and kuakua-reader, at the shipped settings
 * (8 candidates, 48 new tokens, policy.minScore) without the corpus and the frames, sends a generated praise with that seed, in the int8 variant the
 * worker runs and in the fp32 one of `kuakua praise`. Over seeds 0–19 (the round-8 post reader), each post gets one
 * at 11 to 18 of them in each variant, and all three at seed 1.
 */
export const PRAISE_SEED = 1;
export const PRAISED_POSTS = ['我升职了', '第一次自己做饭', '今天终于把房间收拾干净了'] as const;

/** The replies sent when no generated one is good enough (src/fallback.ts). */
export const TONE_REPLIES: ReadonlySet<string> = new Set([...Object.values(BY_TONE).flat(), ...BARE_ASK]);

/** `reply` is one of `sampled` (the engine's candidates for its post) as the policy sends it, and not a tone reply. */
export function expectGeneratedReply(reply: unknown, sampled: string[], maxChars: number): void {
  expect(reply).toEqual(expect.any(String));
  expect(TONE_REPLIES.has(reply as string), `"${reply}" is a tone reply`).toBe(false);
  expect(sampled.map((text) => tidyAndCutReply(text, maxChars))).toContain(reply);
}
