import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.ts';
import { secureStateDirs } from '../../src/app/stateDirs.ts';

let temps: string[] = [];
afterEach(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
  temps = [];
});
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'kuakua-private-files-'));
  temps.push(d);
  return d;
};

/** A file as an older kuakua left it: in world-readable folders, readable by everyone. */
function worldReadable(file: string, text = 'x'): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  chmodSync(file, 0o644);
  return file;
}

/** Every folder and file under dir (links left out), with its permission bits. */
function modes(dir: string): { path: string; mode: number; folder: boolean }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isSymbolicLink()) return [];
    const entry = { path, mode: statSync(path).mode & 0o777, folder: e.isDirectory() };
    return e.isDirectory() ? [entry, ...modes(path)] : [entry];
  });
}

function openUp(dir: string) {
  chmodSync(dir, 0o755);
  for (const e of modes(dir)) chmodSync(e.path, e.folder ? 0o755 : 0o644);
}

describe('state folders', () => {
  it('makes .kuakua here and in the project, the private Redis data and the WeChat sessions 0700 (folders) / 0600 (files), following no link', () => {
    const cwd = temp();
    const project = temp();
    const elsewhere = temp();
    const card = worldReadable(join(cwd, '.kuakua/wechat/kuakua.memory-card.json'), '{"uin":"1","sid":"s","skey":"k"}');
    worldReadable(join(cwd, '.kuakua/redis/appendonlydir/appendonly.aof.1.incr.aof'));
    worldReadable(join(project, '.kuakua/build/0123abcd/cli.mjs'));
    worldReadable(join(elsewhere, 'redis/password'));
    worldReadable(join(elsewhere, 'sessions/other.memory-card.json'));
    const outside = worldReadable(join(elsewhere, 'not-ours/file'));
    symlinkSync(outside, join(cwd, '.kuakua/link'));
    for (const dir of [cwd, project, elsewhere]) openUp(dir);

    const config = loadConfig({ env: {} });
    secureStateDirs(config, cwd, project);
    secureStateDirs(
      { ...config, redis: { ...config.redis, dataDir: join(elsewhere, 'redis') }, wechat: { ...config.wechat, memoryDir: join(elsewhere, 'sessions') } },
      cwd,
      project,
    );

    const secured = [join(cwd, '.kuakua'), join(project, '.kuakua'), join(elsewhere, 'redis'), join(elsewhere, 'sessions')];
    const entries = secured.flatMap((dir) => [{ path: dir, mode: statSync(dir).mode & 0o777, folder: true }, ...modes(dir)]);
    expect(entries.map((e) => e.path)).toContain(card);
    expect(entries.filter((e) => e.mode !== (e.folder ? 0o700 : 0o600))).toEqual([]);
    expect(statSync(outside).mode & 0o777).toBe(0o644);
    expect(statSync(elsewhere).mode & 0o777).toBe(0o755);
  });

  it('leaves a folder that does not exist alone', () => {
    const cwd = temp();
    expect(() => secureStateDirs(loadConfig({ env: {} }), cwd, cwd)).not.toThrow();
    expect(readdirSync(cwd)).toEqual([]);
  });
});
