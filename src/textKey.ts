/** Comparison key for "is this the same text": width (NFKC), case, spaces, punctuation and symbols ignored. */
export function textKey(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, '');
}
