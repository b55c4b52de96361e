/**
 * Checks the praise frames (data/frames/*.jsonl) against the rules their writers were given (data/frames/README.md).
 *
 *   node --import tsx tools/frames/check.ts [FILE ...]   (default: every file of data/frames)
 *
 * Near-duplicates are looked for across all the files named. Prints one line per problem and a JSON summary; exits 1
 * when there is any problem.
 */
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { FRAME_KINDS, type FrameKind, SLOT, frameSchema } from '../../src/frames.ts';
import { readJsonLines } from '../../src/jsonLines.ts';
import { alike } from '../../src/policy.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { clashesWithTone, type Tone, toneOf } from '../../src/tone.ts';

const MIN_CHARS = 12;
const MAX_CHARS = 45;
/** Gender, age, relations and facts a frame cannot know of an unknown post. */
const ASSUMED = /他|她|姐妹|兄弟|小姐姐|小哥哥|美女|帅哥|女神|男神|宝宝|孩子|岁/;
const NOT_ALLOWED: { pattern: RegExp; why: string }[] = [
  { pattern: ASSUMED, why: 'assumes gender, age or a relation' },
  { pattern: /\p{Extended_Pictographic}/u, why: 'an emoji' },
  { pattern: /[a-zA-Z]/, why: 'Latin letters' },
  { pattern: /[\r\n]/, why: 'a line break' },
];

/** The tone a frame of each kind must fit: its intent's, or a birthday's. */
function toneOfKind(kind: FrameKind): Tone {
  return kind === 'birthday' ? 'birthday' : toneOf('', kind);
}

const { positionals } = parseArgs({ allowPositionals: true });
const files = positionals.length > 0 ? positionals : [join(PROJECT_ROOT, 'data/frames')];
const lines = files.flatMap((f) => (f.endsWith('.jsonl') ? readJsonLines(dirname(f)).filter((l) => l.file === basename(f)) : readJsonLines(f)));

const problems: string[] = [];
const kept: { at: string; words: string }[] = [];
const counts: Record<string, number> = {};
for (const { file, line, raw } of lines) {
  const at = `${file}:${line}`;
  const parsed = frameSchema.safeParse(raw);
  if (!parsed.success) {
    problems.push(`${at}: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    continue;
  }
  const { kind, text } = parsed.data;
  counts[kind] = (counts[kind] ?? 0) + 1;
  const words = text.replace(SLOT, '');
  const chars = Array.from(words).length;
  if (chars < MIN_CHARS || chars > MAX_CHARS) problems.push(`${at}: ${chars} characters without the slot (${MIN_CHARS}-${MAX_CHARS})`);
  for (const { pattern, why } of NOT_ALLOWED) if (pattern.test(words)) problems.push(`${at}: ${why}`);
  // The same rule the policy holds every reply to (comfort, no laughter, for a gentle post; 生日 only for a birthday),
  // for a post of this kind that says nothing else.
  const tone = toneOfKind(kind);
  if (clashesWithTone(words, tone)) problems.push(`${at}: does not fit a ${kind} post (comfort and no laughter when gentle, 生日 only on a birthday)`);
  if (tone === 'birthday' && !/生日/.test(words)) problems.push(`${at}: a birthday frame without 生日`);
  const twin = kept.find((k) => alike(k.words, words));
  if (twin) problems.push(`${at}: alike ${twin.at}`);
  kept.push({ at, words });
}
for (const line of problems) console.log(line);
console.log(JSON.stringify({ frames: kept.length, problems: problems.length, byKind: Object.fromEntries(FRAME_KINDS.map((k) => [k, counts[k] ?? 0])) }));
process.exitCode = problems.length > 0 ? 1 : 0;
