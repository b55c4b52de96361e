import { textKey } from '../common/textKey.ts';
import type { DistressConfig } from './config.ts';
import { inScript, type Script } from './script.ts';
import { normalizeText } from './triggers.ts';

// A pattern made only of these is matched as whole Latin words; any other pattern is matched as compact text.
const LATIN_ONLY = /^[\p{Script=Latin}\p{N}\p{P}\p{S}\p{Z}\s]+$/u;
const APOSTROPHES = /['\u2018\u2019\u02BC`]/g;
// Put where an exception was cut out, so that the text on either side of it does not join up into a pattern.
const CUT = '\u0000';

interface Prepared {
  /** Matched as whole Latin words (key is " kill myself "), else as compact text (key is "不想活"). */
  words: boolean;
  key: string;
}

/** " i dont want to live ": no accents or apostrophes, lower case, every other run of non-[a-z0-9] one space. */
function words(text: string): string {
  const plain = text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(APOSTROPHES, '');
  return ` ${plain.replace(/[^a-z0-9]+/g, ' ').trim()} `;
}

function prepare(pattern: string): Prepared | undefined {
  const plain = normalizeText(pattern).normalize('NFKC');
  if (LATIN_ONLY.test(plain)) {
    const key = words(plain);
    return key.trim() ? { words: true, key } : undefined;
  }
  const key = textKey(plain);
  return key ? { words: false, key } : undefined;
}

/**
 * The first of `patterns` that the text speaks of, or undefined. Latin patterns match whole words (case, accents,
 * apostrophes and what stands between words ignored); other patterns match anywhere, ignoring width, case, spaces,
 * punctuation and symbols. Each occurrence of an exception is cut out first; a Chinese exception must be written
 * without punctuation inside it ("我想死，你们了解吗" does not contain the exception 想死你们了).
 */
export function matchDistress(text: string, patterns: readonly string[], exceptions: readonly string[] = []): string | undefined {
  const plain = normalizeText(text);
  let spaced = plain.normalize('NFKC').toLowerCase().replace(/\s+/g, '');
  let latin = words(plain);
  for (const e of exceptions.map(prepare)) {
    if (!e) continue;
    if (e.words) latin = latin.replace(new RegExp(`(?<= )${e.key.trim()}(?= )`, 'g'), CUT);
    else spaced = spaced.replaceAll(e.key, CUT);
  }
  const compact = textKey(spaced);
  return patterns.find((p) => {
    const q = prepare(p);
    return q !== undefined && (q.words ? latin : compact).includes(q.key);
  });
}

/**
 * The care reply in the script the person wrote in. A Traditional post gets `distress.replyTraditional`, with help
 * lines people in Taiwan and Hong Kong can call, or, when that is empty, `distress.reply` converted to Traditional.
 */
export async function careReply(distress: Pick<DistressConfig, 'reply' | 'replyTraditional'>, script: Script): Promise<string> {
  return script === 'traditional' && distress.replyTraditional ? distress.replyTraditional : inScript(distress.reply, script);
}
