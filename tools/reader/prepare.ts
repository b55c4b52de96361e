/**
 * Checks the post reader's labelled data (data/reader/*.jsonl) and prepares it for training.
 *
 *   node --import tsx tools/reader/prepare.ts [--data-dir ../shared/data] [--labels data/reader] [--corpus data/praise]
 *     [--out .kuakua/reader-data]
 *
 * The praise corpus's posts (data/praise, "" for none) join as more written rows: each has an intent and none is
 * distress.
 * Written rows carry their text; douban rows carry only a reference to a title in the shared data and its hash, so
 * the scraped text is never committed. Every row is checked (label, subject inside the text, no near-duplicates),
 * split into train and test by a hash of its text (fixed before any training, never tuned), and converted to
 * Simplified Chinese, which is what the reader's tokenizer knows. Prints the counts as JSON; exits 1 on a bad row.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { textKey } from '../../common/textKey.ts';
import { defaultDistressConfig } from '../../src/config.ts';
import { matchDistress } from '../../src/distress.ts';
import { INTENTS } from '../../src/intents.ts';
import { type CorpusRow, loadCorpus } from '../../src/praiseCorpus.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { SCRIPTS, toSimplified } from '../../src/script.ts';

const TEST_SHARE = 0.15;
/** The id prefixes of the distress files (data/reader/README.md): their rows without distress are the look-alikes. */
const LOOKALIKE_PREFIX = /^wd\d*-/;

const labels = {
  id: z.string().regex(/^[a-z][a-z0-9]*-\d+$/),
  intent: z.enum(INTENTS),
  distress: z.boolean(),
  subject: z.string().max(12),
  script: z.enum(SCRIPTS),
  trap: z.boolean(),
};
const writtenRow = z.strictObject({ ...labels, text: z.string().min(1).max(400) });
const doubanRow = z.strictObject({
  ...labels,
  ref: z.string().regex(/^forg77:titles\.txt:\d+$/),
  sha1: z.string().regex(/^[0-9a-f]{10}$/),
});

export interface PreparedRow {
  id: string;
  /** As written, for reading; `input` is what the model sees. */
  text: string;
  input: string;
  intent: number;
  distress: number;
  subject: string;
  script: 'simplified' | 'traditional';
  trap: boolean;
  /** A distress row that no `distress.patterns` entry matches: what only a learned reader can catch. */
  indirect: boolean;
  /** Written to look like distress and not be (笑死, 累死了, 跳楼价): the reader must not flag it. */
  lookalike: boolean;
  source: 'written' | 'douban' | 'corpus';
}

function sha1(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

export function isTest(text: string): boolean {
  return Number.parseInt(sha1(textKey(text)).slice(0, 8), 16) / 2 ** 32 < TEST_SHARE;
}

export function doubanTitles(dataDir: string): string[] {
  return readFileSync(join(dataDir, 'douban_kuakua_forg77/titles.txt'), 'utf8').split('\n');
}

/** A corpus post (data/praise) as a labelled row: written for kuakua with its intent, and never distress. */
function fromCorpus(row: CorpusRow): PreparedRow {
  return {
    id: row.id,
    text: row.post,
    input: toSimplified(row.post),
    intent: INTENTS.indexOf(row.intent),
    distress: 0,
    subject: row.subject,
    script: row.script,
    trap: false,
    indirect: false,
    lookalike: false,
    source: 'corpus',
  };
}

export function prepare(
  dataDir: string,
  dir = join(PROJECT_ROOT, 'data/reader'),
  corpusDir?: string,
): { train: PreparedRow[]; test: PreparedRow[]; problems: string[] } {
  const { patterns, exceptions } = defaultDistressConfig();
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const rows: PreparedRow[] = [];
  let titles: string[] | undefined;
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()) {
    const lines = readFileSync(join(dir, file), 'utf8').split('\n');
    for (const [i, line] of lines.entries()) {
      if (!line.trim()) continue;
      const where = `${file}:${i + 1}`;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        problems.push(`${where}: not JSON`);
        continue;
      }
      const douban = typeof parsed === 'object' && parsed !== null && 'ref' in parsed;
      const result = (douban ? doubanRow : writtenRow).safeParse(parsed);
      if (!result.success) {
        problems.push(`${where}: ${result.error.issues.map((e) => `${e.path.join('.')}: ${e.message}`).join('; ')}`);
        continue;
      }
      const row = result.data;
      let text: string;
      if ('ref' in row) {
        titles ??= doubanTitles(dataDir);
        text = (titles[Number(row.ref.split(':')[2]) - 1] ?? '').trim();
        if (sha1(text).slice(0, 10) !== row.sha1) {
          problems.push(`${where}: ${row.ref} does not hash to ${row.sha1}`);
          continue;
        }
      } else text = row.text;
      if (row.subject && !text.includes(row.subject)) problems.push(`${where}: subject ${JSON.stringify(row.subject)} is not in the text`);
      const key = textKey(text);
      const twin = seen.get(key);
      if (twin) {
        problems.push(`${where}: same text as ${twin}`);
        continue;
      }
      seen.set(key, where);
      rows.push({
        id: row.id,
        text,
        input: toSimplified(text),
        intent: INTENTS.indexOf(row.intent),
        distress: row.distress ? 1 : 0,
        subject: row.subject,
        script: row.script,
        trap: row.trap,
        indirect: row.distress && matchDistress(text, patterns, exceptions) === undefined,
        lookalike: LOOKALIKE_PREFIX.test(row.id) && !row.distress,
        source: 'ref' in row ? 'douban' : 'written',
      });
    }
  }
  // The praise corpus's posts add intents written as people post them; a post the labelled files already hold is kept once.
  for (const row of corpusDir ? loadCorpus(corpusDir, { all: true }) : []) {
    const key = textKey(row.post);
    if (seen.has(key)) continue;
    seen.set(key, row.id);
    rows.push(fromCorpus(row));
  }
  return { train: rows.filter((r) => !isTest(r.text)), test: rows.filter((r) => isTest(r.text)), problems };
}

function counts(rows: PreparedRow[]) {
  const byIntent = Object.fromEntries(INTENTS.map((name, i) => [name, rows.filter((r) => r.intent === i).length]));
  return {
    rows: rows.length,
    byIntent,
    distress: rows.filter((r) => r.distress).length,
    indirectDistress: rows.filter((r) => r.indirect).length,
    lookalikes: rows.filter((r) => r.lookalike).length,
    traps: rows.filter((r) => r.trap).length,
    traditional: rows.filter((r) => r.script === 'traditional').length,
    douban: rows.filter((r) => r.source === 'douban').length,
    corpus: rows.filter((r) => r.source === 'corpus').length,
  };
}

function main() {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string', default: join(PROJECT_ROOT, '../shared/data') },
      labels: { type: 'string', default: join(PROJECT_ROOT, 'data/reader') },
      corpus: { type: 'string', default: join(PROJECT_ROOT, 'data/praise') },
      out: { type: 'string' },
    },
  });
  const { train, test, problems } = prepare(values['data-dir'], values.labels, values.corpus || undefined);
  for (const p of problems) console.error(p);
  if (values.out) {
    mkdirSync(values.out, { recursive: true });
    for (const [name, rows] of [
      ['train', train],
      ['test', test],
    ] as const)
      writeFileSync(join(values.out, `${name}.jsonl`), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    writeFileSync(join(values.out, 'labels.json'), `${JSON.stringify(INTENTS)}\n`);
  }
  console.log(JSON.stringify({ train: counts(train), test: counts(test), problems: problems.length }, null, 1));
  if (problems.length) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) main();
