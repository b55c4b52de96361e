/**
 * Post reader benchmark: time per post, in the reader's session alone and through its thread (what the core waits
 * for), int8 against fp32 in the same run; and how often its subject span overlaps the labelled one on the held-out
 * test split.
 *
 *   npm run bench:reader [-- --data-dir ../shared/data]
 *
 * Prints a table and writes bench/results/reader.json; the figures are copied into BENCHMARKS.md#post-reader.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/projectRoot.ts';
import { prepare } from '../tools/reader/prepare.ts';
import { startPostReader } from '../worker/engine/postReader.ts';
import { type ReaderOutput, ReaderSession } from '../worker/engine/reader.ts';
import { subjectOf } from '../worker/engine/subject.ts';

const DIR = join(PROJECT_ROOT, 'models/kuakua-reader');
const WARMUP = 20;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function timeEach(posts: string[], read: (post: string) => Promise<unknown>) {
  for (const p of posts.slice(0, WARMUP)) await read(p);
  const ms: number[] = [];
  for (const p of posts) {
    const t = performance.now();
    await read(p);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { posts: posts.length, p50: +percentile(ms, 0.5).toFixed(2), p90: +percentile(ms, 0.9).toFixed(2), max: +ms.at(-1)!.toFixed(2) };
}

async function main() {
  const { values } = parseArgs({ options: { 'data-dir': { type: 'string', default: join(PROJECT_ROOT, '../shared/data') } } });
  const { test } = prepare(values['data-dir']);
  const posts = test.map((r) => r.input);
  const timings: Record<string, Awaited<ReturnType<typeof timeEach>>> = {};
  const outputs: Record<string, ReaderOutput[]> = {};
  for (const weights of ['int8', 'fp32'] as const) {
    const session = await ReaderSession.load(DIR, weights);
    timings[`session ${weights}`] = await timeEach(posts, (p) => session.read([p]));
    outputs[weights] = await session.read(posts);
    await session.close();
  }
  const argmax = (probs: number[]) => probs.indexOf(Math.max(...probs));
  const [int8, fp32] = [outputs.int8!, outputs.fp32!];
  const int8VsFp32 = {
    sameIntent: +(int8.filter((o, i) => argmax(o.probs) === argmax(fp32[i]!.probs)).length / posts.length).toFixed(3),
    maxDistressDiff: +Math.max(...int8.map((o, i) => Math.abs(o.distress - fp32[i]!.distress))).toFixed(4),
    meanDistressDiff: +(int8.reduce((sum, o, i) => sum + Math.abs(o.distress - fp32[i]!.distress), 0) / posts.length).toFixed(4),
  };
  const reader = await startPostReader(DIR);
  timings['thread int8 + subject'] = await timeEach(posts, (p) => reader.read(p));
  await reader.close();

  const labelled = test.filter((r) => r.subject && r.script === 'simplified');
  const found = labelled.map((r) => ({ label: r.subject, got: subjectOf(r.input) ?? '' }));
  const subject = {
    posts: labelled.length,
    exact: +(found.filter((f) => f.got === f.label).length / found.length).toFixed(3),
    overlap: +(found.filter((f) => f.got && (f.got.includes(f.label) || f.label.includes(f.got))).length / found.length).toFixed(3),
  };
  const result = { cpu: cpus()[0]?.model, timings, int8VsFp32, subject };
  console.table(timings);
  console.log('int8 against fp32:', int8VsFp32);
  console.log('subject on the test split:', subject);
  mkdirSync(join(PROJECT_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(PROJECT_ROOT, 'bench/results/reader.json'), `${JSON.stringify(result, null, 2)}\n`);
}

await main();
