/**
 * Splits a reply into chunks of at most `limit` UTF-16 code units (what Telegram and Discord count),
 * preferring to break after a newline, then after sentence punctuation or a space, and never inside a surrogate pair.
 */
export function splitMessage(text: string, limit: number): string[] {
  if (limit < 2) throw new RangeError('limit must be at least 2');
  const chunks: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = bestBreak(rest, limit);
    const code = rest.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut--;
    chunks.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest.length > 0) chunks.push(rest);
  return chunks;
}

const SOFT_BREAKS = /[。！？!?；;，,、 ]/;

function bestBreak(text: string, limit: number): number {
  const window = text.slice(0, limit);
  const floor = Math.floor(limit / 2);
  const newline = window.lastIndexOf('\n');
  if (newline >= floor) return newline + 1;
  for (let i = window.length - 1; i >= floor; i--) if (SOFT_BREAKS.test(window[i]!)) return i + 1;
  return limit;
}
