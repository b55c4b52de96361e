import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRandomModel, REPO_ROOT } from '../helpers/model.ts';
import { modelTool } from '../helpers/modelTool.ts';

const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'kuakua-eval-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm run eval', () => {
  it('runs the worker pipeline on every post of a dev set, writes each post and reply, and prints the figures', async () => {
    const judge = join(tmp, 'judge');
    await modelTool(['judge-random', '--out', judge]);
    const posts = join(tmp, 'posts.json');
    writeFileSync(
      posts,
      JSON.stringify([
        { post: '今天终于拿到驾照了', category: 'achievement', human: '恭喜！' },
        '求夸',
        { post: '我不想活了', category: 'distress' },
        { post: '失恋了，好难过', category: 'sad' },
      ]),
    );
    const out = join(tmp, 'out.jsonl');
    const { stdout } = await run(
      'node',
      ['--import', 'tsx', 'bench/eval.ts', '--model', await makeRandomModel(), '--judge', judge, '--posts', posts, '--out', out, '--candidates', '3'],
      { cwd: REPO_ROOT, env: { ...process.env, KUAKUA_MODEL_VARIANT: 'fp32' } },
    );
    const rows = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.post)).toEqual(['今天终于拿到驾照了', '求夸', '我不想活了', '失恋了，好难过']);
    expect(rows[0]).toMatchObject({ category: 'achievement', human: '恭喜！' });
    for (const r of rows) {
      expect(r.reply.length).toBeGreaterThan(0);
      expect(['praise', 'fallback', 'care']).toContain(r.kind);
    }
    // The distress post gets the care reply, never generated praise.
    expect(rows[2]).toMatchObject({ kind: 'care' });
    expect(rows[2].reply).toMatch(/12356/);
    // A praise carries where it came from and its judge score; a tone reply its reason, tone and form.
    for (const r of rows.filter((x) => x.kind === 'praise')) {
      expect(['generated', 'retrieved']).toContain(r.source);
      expect(typeof r.judge).toBe('number');
    }
    for (const r of rows.filter((x) => x.kind === 'fallback'))
      expect(r).toMatchObject({ reason: expect.any(String), tone: expect.any(String), form: expect.stringMatching(/^(topical|framed|template)$/) });
    const lines = stdout.trim().split('\n');
    const summary = JSON.parse(lines.pop()!);
    // Per intent the reader read, each post counted once under the kind of its reply.
    const { byIntent } = JSON.parse(lines.find((l) => l.startsWith('{"byIntent"'))!);
    const counted = Object.values(byIntent as Record<string, Record<string, number>>);
    expect(counted.reduce((n, k) => n + k.posts!, 0)).toBe(4);
    for (const k of counted) expect(Object.entries(k).reduce((n, [name, v]) => n + (name === 'posts' ? 0 : v), 0)).toBe(k.posts);
    expect(summary).toMatchObject({ posts: 4, care: 1, candidates: 3 });
    expect(summary.praise + summary.topical + summary.framed + summary.template).toBe(3);
    // 拿到驾照 names a topic (driving): its frame, not the intent's.
    expect(rows[0]).toMatchObject({ kind: 'fallback', form: 'topical' });
    expect(summary.templateShare).toBeCloseTo(summary.template / 3, 2);
    // Three posts answered, each in its own words or a different template, and the care reply left out.
    expect(summary.distinctAnswered).toBe(Math.round((new Set(rows.filter((r) => r.kind !== 'care').map((r) => r.reply)).size / 3) * 100) / 100);
    expect(summary.generated + summary.retrieved).toBe(summary.praise);
  }, 120_000);

  it('with --web, sends each post to a running bot’s web API and records its replies and latency', async () => {
    const seen: { text: string; chatId: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        seen.push(JSON.parse(body));
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ reply: '太棒了！', kind: 'praise', latencyMs: 1, model: 'fake' }));
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const posts = join(tmp, 'web-posts.json');
      writeFileSync(posts, JSON.stringify(['求夸', '今天终于拿到驾照了']));
      const out = join(tmp, 'web.jsonl');
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { stdout } = await run('node', ['--import', 'tsx', 'bench/eval.ts', '--web', url, '--posts', posts, '--out', out], { cwd: REPO_ROOT });
      expect(seen.map((s) => s.text)).toEqual(['求夸', '今天终于拿到驾照了']);
      expect(new Set(seen.map((s) => s.chatId)).size).toBe(2);
      const rows = readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(rows).toMatchObject([{ post: '求夸', reply: '太棒了！', kind: 'praise' }, { post: '今天终于拿到驾照了' }]);
      expect(JSON.parse(stdout.trim())).toMatchObject({ posts: 2, praise: 2 });
    } finally {
      server.close();
    }
  }, 60_000);

  it('rejects a malformed posts file with a one-line error', async () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ text: 'no post field' }]));
    const r = await run('node', ['--import', 'tsx', 'bench/eval.ts', '--model', await makeRandomModel(), '--judge', '', '--posts', bad], {
      cwd: REPO_ROOT,
    }).catch((e) => e);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^kuakua eval: .*bad\.json: entry 1/);
  }, 60_000);
});
