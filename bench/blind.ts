/**
 * Blind judging (../shared/eval/JUDGING.md): shuffle the replies of several systems into one sheet without their names,
 * then unblind the judge's scores into a report.
 *
 *   npm run blind -- make --system human=human.jsonl --system after=after.jsonl --out eval/run1 [--seed 7]
 *       Each FILE is JSONL of {post, reply, ...}: one reply per post. Posts are matched by their text (trimmed); posts
 *       missing from any system are skipped and counted. Writes DIR/sheet.md for the judge (posts numbered from 1,
 *       replies labelled A, B, C… in a seeded per-post order, no system names, no rubric) and DIR/key.json (the seed,
 *       the systems, and per post index its text and label → system). Without --seed a random seed is drawn and kept
 *       in key.json, so that a judge who has seen an earlier key cannot guess the order.
 *
 *   npm run blind -- score --key eval/run1/key.json --scores eval/run1/scores.jsonl --out eval/run1/report.md [--partial]
 *       The scores file (JSONL or a JSON array) holds {post: <index>, scores: {A: 4, B: 2, …}, specific: {A: true, …},
 *       prefer: "A" | "tie"} per post; labels in either case; `specific` (JUDGING.md's mark) may be left out, but covers
 *       every reply of a post when given. Every post of the key must be scored unless --partial. Writes and prints the
 *       report: per system mean, share good (4–5), bad (1–2) and specific, preference counts, and head-to-head counts.
 *
 * Plain exported functions (tested in test/eval/blind.test.ts) plus the commander wiring at the end.
 */
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { z } from 'zod';
import { createRng } from '../worker/engine/sampling.ts';

// ---------------------------------------------------------------------------------------------------------------- make

export interface SystemInput {
  name: string;
  /** Path or other source name, for error messages. */
  source: string;
  /** The file's text: JSONL of {post, reply, ...}. */
  text: string;
}

export interface MatchedPost {
  post: string;
  /** System name → reply. */
  replies: Record<string, string>;
}

export interface Matched {
  systems: string[];
  posts: MatchedPost[];
  /** Posts present in some systems but not all. */
  skipped: number;
  /** Per system, rows dropped because an earlier row had the same post (the first reply is kept). */
  duplicates: Record<string, number>;
}

const replyRowSchema = z.looseObject({
  post: z.string().refine((s) => s.trim().length > 0, 'must not be empty'),
  reply: z.string(),
});

const SYSTEM_NAME = /^[\w.-]+$/;

/** Splits `NAME=FILE`. */
export function parseSystemSpec(spec: string): { name: string; file: string } {
  const at = spec.indexOf('=');
  const name = spec.slice(0, at);
  const file = spec.slice(at + 1);
  if (at < 0 || !SYSTEM_NAME.test(name) || !file) {
    throw new Error(`--system takes NAME=FILE with NAME of letters, digits, "_", "-" or ".", got "${spec}"`);
  }
  return { name, file };
}

/** Parses one system's JSONL into post → reply (first row wins for a repeated post). */
export function parseReplies(input: SystemInput): { replies: Map<string, string>; duplicates: number } {
  const replies = new Map<string, string>();
  let duplicates = 0;
  input.text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw new Error(`${input.source} line ${i + 1}: not JSON`);
    }
    const row = replyRowSchema.safeParse(raw);
    if (!row.success) throw new Error(`${input.source} line ${i + 1}: ${describeIssue(row.error.issues[0]!)}`);
    const post = row.data.post.trim();
    if (replies.has(post)) duplicates++;
    else replies.set(post, row.data.reply);
  });
  return { replies, duplicates };
}

/** Keeps the posts every system answered, in the first system's order. */
export function matchSystems(inputs: SystemInput[]): Matched {
  if (inputs.length === 0) throw new Error('give at least one --system NAME=FILE');
  if (inputs.length > 26) throw new Error(`at most 26 systems (labels A to Z), got ${inputs.length}`);
  const names = inputs.map((s) => s.name);
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated) throw new Error(`system "${repeated}" is given twice`);

  const parsed = inputs.map(parseReplies);
  const all = new Set<string>();
  for (const p of parsed) for (const post of p.replies.keys()) all.add(post);
  const posts: MatchedPost[] = [];
  for (const post of parsed[0]!.replies.keys()) {
    if (!parsed.every((p) => p.replies.has(post))) continue;
    posts.push({ post, replies: Object.fromEntries(names.map((n, i) => [n, parsed[i]!.replies.get(post)!])) });
  }
  return {
    systems: names,
    posts,
    skipped: all.size - posts.length,
    duplicates: Object.fromEntries(names.map((n, i) => [n, parsed[i]!.duplicates])),
  };
}

/**
 * The order of the systems for one post: a Fisher-Yates shuffle seeded by (seed, post index), so that a post's order
 * does not depend on how many posts come before it.
 */
export function shuffleFor<T>(items: readonly T[], seed: number, index: number): T[] {
  const next = createRng(Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b));
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export const LABELS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

const keySchema = z.strictObject({
  seed: z.number().int(),
  systems: z.array(z.string()).min(1),
  /** Post index (from 1, as in the sheet) → the post and label → system. */
  posts: z.record(z.string().regex(/^[1-9]\d*$/), z.strictObject({ post: z.string(), labels: z.record(z.string().regex(/^[A-Z]$/), z.string()) })),
});
export type Key = z.infer<typeof keySchema>;

/** Collapses line breaks, so that a post stays one heading and a reply one list item. */
function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** Builds the judge's sheet and the key. The sheet names no system and does not copy the rubric. */
export function makeSheet(matched: Matched, seed: number): { sheet: string; key: Key } {
  const key: Key = { seed, systems: matched.systems, posts: {} };
  const n = matched.systems.length;
  const labels = [...LABELS.slice(0, n)];
  const lines = [
    '# Blind judging sheet',
    '',
    `${matched.posts.length} posts, ${n} ${n === 1 ? 'reply' : 'replies'} each, in random order.`,
    'Score every reply from 1 to 5 with the rubric you were given, mark whether it is specific to its post, and say',
    'which reply of each post you prefer (or "tie"). Answer with one JSON line per post:',
    '',
    '```',
    `{"post": 1, "scores": {${labels.map((l) => `"${l}": <1-5>`).join(', ')}}, "specific": {${labels.map((l) => `"${l}": <true|false>`).join(', ')}}, "prefer": "<${n === 1 ? 'A' : `${labels[0]}…${labels[n - 1]}`} or tie>"}`,
    '```',
    '',
  ];
  matched.posts.forEach((p, i) => {
    const index = i + 1;
    const order = shuffleFor(matched.systems, seed, index);
    key.posts[String(index)] = { post: p.post, labels: Object.fromEntries(order.map((s, j) => [labels[j]!, s])) };
    lines.push(`## ${index}. ${oneLine(p.post)}`, '');
    order.forEach((s, j) => {
      const reply = oneLine(p.replies[s]!);
      lines.push(`- **${labels[j]}**: ${reply || '*(empty reply)*'}`);
    });
    lines.push('');
  });
  return { sheet: lines.join('\n'), key };
}

/**
 * System names that occur in a post or reply (e.g. a model naming itself): the caller should warn, since they may
 * unblind the sheet. Whole ASCII words only, so that a system called "new" is found in "我是new" but not in "renewal".
 */
export function leakedNames(matched: Matched): string[] {
  const text = matched.posts.flatMap((p) => [p.post, ...Object.values(p.replies)]).join('\n');
  return matched.systems.filter((s) => {
    const escaped = s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`(?<![A-Za-z0-9_])${escaped}(?![A-Za-z0-9_])`, 'i').test(text);
  });
}

// --------------------------------------------------------------------------------------------------------------- score

export interface Judgement {
  post: number;
  /** Upper-case label → score 1..5. */
  scores: Record<string, number>;
  /** Upper-case label → whether the reply is specific to its post; absent when the judge did not mark it. */
  specific?: Record<string, boolean>;
  /** Upper-case label, or "tie". */
  prefer: string;
}

const judgementSchema = z.object({
  post: z.number().int().positive(),
  scores: z.record(z.string(), z.unknown()),
  specific: z.record(z.string(), z.boolean()).optional(),
  prefer: z.string(),
});

export function parseKey(text: string, source = 'key'): Key {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${source}: not JSON`);
  }
  const key = keySchema.safeParse(raw);
  if (!key.success) throw new Error(`${source}: ${describeIssue(key.error.issues[0]!)}`);
  return key.data;
}

/** Reads a JSON array or JSONL into raw entries with their position for messages ("line 3", "entry 3"). */
function readEntries(text: string, source: string): { where: string; raw: unknown }[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let arr: unknown;
    try {
      arr = JSON.parse(trimmed);
    } catch {
      throw new Error(`${source}: starts with "[" but is not a JSON array`);
    }
    return (arr as unknown[]).map((raw, i) => ({ where: `${source} entry ${i + 1}`, raw }));
  }
  const out: { where: string; raw: unknown }[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${source} line ${i + 1}`;
    try {
      out.push({ where, raw: JSON.parse(line) });
    } catch {
      throw new Error(`${where}: not JSON`);
    }
  });
  return out;
}

/**
 * Parses and checks the judge's answer against the key. Throws one line naming the post index: a post the key does not
 * have, a post judged twice, a missing or unknown label, a score that is not an integer from 1 to 5, a bad preference,
 * or (without `partial`) posts left unjudged.
 */
export function parseScores(text: string, key: Key, opts: { source?: string; partial?: boolean } = {}): Judgement[] {
  const source = opts.source ?? 'scores';
  const seen = new Set<number>();
  const out: Judgement[] = [];
  for (const { where, raw } of readEntries(text, source)) {
    const rawPost = (raw as { post?: unknown } | null)?.post;
    const base = judgementSchema.safeParse(raw);
    if (!base.success) {
      const at = typeof rawPost === 'number' ? `${where} (post ${rawPost})` : where;
      throw new Error(`${at}: ${describeIssue(base.error.issues[0]!)}`);
    }
    const { post } = base.data;
    const entry = key.posts[String(post)];
    if (!entry) throw new Error(`post ${post}: not in the key, which has posts 1 to ${Object.keys(key.posts).length} (${where})`);
    if (seen.has(post)) throw new Error(`post ${post}: judged twice (${where})`);
    seen.add(post);

    const labels = Object.keys(entry.labels).sort();
    const scores: Record<string, number> = {};
    for (const [label, value] of Object.entries(base.data.scores)) {
      const l = label.trim().toUpperCase();
      if (!entry.labels[l]) throw new Error(`post ${post}: unknown label "${label}", the sheet has ${labels.join(', ')}`);
      if (l in scores) throw new Error(`post ${post}: label ${l} is scored twice`);
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 5) {
        throw new Error(`post ${post}: score of ${l} is ${JSON.stringify(value)}, it must be an integer from 1 to 5`);
      }
      scores[l] = value;
    }
    const missing = labels.filter((l) => !(l in scores));
    if (missing.length) throw new Error(`post ${post}: no score for label ${missing.join(', ')}`);

    let specific: Record<string, boolean> | undefined;
    if (base.data.specific) {
      specific = {};
      for (const [label, value] of Object.entries(base.data.specific)) {
        const l = label.trim().toUpperCase();
        if (!entry.labels[l]) throw new Error(`post ${post}: unknown label "${label}" in specific, the sheet has ${labels.join(', ')}`);
        specific[l] = value;
      }
      const unmarked = labels.filter((l) => !(l in specific!));
      if (unmarked.length) throw new Error(`post ${post}: no specific mark for label ${unmarked.join(', ')}`);
    }

    const prefer = base.data.prefer.trim().toUpperCase() === 'TIE' ? 'tie' : base.data.prefer.trim().toUpperCase();
    if (prefer !== 'tie' && !entry.labels[prefer]) {
      throw new Error(`post ${post}: prefer is "${base.data.prefer}", it must be one of ${labels.join(', ')} or "tie"`);
    }
    out.push({ post, scores, ...(specific && { specific }), prefer });
  }
  if (!opts.partial) {
    const unjudged = Object.keys(key.posts)
      .map(Number)
      .filter((p) => !seen.has(p))
      .sort((a, b) => a - b);
    if (unjudged.length) {
      const list = unjudged.length > 10 ? `${unjudged.slice(0, 10).join(', ')} and ${unjudged.length - 10} more` : unjudged.join(', ');
      throw new Error(`${unjudged.length} post(s) not judged: ${list} (score them, or pass --partial)`);
    }
  }
  return out.sort((a, b) => a.post - b.post);
}

export interface SystemStats {
  system: string;
  posts: number;
  mean: number;
  good: number;
  bad: number;
  /** Count of each score 1..5, index 0 = score 1. */
  histogram: number[];
  preferred: number;
  /** Replies marked specific, of `marked` that carry a mark. */
  specific: number;
  marked: number;
}

export interface HeadToHead {
  x: string;
  y: string;
  higher: number;
  lower: number;
  equal: number;
}

export interface Report {
  posts: number;
  systems: SystemStats[];
  ties: number;
  pairs: HeadToHead[];
  /** Per post: system → score (and specific mark), and the preferred system (or "tie"). */
  perPost: { post: number; text: string; scores: Record<string, number>; specific?: Record<string, boolean>; prefer: string }[];
}

/** Unblinds the judgements with the key and counts. */
export function summarize(key: Key, judgements: Judgement[]): Report {
  const perPost = judgements.map((j) => {
    const labels = key.posts[String(j.post)]!.labels;
    const scores = Object.fromEntries(Object.entries(j.scores).map(([l, s]) => [labels[l]!, s]));
    const specific = j.specific && Object.fromEntries(Object.entries(j.specific).map(([l, s]) => [labels[l]!, s]));
    return {
      post: j.post,
      text: key.posts[String(j.post)]!.post,
      scores,
      ...(specific && { specific }),
      prefer: j.prefer === 'tie' ? 'tie' : labels[j.prefer]!,
    };
  });
  const systems = key.systems.map((system): SystemStats => {
    const scores = perPost.map((p) => p.scores[system]!);
    const histogram = [1, 2, 3, 4, 5].map((v) => scores.filter((s) => s === v).length);
    return {
      system,
      posts: scores.length,
      mean: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : NaN,
      good: histogram[3]! + histogram[4]!,
      bad: histogram[0]! + histogram[1]!,
      histogram,
      preferred: perPost.filter((p) => p.prefer === system).length,
      specific: perPost.filter((p) => p.specific?.[system] === true).length,
      marked: perPost.filter((p) => p.specific?.[system] !== undefined).length,
    };
  });
  const pairs: HeadToHead[] = [];
  for (let i = 0; i < key.systems.length; i++) {
    for (let j = i + 1; j < key.systems.length; j++) {
      const x = key.systems[i]!;
      const y = key.systems[j]!;
      const h: HeadToHead = { x, y, higher: 0, lower: 0, equal: 0 };
      for (const p of perPost) {
        const d = p.scores[x]! - p.scores[y]!;
        if (d > 0) h.higher++;
        else if (d < 0) h.lower++;
        else h.equal++;
      }
      pairs.push(h);
    }
  }
  return { posts: perPost.length, systems, ties: perPost.filter((p) => p.prefer === 'tie').length, pairs, perPost };
}

function share(count: number, total: number): string {
  return total ? `${((100 * count) / total).toFixed(0)}% (${count})` : '–';
}

function cell(s: string): string {
  return oneLine(s).replace(/\|/g, '\\|');
}

export function renderReport(report: Report, title = 'Blind judging'): string {
  const n = report.posts;
  const lines = [
    `# ${title}`,
    '',
    `${n} posts judged blind; rubric in JUDGING.md. Good = 4 or 5, bad = 1 or 2. Compare systems within this run only.`,
    '',
    '| system | posts | mean | good (4–5) | bad (1–2) | specific | scores 1/2/3/4/5 |',
    '|---|---|---|---|---|---|---|',
    ...report.systems.map(
      (s) =>
        `| ${s.system} | ${s.posts} | ${Number.isNaN(s.mean) ? '–' : s.mean.toFixed(2)} | ${share(s.good, s.posts)} | ${share(s.bad, s.posts)} | ${share(s.specific, s.marked)} | ${s.histogram.join('/')} |`,
    ),
    '',
    '## Preferred',
    '',
    '| system | preferred |',
    '|---|---|',
    ...report.systems.map((s) => `| ${s.system} | ${share(s.preferred, n)} |`),
    `| tie | ${share(report.ties, n)} |`,
    '',
  ];
  if (report.pairs.length) {
    lines.push('## Head to head', '', "Same post, X's score against Y's.", '', '| X vs Y | X higher | X lower | equal |', '|---|---|---|---|');
    for (const p of report.pairs) lines.push(`| ${p.x} vs ${p.y} | ${p.higher} | ${p.lower} | ${p.equal} |`);
    lines.push('');
  }
  const names = report.systems.map((s) => s.system);
  lines.push('## Per post', '', `| # | post | ${names.join(' | ')} | preferred |`, `|---|---|${names.map(() => '---|').join('')}---|`);
  for (const p of report.perPost) {
    const text = Array.from(p.text);
    const short = text.length > 40 ? `${text.slice(0, 40).join('')}…` : p.text;
    lines.push(`| ${p.post} | ${cell(short)} | ${names.map((s) => p.scores[s]).join(' | ')} | ${p.prefer} |`);
  }
  lines.push('');
  return lines.join('\n');
}

// ------------------------------------------------------------------------------------------------------------- helpers

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

// ----------------------------------------------------------------------------------------------------------------- CLI

interface MakeOptions {
  system: string[];
  out: string;
  seed?: string;
}

function runMake(opts: MakeOptions): void {
  const specs = opts.system.map(parseSystemSpec);
  let seed: number;
  if (opts.seed === undefined) seed = Math.floor(Math.random() * 2 ** 31);
  else {
    seed = Number(opts.seed);
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`--seed must be an integer from 0 to ${2 ** 32 - 1}`);
  }
  const matched = matchSystems(specs.map((s) => ({ name: s.name, source: s.file, text: readText(s.file) })));
  if (matched.posts.length === 0) throw new Error('no post is answered by every system');
  const { sheet, key } = makeSheet(matched, seed);
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'sheet.md'), sheet);
  writeFileSync(join(opts.out, 'key.json'), `${JSON.stringify(key, null, 2)}\n`);

  console.log(`${matched.posts.length} posts, systems ${matched.systems.join(', ')}, seed ${seed}`);
  console.log(`skipped ${matched.skipped} post(s) missing from at least one system`);
  for (const [s, d] of Object.entries(matched.duplicates)) if (d) console.log(`${s}: ignored ${d} repeated post(s), kept the first reply`);
  const leaked = leakedNames(matched);
  if (leaked.length) console.warn(`warning: posts or replies contain the system name(s) ${leaked.join(', ')}; rename the systems before judging`);
  if (matched.posts.length < 40) console.warn(`warning: only ${matched.posts.length} posts; JUDGING.md asks for at least 40`);
  console.log(`wrote ${join(opts.out, 'sheet.md')} (for the judge) and ${join(opts.out, 'key.json')} (keep it from the judge)`);
}

interface ScoreOptions {
  key: string;
  scores: string;
  out: string;
  partial?: boolean;
}

function runScore(opts: ScoreOptions): void {
  const key = parseKey(readText(opts.key), opts.key);
  const judgements = parseScores(readText(opts.scores), key, { source: opts.scores, partial: opts.partial });
  const markdown = renderReport(summarize(key, judgements));
  mkdirSync(dirname(resolve(opts.out)), { recursive: true });
  writeFileSync(opts.out, markdown);
  console.log(markdown);
  console.log(`wrote ${opts.out}`);
}

function action<T>(name: string, run: (opts: T) => void): (opts: T) => void {
  return (opts) => {
    try {
      run(opts);
    } catch (err) {
      console.error(`blind ${name}: ${(err as Error).message.split('\n')[0]}`);
      process.exitCode = 1;
    }
  };
}

export function program(): Command {
  const cli = new Command('blind').description('blind judging of praise replies (../shared/eval/JUDGING.md)');
  cli
    .command('make')
    .description("shuffle the systems' replies into DIR/sheet.md for the judge and DIR/key.json to unblind")
    .requiredOption('--system <NAME=FILE...>', 'a system and its JSONL of {post, reply}; give two or more')
    .requiredOption('--out <dir>', 'directory for sheet.md and key.json')
    .option('--seed <n>', 'seed of the per-post shuffle (default: random, kept in key.json)')
    .action(action('make', runMake));
  cli
    .command('score')
    .description("unblind the judge's scores with the key and report per system")
    .requiredOption('--key <file>', 'key.json written by make')
    .requiredOption('--scores <file>', "the judge's answer: JSONL or JSON array of {post, scores, prefer}")
    .requiredOption('--out <file>', 'markdown report to write (also printed)')
    .option('--partial', 'allow posts left unjudged (they are left out of every count)')
    .action(action('score', runScore));
  return cli;
}

function isMain(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(resolve(process.argv[1])) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) await program().parseAsync(process.argv);
