import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
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
  for (const thread of ['thread.ts', 'readerThread.ts']) writeFileSync(join(root, 'worker/engine', thread), 'export {};\n');
  writeCli(root, text);
  return root;
}

function writeCli(root: string, text: string, mtime = new Date()) {
  const file = join(root, 'src/app/cli.ts');
  writeFileSync(file, `const text: string = ${JSON.stringify(text)};\nconsole.log(text);\n`);
  utimesSync(file, mtime, mtime);
}

/** Makes `node bin/kuakua.mjs` run in the project as it does in the repository. */
function runnable(root: string) {
  mkdirSync(join(root, 'bin'));
  for (const f of ['kuakua.mjs', 'bundle.mjs']) copyFileSync(join(REPO_ROOT, 'bin', f), join(root, 'bin', f));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
}

/** Every folder and file under dir, with its permission bits. */
function modes(dir: string): { path: string; mode: number; folder: boolean }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    const entry = { path, mode: statSync(path).mode & 0o777, folder: e.isDirectory() };
    return e.isDirectory() ? [entry, ...modes(path)] : [entry];
  });
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
    expect(readdirSync(first)).toEqual(expect.arrayContaining(['cli.mjs', 'thread.mjs', 'readerThread.mjs']));
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
    runnable(root);
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

  it('`kuakua` keeps its builds to its own user: .kuakua and every build folder 0700, every file 0600', async () => {
    const root = project('private');
    runnable(root);
    expect((await exec(process.execPath, [join(root, 'bin/kuakua.mjs')])).stdout).toBe('private\n');
    const entries = modes(join(root, '.kuakua'));
    expect(entries.some((e) => e.path.endsWith('cli.mjs'))).toBe(true);
    expect(statSync(join(root, '.kuakua')).mode & 0o777).toBe(0o700);
    expect(entries.filter((e) => e.mode !== (e.folder ? 0o700 : 0o600))).toEqual([]);
  });

  it('`node bin/bundle.mjs DIR` builds into DIR, and `kuakua` runs that build as it is when KUAKUA_BUNDLE_DIR names it', async () => {
    const root = project('prebuilt');
    runnable(root);
    const dir = join(root, '.build');
    await exec(process.execPath, [join(root, 'bin/bundle.mjs'), dir]);
    expect(await run(dir)).toBe('prebuilt\n');
    // As in the image: the build belongs to root and the runtime user cannot write to it, and the sources it was made
    // from have changed since (a newer mtime), which would make a build in .kuakua stale.
    const readOnly = [{ path: dir, folder: true }, ...modes(dir)];
    for (const e of readOnly) chmodSync(e.path, e.folder ? 0o555 : 0o444);
    writeCli(root, 'changed', new Date(Date.now() + 5_000));
    try {
      const env = { ...process.env, KUAKUA_BUNDLE_DIR: dir };
      expect((await exec(process.execPath, [join(root, 'bin/kuakua.mjs')], { env })).stdout).toBe('prebuilt\n');
      expect(existsSync(join(root, '.kuakua'))).toBe(false);

      const missing = join(root, 'nowhere');
      const err = await exec(process.execPath, [join(root, 'bin/kuakua.mjs')], { env: { ...env, KUAKUA_BUNDLE_DIR: missing } }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(err.code).toBe(1);
      expect(err.stderr).toBe(`kuakua: KUAKUA_BUNDLE_DIR names ${missing}, which holds no cli.mjs (build one with \`node bin/bundle.mjs ${missing}\`)\n`);
    } finally {
      for (const e of readOnly) chmodSync(e.path, e.folder ? 0o755 : 0o644);
    }
  });
});
