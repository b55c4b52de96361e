/**
 * The text comparison both the core (policy, tone, distress, fallback) and the engine (choose) use, so "the same reply"
 * means one thing everywhere. common/ imports nothing from the project: the engine stays a leaf that depends on no
 * app layer, and the core does not depend on the worker.
 */

/** Comparison key for "is this the same text": width (NFKC), case, spaces, punctuation and symbols ignored. */
export function textKey(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s\p{P}\p{S}]+/gu, '');
}
