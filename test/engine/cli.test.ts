import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INDIRECT_DISTRESS, INDIRECT_DISTRESS_TRADITIONAL, traditionalCareReply } from '../helpers/distressPosts.ts';
import { defaultDistressConfig, shippedConfig } from '../../src/config.ts';
import { GENTLE_INTENTS } from '../../src/intents.ts';
import { makeRandomModel, REPO_ROOT } from '../helpers/model.ts';
import { PRAISE_SEED, PRAISED_POSTS, TONE_REPLIES } from '../helpers/praise.ts';

const exec = promisify(execFile);

async function kuakua(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('node', [join(REPO_ROOT, 'bin/kuakua.mjs'), ...args], { cwd: tmpdir() });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function expectOneLineError(r: { code: number; stderr: string }, pattern: RegExp) {
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

describe('kuakua praise', () => {
  let dir: string;
  let broken: string;
  beforeAll(async () => {
    dir = await makeRandomModel();
    broken = mkdtempSync(join(tmpdir(), 'kuakua-cli-'));
    cpSync(dir, broken, { recursive: true });
    rmSync(join(broken, 'onnx/model_int8.onnx'));
  });
  afterAll(() => rmSync(broken, { recursive: true, force: true }));

  it('prints one praise, reproducibly with --seed', async () => {
    const a = await kuakua('praise', '今天终于拿到驾照了', '--model', dir, '--seed', '7');
    expect(a.code).toBe(0);
    expect(a.stdout.trim().split('\n')).toHaveLength(1);
    expect(a.stdout.trim().length).toBeGreaterThan(0);
    const b = await kuakua('praise', '今天终于拿到驾照了', '--model', dir, '--seed', '7');
    expect(b.stdout).toBe(a.stdout);
  });

  it('prints a praise the bundled model generated for posts it handles well, not a tone reply (seed fixed)', async () => {
    const { policy } = shippedConfig();
    // Without the corpus and the frames, so that only the model's own samples compete, with the tone templates.
    const runs = await Promise.all(PRAISED_POSTS.map((post) => kuakua('praise', post, '--seed', String(PRAISE_SEED), '--json', '--no-corpus', '--no-frames')));
    for (const [i, r] of runs.entries()) {
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out).toMatchObject({ post: PRAISED_POSTS[i], model: 'kuakua-mini', kind: 'praise', source: 'generated', reply: expect.any(String) });
      expect(out.score).toBeGreaterThanOrEqual(policy.minScore);
      expect(TONE_REPLIES.has(out.reply), `"${out.reply}" is a tone reply`).toBe(false);
    }
  });

  it('prints --n different praises, and JSON with --json on each variant', async () => {
    const many = await kuakua('praise', '今天终于拿到驾照了', '--model', dir, '--n', '3', '--variant', 'q4');
    const lines = many.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(new Set(lines).size).toBe(3);
    const json = await kuakua('praise', '求夸', '--model', dir, '--json', '--variant', 'int8', '--n', '2');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed).toMatchObject({ post: '求夸', model: 'random', variant: 'int8' });
    expect(parsed.praises).toHaveLength(2);
  });

  it('prints the care reply for a distress post and generates nothing (the model is not even loaded)', async () => {
    const { reply } = defaultDistressConfig();
    const [noModel, many, json] = await Promise.all([
      kuakua('praise', '我不想活了', '--model', join(broken, 'missing')),
      kuakua('praise', '我不想活了', '--model', dir, '--n', '3'),
      kuakua('praise', 'I want to die', '--model', dir, '--json'),
    ]);
    for (const r of [noModel, many]) {
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${reply}\n`);
      expect(r.stderr).toBe('');
    }
    expect(JSON.parse(json.stdout)).toMatchObject({ post: 'I want to die', kind: 'care', reply, script: 'simplified' });
  });

  it('reads the post first: a distress post in words no pattern lists gets the care reply, in the script it was written in', async () => {
    const distress = defaultDistressConfig();
    const [simplified, traditional, noReader] = await Promise.all([
      kuakua('praise', INDIRECT_DISTRESS, '--model', join(broken, 'missing'), '--json'),
      kuakua('praise', INDIRECT_DISTRESS_TRADITIONAL, '--model', join(broken, 'missing')),
      kuakua('praise', '今天终于拿到驾照了', '--model', dir, '--no-reader', '--json'),
    ]);
    const care = JSON.parse(simplified.stdout);
    expect(care).toMatchObject({ post: INDIRECT_DISTRESS, kind: 'care', reply: distress.reply, script: 'simplified' });
    expect(GENTLE_INTENTS).toContain(care.intent);
    expect(traditional.stdout).toBe(`${await traditionalCareReply(distress)}\n`);
    expect(traditional.stderr).toBe('');
    // Without the reader the intent is unknown and the word lists decide; the praise is generated as before.
    expect(JSON.parse(noReader.stdout)).toMatchObject({ post: '今天终于拿到驾照了', kind: expect.stringMatching(/^(praise|fallback)$/), script: 'simplified' });
    expect(JSON.parse(noReader.stdout).intent).toBeUndefined();
  });

  it('fails with a one-line error on bad input', async () => {
    const [empty, noDir, noFile, variant, count] = await Promise.all([
      kuakua('praise', '   ', '--model', dir),
      kuakua('praise', '夸我', '--model', join(broken, 'missing')),
      kuakua('praise', '夸我', '--model', broken, '--variant', 'int8'),
      kuakua('praise', '夸我', '--model', dir, '--variant', 'fp16'),
      kuakua('praise', '夸我', '--model', dir, '--n', 'lots'),
    ]);
    expectOneLineError(empty, /text is empty/);
    expectOneLineError(noDir, /model directory not found/);
    expectOneLineError(noFile, /missing onnx\/model_int8\.onnx/);
    expectOneLineError(variant, /unknown variant "fp16"/);
    expectOneLineError(count, /--n must be an integer/);
  });
});

describe('kuakua commands', () => {
  it('loads the command it runs, and every command for help and for an unknown one', async () => {
    const help = await kuakua('--help');
    expect(help.code).toBe(0);
    for (const command of ['start', 'bot', 'praise', 'worker']) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    const praiseHelp = await kuakua('praise', '--help');
    expect(praiseHelp.code).toBe(0);
    expect(praiseHelp.stdout).toMatch(/^Usage: kuakua praise \[options\] <text>/);
    expect(praiseHelp.stdout).toContain('--no-judge');
    const unknown = await kuakua('prase', '求夸');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown command 'prase'");
    expect(unknown.stderr).toContain('praise'); // commander suggests the command meant, which it knows only when all are loaded
  });
});
