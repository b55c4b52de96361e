import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPosts } from '../../bench/eval.ts';
import { INTENTS } from '../../src/intents.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { isTest, type PreparedRow } from '../../tools/reader/prepare.ts';
import { EVAL_POSTS, evalPosts, teach, unlabelledTitles } from '../../tools/reader/teach.ts';
import { ReaderSession } from '../../worker/engine/reader.ts';
import { modelTool } from '../helpers/modelTool.ts';

// Distilling one reader from several: the soft targets are the readers' mean, and no unlabelled title trained on
// could be a test row.
let tmp: string;
const dirs: string[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'kuakua-teach-'));
  writeFileSync(join(tmp, 'labels.json'), JSON.stringify(INTENTS));
  for (const seed of [1, 2]) {
    const dir = join(tmp, `reader-${seed}`);
    await modelTool(['reader-random', '--out', dir, '--labels', join(tmp, 'labels.json'), '--seed', String(seed)]);
    dirs.push(dir);
  }
}, 120_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('reader distillation targets', () => {
  it('are the mean of the readers’ intent and distress probabilities, post by post', async () => {
    const readers = await Promise.all(dirs.map((d) => ReaderSession.load(d)));
    try {
      const posts = ['今天终于拿到驾照了', '求夸', '以后不会再麻烦大家了'];
      const [a, b] = await Promise.all(readers.map((r) => r.read(posts)));
      expect(a![0]!.probs).not.toEqual(b![0]!.probs);
      const targets = await teach(readers, posts);
      for (const [i, t] of targets.entries()) {
        expect(t.input).toBe(posts[i]);
        expect(t.distress).toBeCloseTo((a![i]!.distress + b![i]!.distress) / 2, 6);
        for (const [k, p] of t.probs.entries()) expect(p).toBeCloseTo((a![i]!.probs[k]! + b![i]!.probs[k]!) / 2, 6);
        expect(t.probs.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);
      }
    } finally {
      await Promise.all(readers.map((r) => r.close()));
    }
  });

  it('take the unlabelled titles only: never a labelled one, a test-split one, an evaluation post or a repeat, in Simplified', () => {
    const titles = Array.from({ length: 200 }, (_, i) => `第${i}次做饭成功了`);
    const inTest = new Set(titles.filter(isTest));
    expect(inTest.size).toBeGreaterThan(0);
    const kept = titles.filter((t) => !inTest.has(t));
    const [labelled, evaluated] = kept;
    const dataDir = join(tmp, 'data');
    mkdirSync(join(dataDir, 'douban_kuakua_forg77'), { recursive: true });
    writeFileSync(join(dataDir, 'douban_kuakua_forg77/titles.txt'), [...titles, ` ${kept[2]} `, '', '學會騎車了', '学会骑车了'].join('\n'));
    const got = unlabelledTitles(dataDir, [{ input: labelled } as PreparedRow], [`${evaluated}！`]);
    // One bike post survives, in Simplified, unless both spellings fall in the test split.
    const bike = isTest('學會騎車了') && isTest('学会骑车了') ? [] : ['学会骑车了'];
    expect(got).toEqual([...kept.slice(2), ...bike]);
  });

  it('leave out the evaluations’ posts, read as `npm run eval` reads them (JSON arrays and JSON Lines of strings or {post})', () => {
    writeFileSync(join(tmp, 'a.json'), JSON.stringify(['求夸', { post: '拿到驾照了', category: 'x' }]));
    writeFileSync(join(tmp, 'b.jsonl'), `${JSON.stringify({ post: '差一分', reply: '…' })}\n\n${JSON.stringify('夸我')}\n`);
    expect([...readPosts(join(tmp, 'a.json')), ...readPosts(join(tmp, 'b.jsonl'))].map((p) => p.post)).toEqual(['求夸', '拿到驾照了', '差一分', '夸我']);
    const posts = evalPosts();
    for (const file of EVAL_POSTS) expect(posts).toContain(readPosts(join(PROJECT_ROOT, file))[0]!.post);
    expect(posts.length).toBeGreaterThan(250);
  });
});
