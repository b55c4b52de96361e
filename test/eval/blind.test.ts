import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { leakedNames, makeSheet, matchSystems, parseKey, parseScores, renderReport, shuffleFor, summarize, type Key } from '../../bench/blind.ts';
import { REPO_ROOT } from '../helpers/model.ts';

const exec = promisify(execFile);

const SYSTEMS = ['human_ref', 'pipeline_old', 'pipeline_new'];
const POSTS = ['今天终于拿到驾照了', '第一次自己做了一桌菜', '考研没过线，好难受', '明天终面，求鼓励'];

/** Replies tagged with their system by a hidden marker only the test knows (r0, r1, r2), never the name. */
function jsonl(system: number, posts = POSTS): string {
  return `${posts.map((post, i) => JSON.stringify({ post, reply: `回复${i}-r${system}`, ms: 12 })).join('\n')}\n`;
}

function inputs(posts: string[][] = [POSTS, POSTS, POSTS]) {
  return SYSTEMS.map((name, s) => ({ name, source: `${name}.jsonl`, text: jsonl(s, posts[s]) }));
}

/** The system behind each label of a post, read back from the reply marker in the sheet. */
function labelsFromSheet(sheet: string, index: number): Record<string, string> {
  const section = sheet.split(/^## /m).find((s) => s.startsWith(`${index}. `))!;
  return Object.fromEntries([...section.matchAll(/^- \*\*([A-Z])\*\*: 回复\d+-r(\d)$/gm)].map((m) => [m[1]!, SYSTEMS[Number(m[2])]!]));
}

describe('make', () => {
  it('matches posts by text and counts the ones missing from a system', () => {
    const m = matchSystems(inputs([POSTS, [...POSTS.slice(0, 3), '别的帖子'], [...POSTS, POSTS[0]!]]));
    expect(m.posts.map((p) => p.post)).toEqual(POSTS.slice(0, 3));
    expect(m.skipped).toBe(2); // 明天终面 (missing from one), 别的帖子 (only in one)
    expect(m.duplicates).toEqual({ human_ref: 0, pipeline_old: 0, pipeline_new: 1 });
    expect(m.posts[1]!.replies).toEqual({ human_ref: '回复1-r0', pipeline_old: '回复1-r1', pipeline_new: '回复1-r2' });
  });

  it('shuffles deterministically per seed, per post', () => {
    expect(shuffleFor(SYSTEMS, 7, 3)).toEqual(shuffleFor(SYSTEMS, 7, 3));
    const orders = (seed: number) => Array.from({ length: 30 }, (_, i) => shuffleFor(SYSTEMS, seed, i + 1).join(','));
    expect(orders(7)).toEqual(orders(7));
    expect(orders(7)).not.toEqual(orders(8));
    expect(new Set(orders(7)).size).toBeGreaterThan(1); // not the same order for every post
    for (const o of orders(7)) expect(o.split(',').sort()).toEqual([...SYSTEMS].sort());

    const a = makeSheet(matchSystems(inputs()), 7);
    const b = makeSheet(matchSystems(inputs()), 7);
    expect(a).toEqual(b);
    expect(makeSheet(matchSystems(inputs()), 8).key).not.toEqual(a.key);
  });

  it('writes a sheet without system names or rubric, and a key that unblinds it', () => {
    const { sheet, key } = makeSheet(matchSystems(inputs()), 42);
    for (const name of SYSTEMS) expect(sheet.toLowerCase()).not.toContain(name.toLowerCase());
    expect(sheet).not.toMatch(/pipeline|human/i);
    expect(sheet).not.toContain('delighted'); // the rubric's wording stays in JUDGING.md
    POSTS.forEach((post, i) => {
      expect(sheet).toContain(`## ${i + 1}. ${post}\n`);
    });
    expect(key.seed).toBe(42);
    expect(key.systems).toEqual(SYSTEMS);
    for (let i = 1; i <= POSTS.length; i++) {
      expect(key.posts[String(i)]!.post).toBe(POSTS[i - 1]);
      expect(key.posts[String(i)]!.labels).toEqual(labelsFromSheet(sheet, i));
    }
    expect(parseKey(JSON.stringify(key))).toEqual(key);
  });

  it('finds system names inside posts or replies, as whole words', () => {
    const leaky = inputs();
    leaky[1]!.text = leaky[1]!.text.replace('回复2-r1', '我是pipeline_NEW哦');
    expect(leakedNames(matchSystems(leaky))).toEqual(['pipeline_new']);
    leaky[1]!.text = leaky[1]!.text.replace('我是pipeline_NEW哦', 'human_refs');
    expect(leakedNames(matchSystems(leaky))).toEqual([]);
  });
});

describe('score', () => {
  // Scores fixed per system; the judge's answer is written by label through the key, as a judge would see it.
  const bySystem: Record<string, number[]> = {
    human_ref: [5, 4, 2, 3],
    pipeline_old: [2, 2, 1, 3],
    pipeline_new: [4, 5, 2, 3],
  };
  const preferred = ['human_ref', 'pipeline_new', 'tie', 'tie'];

  function answer(key: Key, lower = false) {
    return POSTS.map((_, i) => {
      const labels = key.posts[String(i + 1)]!.labels;
      const labelOf = (s: string) => Object.keys(labels).find((l) => labels[l] === s)!;
      const cased = (l: string) => (lower ? l.toLowerCase() : l);
      return {
        post: i + 1,
        scores: Object.fromEntries(SYSTEMS.map((s) => [cased(labelOf(s)), bySystem[s]![i]!])),
        prefer: preferred[i] === 'tie' ? (lower ? 'TIE' : 'tie') : cased(labelOf(preferred[i]!)),
      };
    });
  }

  it('round-trips make → score into the right means, good/bad shares and preferences', () => {
    const { key } = makeSheet(matchSystems(inputs()), 3);
    for (const text of [
      answer(key)
        .map((a) => JSON.stringify(a))
        .join('\n'), // JSONL, upper-case labels
      JSON.stringify(answer(key, true)), // JSON array, lower-case labels
    ]) {
      const report = summarize(key, parseScores(text, key));
      const stats = Object.fromEntries(report.systems.map((s) => [s.system, s]));
      expect(report.posts).toBe(4);
      expect(stats.human_ref).toMatchObject({ posts: 4, mean: 3.5, good: 2, bad: 1, preferred: 1, histogram: [0, 1, 1, 1, 1] });
      expect(stats.pipeline_old).toMatchObject({ mean: 2, good: 0, bad: 3, preferred: 0 });
      expect(stats.pipeline_new).toMatchObject({ mean: 3.5, good: 2, bad: 1, preferred: 1 });
      expect(report.ties).toBe(2);
      expect(report.pairs).toEqual([
        { x: 'human_ref', y: 'pipeline_old', higher: 3, lower: 0, equal: 1 },
        { x: 'human_ref', y: 'pipeline_new', higher: 1, lower: 1, equal: 2 },
        { x: 'pipeline_old', y: 'pipeline_new', higher: 0, lower: 3, equal: 1 },
      ]);
      const md = renderReport(report);
      expect(md).toContain('| human_ref | 4 | 3.50 | 50% (2) | 25% (1) | – | 0/1/1/1/1 |');
      expect(md).toContain('| pipeline_old | 4 | 2.00 | 0% (0) | 75% (3) | – | 1/2/1/0/0 |');
      expect(md).toContain('| tie | 50% (2) |');
      expect(md).toContain('| human_ref vs pipeline_old | 3 | 0 | 1 |');
    }
  });

  it('counts the specific marks per system, when the judge gives them', () => {
    const { key } = makeSheet(matchSystems(inputs()), 3);
    const marked = answer(key).map((a) => ({
      ...a,
      // human_ref is specific on every post, pipeline_old on none, pipeline_new on posts 1 and 2.
      specific: Object.fromEntries(
        Object.entries(key.posts[String(a.post)]!.labels).map(([l, s]) => [l, s === 'human_ref' || (s === 'pipeline_new' && a.post <= 2)]),
      ),
    }));
    const report = summarize(key, parseScores(marked.map((a) => JSON.stringify(a)).join('\n'), key));
    const stats = Object.fromEntries(report.systems.map((s) => [s.system, s]));
    expect(stats.human_ref).toMatchObject({ specific: 4, marked: 4 });
    expect(stats.pipeline_old).toMatchObject({ specific: 0, marked: 4 });
    expect(stats.pipeline_new).toMatchObject({ specific: 2, marked: 4 });
    expect(renderReport(report)).toContain('| pipeline_new | 4 | 3.50 | 50% (2) | 25% (1) | 50% (2) |');
    // A post's marks cover all of its replies or none.
    const partial = marked.map((a, i) => (i === 1 ? { ...a, specific: { A: true } } : a));
    expect(() => parseScores(partial.map((a) => JSON.stringify(a)).join('\n'), key)).toThrow(/^post 2: no specific mark for label B, C$/);
  });

  describe('bad score files give one-line errors naming the post', () => {
    const { key } = makeSheet(matchSystems(inputs()), 3);
    const good = () => answer(key);
    const fails = (entries: unknown[], pattern: RegExp, opts = {}) => {
      let message = '';
      try {
        parseScores(entries.map((e) => JSON.stringify(e)).join('\n'), key, opts);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(pattern);
      expect(message).not.toContain('\n');
    };

    it('missing label', () => {
      const e = good();
      delete e[1]!.scores.B;
      fails(e, /^post 2: no score for label B$/);
    });
    it('extra label', () => {
      const e = good();
      e[2]!.scores.D = 3;
      fails(e, /^post 3: unknown label "D", the sheet has A, B, C$/);
    });
    it('score outside 1–5 or not an integer', () => {
      const e = good();
      e[0]!.scores.C = 6;
      fails(e, /^post 1: score of C is 6, it must be an integer from 1 to 5$/);
      const f = good();
      f[3]!.scores.A = 0;
      fails(f, /^post 4: score of A is 0/);
      const g = good();
      (g[3]!.scores as Record<string, unknown>).A = '4';
      fails(g, /^post 4: score of A is "4"/);
    });
    it('bad preference, unknown or repeated post, unjudged posts, malformed lines', () => {
      const e = good();
      e[1]!.prefer = 'E';
      fails(e, /^post 2: prefer is "E", it must be one of A, B, C or "tie"$/);
      fails([...good(), { ...good()[0], post: 9 }], /^post 9: not in the key/);
      fails([...good(), good()[0]], /^post 1: judged twice/);
      fails(good().slice(0, 2), /^2 post\(s\) not judged: 3, 4/);
      expect(
        parseScores(
          good()
            .slice(0, 2)
            .map((a) => JSON.stringify(a))
            .join('\n'),
          key,
          { partial: true },
        ),
      ).toHaveLength(2);
      fails([{ post: 2, scores: good()[1]!.scores }], /post 2\): prefer: /);
      expect(() => parseScores('{"post": 1,', key)).toThrow(/^scores line 1: not JSON$/);
    });
  });
});

describe('CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kuakua-blind-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('make then score through the files', async () => {
    const args = SYSTEMS.flatMap((name, s) => {
      writeFileSync(join(dir, `${name}.jsonl`), jsonl(s));
      return ['--system', `${name}=${join(dir, `${name}.jsonl`)}`];
    });
    const run = (...a: string[]) => exec('node', ['--import', 'tsx', join(REPO_ROOT, 'bench/blind.ts'), ...a], { cwd: REPO_ROOT });
    const made = await run('make', ...args, '--out', join(dir, 'run'), '--seed', '5');
    expect(made.stdout).toContain('4 posts');
    const key = JSON.parse(readFileSync(join(dir, 'run/key.json'), 'utf8')) as Key;
    const sheet = readFileSync(join(dir, 'run/sheet.md'), 'utf8');
    for (const name of SYSTEMS) expect(sheet).not.toContain(name);
    const lines = POSTS.map((_, i) => {
      const scores = Object.fromEntries(Object.entries(key.posts[String(i + 1)]!.labels).map(([l, s]) => [l, s === 'pipeline_old' ? 1 : 5]));
      return JSON.stringify({ post: i + 1, scores, prefer: 'tie' });
    });
    writeFileSync(join(dir, 'scores.jsonl'), lines.join('\n'));
    const scored = await run('score', '--key', join(dir, 'run/key.json'), '--scores', join(dir, 'scores.jsonl'), '--out', join(dir, 'report.md'));
    expect(scored.stdout).toContain('| pipeline_old | 4 | 1.00 | 0% (0) | 100% (4) |');
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('| tie | 100% (4) |');

    writeFileSync(join(dir, 'bad.jsonl'), lines[0]!.replace(/"A":\d/, '"A":7'));
    const bad = await run('score', '--key', join(dir, 'run/key.json'), '--scores', join(dir, 'bad.jsonl'), '--out', join(dir, 'x.md')).catch((e) => e);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('blind score: post 1: score of A is 7, it must be an integer from 1 to 5');
  });
});
