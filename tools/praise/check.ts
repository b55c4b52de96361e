/**
 * Checks the praise corpus (data/praise/*.jsonl) against the rules its writers were given (data/praise/README.md).
 *
 *   node --import tsx tools/praise/check.ts [--dir data/praise] [--only FILE]
 *
 * Every file is read, because near-duplicates are looked for across the whole corpus; `--only` limits the problems
 * printed to one file. Prints one line per problem and a JSON summary; exits 1 when there is any problem.
 */
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { GENTLE_INTENTS } from '../../src/intents.ts';
import { readJsonLines } from '../../src/jsonLines.ts';
import { type CorpusRow, corpusRowSchema, type Voice } from '../../src/praiseCorpus.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { scriptOf, toSimplified } from '../../src/script.ts';

/** What a post that calls for comfort may be answered with: comfort with a bright spot, or warmth about a detail. */
const GENTLE_VOICES: readonly Voice[] = ['comfort', 'detail'];
/** Two praises whose character trigrams overlap this much (Jaccard) are one praise said twice. */
const NEAR_DUPLICATE = 0.6;

/** Said as a whole reply, these fit any post: the corpus exists to replace them. */
const STOCK = ['太厉害了', '好厉害', '你好棒', '你真棒', '认真生活的样子真好', '继续保持', '加油', '好优秀', '太优秀了'];
/** Gender, age or a relation the post rarely gives: allowed only when the post itself says it. */
const ASSUMED = ['小姐姐', '小哥哥', '姐妹', '兄弟', '哥们', '美女', '帅哥', '小仙女', '小伙子', '姑娘', '阿姨', '大叔', '宝宝'];
const FORBIDDEN: { pattern: RegExp; why: string; unlessPost?: RegExp }[] = [
  { pattern: /生日|生辰/, why: 'a birthday the post does not mention', unlessPost: /生日|生辰|birthday/i },
  { pattern: /谢谢大家|谢谢各位/, why: 'speaks as the poster' },
  { pattern: /[@＠]|https?:|www\./, why: 'a mention or a link' },
  { pattern: /\p{Extended_Pictographic}/u, why: 'an emoji' },
  { pattern: /[\r\n]/, why: 'a line break' },
  { pattern: /[a-zA-Z]{12,}/, why: 'a long run of Latin letters' },
];
const NOT_GENTLE = /哈哈|嘿嘿|笑死|恭喜|庆祝|干杯|撒花|普天同庆/;

const cjkBigrams = (text: string): Set<string> => {
  const out = new Set<string>();
  const chars = [...toSimplified(text)];
  for (let i = 0; i + 1 < chars.length; i++) {
    const pair = chars.slice(i, i + 2).join('');
    if (/^\p{Script=Han}{2}$/u.test(pair)) out.add(pair);
  }
  return out;
};

const trigrams = (text: string): Set<string> => {
  const chars = [...toSimplified(text).replace(/[\p{P}\p{S}\s]/gu, '')];
  const out = new Set<string>();
  for (let i = 0; i + 2 < chars.length; i++) out.add(chars.slice(i, i + 3).join(''));
  return out;
};

interface Problem {
  file: string;
  id: string;
  what: string;
}

export async function checkRow(row: CorpusRow): Promise<string[]> {
  const problems: string[] = [];
  if (!row.post.includes(row.subject)) problems.push(`subject "${row.subject}" is not in the post`);
  if ((await scriptOf(row.post)) !== row.script) problems.push(`script is not ${row.script}`);
  const postBigrams = cjkBigrams(row.post);
  const gentle = GENTLE_INTENTS.includes(row.intent);
  const voices = new Set(row.praises.map((p) => p.voice));
  if (!gentle && voices.size < 3) problems.push(`only ${voices.size} voices; a post that is not gentle needs 3 or more`);
  let withSubject = 0;
  for (const { voice, text } of row.praises) {
    const at = `praise "${text}"`;
    const bare = text.replace(/[\p{P}\s]/gu, '');
    if (STOCK.includes(bare)) problems.push(`${at} is a stock phrase`);
    for (const word of ASSUMED) if (text.includes(word) && !row.post.includes(word)) problems.push(`${at} assumes ${word}`);
    for (const f of FORBIDDEN) if (f.pattern.test(text) && !f.unlessPost?.test(row.post)) problems.push(`${at}: ${f.why}`);
    if (gentle && !GENTLE_VOICES.includes(voice)) problems.push(`${at}: voice ${voice} on a ${row.intent} post`);
    if (gentle && NOT_GENTLE.test(text)) problems.push(`${at}: laughter or celebration on a ${row.intent} post`);
    if (![...cjkBigrams(text)].some((b) => postBigrams.has(b))) problems.push(`${at} shares no word with the post`);
    if (row.script === 'traditional' && (await scriptOf(text)) !== 'traditional' && toSimplified(text) !== text)
      problems.push(`${at} is not in Traditional like its post`);
    if (text.includes(row.subject)) withSubject++;
  }
  if (withSubject < 2) problems.push(`subject "${row.subject}" appears in ${withSubject} praises; 2 or more expected`);
  return problems;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dir: { type: 'string' }, only: { type: 'string' } } });
  const dir = values.dir ?? join(PROJECT_ROOT, 'data/praise');
  const only = values.only ? basename(values.only) : undefined;
  const problems: Problem[] = [];
  const rows: (CorpusRow & { file: string })[] = [];
  const ids = new Set<string>();
  for (const { file, line, raw } of readJsonLines(dir)) {
    const parsed = corpusRowSchema.safeParse(raw);
    if (!parsed.success) {
      problems.push({ file, id: `line ${line}`, what: z.prettifyError(parsed.error).replace(/\n/g, ' ') });
      continue;
    }
    const row = parsed.data;
    if (ids.has(row.id)) problems.push({ file, id: row.id, what: 'duplicate id' });
    ids.add(row.id);
    for (const what of await checkRow(row)) problems.push({ file, id: row.id, what });
    rows.push({ ...row, file });
  }

  // Near-duplicates across the whole corpus, found through an index of trigrams.
  const praises = rows.flatMap((r) => r.praises.map((p) => ({ row: r, text: p.text, grams: trigrams(p.text) })));
  const index = new Map<string, number[]>();
  praises.forEach((p, i) => {
    for (const g of p.grams) index.set(g, [...(index.get(g) ?? []), i]);
  });
  praises.forEach((p, i) => {
    const shared = new Map<number, number>();
    for (const g of p.grams) for (const j of index.get(g) ?? []) if (j < i) shared.set(j, (shared.get(j) ?? 0) + 1);
    for (const [j, n] of shared) {
      const other = praises[j];
      if (other && n / (p.grams.size + other.grams.size - n) >= NEAR_DUPLICATE)
        problems.push({ file: p.row.file, id: p.row.id, what: `praise "${p.text}" nearly repeats "${other.text}" (${other.row.id})` });
    }
  });
  const posts = new Map<string, string>();
  for (const r of rows) {
    const key = toSimplified(r.post).replace(/[\p{P}\s]/gu, '');
    const seen = posts.get(key);
    if (seen) problems.push({ file: r.file, id: r.id, what: `post repeats ${seen}` });
    posts.set(key, r.id);
  }

  const shown = problems.filter((p) => !only || p.file === only);
  for (const p of shown) console.log(`${p.file} ${p.id}: ${p.what}`);
  const count = (key: (r: CorpusRow) => string) =>
    Object.fromEntries([...new Set(rows.map(key))].sort().map((k) => [k, rows.filter((r) => key(r) === k).length]));
  console.log(
    JSON.stringify({
      posts: rows.length,
      praises: praises.length,
      situations: new Set(rows.map((r) => r.situation)).size,
      files: count((r) => (r as CorpusRow & { file: string }).file),
      intents: count((r) => r.intent),
      traditional: rows.filter((r) => r.script === 'traditional').length,
      problems: shown.length,
    }),
  );
  process.exitCode = shown.length ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
