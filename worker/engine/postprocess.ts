// CJK ideographs, kana, hangul and full-width forms: the tokenizer splits these per character and the WordPiece
// decoder joins tokens with spaces, so spaces between two such characters are artefacts.
const CJK =
  '\\u2E80-\\u2FFF\\u3000-\\u303F\\u3040-\\u30FF\\u3100-\\u31FF\\u3400-\\u4DBF\\u4E00-\\u9FFF\\uAC00-\\uD7AF\\uF900-\\uFAFF\\uFE30-\\uFE4F\\uFF00-\\uFFEF';
const CJK_GAP = new RegExp(`([${CJK}])\\s+(?=[${CJK}])`, 'gu');

export function joinCjk(text: string): string {
  return text.replace(CJK_GAP, '$1');
}

/** Decoded model output -> reply text: CJK spacing removed, text after the separator kept, trimmed. */
export function replyFromDecoded(decoded: string, separator: string): string {
  let text = joinCjk(decoded);
  const at = separator ? text.lastIndexOf(separator) : -1;
  if (at >= 0) text = text.slice(at + separator.length);
  return text.trim();
}
