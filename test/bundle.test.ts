import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { bundle } from '../bin/bundle.mjs';
import { REPO_ROOT } from './helpers/model.ts';

const exec = promisify(execFile);
let roots: string[] = [];

/** A project with the folders and files bin/bundle.mjs builds from; the CLI prints `text`. */
function project(text: string): string {
  const root = mkdtempSync(join(tmpdir(), 'kuakua-bundle-'));
  roots.push(root);
  for (const dir of ['src/app', 'adapters', 'worker/engine', 'common']) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'package.json'), '{"type": "module"}\n');
  writeFileSync(join(root, 'tsconfig.json'), '{}\n');
  writeFileSync(join(root, 'worker/engine/thread.ts'), 'export {};\n');
  writeCli(root, text);
  return root;
}

function writeCli(root: string, text: string, mtime = new Date()) {
  const file = join(root, 'src/app/cli.ts');
  writeFileSync(file, `const text: string = ${JSON.stringify(text)};\nconsole.log(text);\n`);
  utimesSync(file, mtime, mtime);
}

const run = async (dir: string) => (await exec(process.execPath, [join(dir, 'cli.mjs')])).stdout;
const builds = (root: string) => readdirSync(join(root, '.kuakua/build')).sort();

afterEach(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
  roots = [];
});

describe("the CLI's bundle", () => {
  it('is built once, and again after a source changes; builds unused for a day are deleted then', async () => {
    const root = project('one');
    const first = await bundle(root);
    expect(await run(first)).toBe('one\n');
    expect(readdirSync(first)).toContain('thread.mjs');
    expect(await bundle(root)).toBe(first);

    writeCli(root, 'two', new Date(Date.now() + 5_000));
    const second = await bundle(root);
    expect(second).not.toBe(first);
    expect(await run(second)).toBe('two\n');
    expect(builds(root)).toEqual([basename(first), basename(second)].sort());

    const dayAgo = new Date(Date.now() - 25 * 60 * 60 * 1000);
    utimesSync(first, dayAgo, dayAgo);
    writeCli(root, 'three', new Date(Date.now() + 10_000));
    const third = await bundle(root);
    expect(await run(third)).toBe('three\n');
    expect(builds(root)).toEqual([basename(second), basename(third)].sort());
  });

  it('marks a build used each time it is run', async () => {
    const root = project('one');
    const dir = await bundle(root);
    const dayAgo = new Date(Date.now() - 25 * 60 * 60 * 1000);
    utimesSync(dir, dayAgo, dayAgo);
    expect(await bundle(root)).toBe(dir);
    expect(statSync(dir).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  });

  it('lets processes that start together share one build', async () => {
    const root = project('together');
    const script = `import(${JSON.stringify(join(REPO_ROOT, 'bin/bundle.mjs'))}).then((m) => m.bundle(${JSON.stringify(root)})).then(console.log)`;
    const dirs = await Promise.all([1, 2, 3].map(async () => (await exec(process.execPath, ['-e', script])).stdout.trim()));
    expect(new Set(dirs).size).toBe(1);
    expect(builds(root)).toEqual([basename(dirs[0]!)]);
    expect(await run(dirs[0]!)).toBe('together\n');
  });

  it('a source that does not build is one line from `kuakua`, and leaves no build behind', async () => {
    const root = project('one');
    mkdirSync(join(root, 'bin'));
    for (const f of ['kuakua.mjs', 'bundle.mjs']) copyFileSync(join(REPO_ROOT, 'bin', f), join(root, 'bin', f));
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
    writeFileSync(join(root, 'src/app/cli.ts'), 'const x: number = ;\n');
    const err = await exec(process.execPath, [join(root, 'bin/kuakua.mjs')]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/^kuakua: cannot build the CLI from its sources: Build failed with 1 error:\nsrc\/app\/cli\.ts:\d+:\d+: ERROR: [^\n]+\n$/);
    const left = join(root, '.kuakua/build');
    expect(existsSync(left) ? readdirSync(left) : []).toEqual([]);
  });
});
