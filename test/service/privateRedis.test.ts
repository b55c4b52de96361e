import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pingRedis } from '../../src/redis.ts';
import { spawnKuakua, type KuakuaProcess } from '../helpers/cli.ts';
import { makeRandomModel, REPO_ROOT } from '../helpers/model.ts';
import { freePort } from '../helpers/redis.ts';
import { waitForBanner } from '../helpers/spawnStart.ts';
import { waitFor } from '../helpers/wait.ts';

/** Every folder and file under dir (symbolic links left out), with its permission bits. */
function modes(dir: string): { path: string; kind: 'folder' | 'file'; mode: number }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    const mode = statSync(path).mode & 0o777;
    if (e.isDirectory()) return [{ path, kind: 'folder' as const, mode }, ...modes(path)];
    return e.isFile() ? [{ path, kind: 'file' as const, mode }] : [];
  });
}

describe('the private Redis and the files under .kuakua', () => {
  let cwd: string;
  let modelDir: string;
  const running: KuakuaProcess[] = [];

  beforeAll(async () => {
    modelDir = await makeRandomModel();
    cwd = mkdtempSync(join(tmpdir(), 'kuakua-private-'));
  });
  afterEach(async () => {
    for (const p of running.splice(0)) await p.kill();
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('`kuakua bot` and `kuakua worker` started from one folder share the private Redis through its password; every folder under .kuakua is 0700 and every file 0600', async () => {
    // A WeChat login kept by an older kuakua: world-readable.
    const sessions = join(cwd, '.kuakua/wechat');
    mkdirSync(sessions, { recursive: true });
    chmodSync(join(cwd, '.kuakua'), 0o755);
    chmodSync(sessions, 0o755);
    const card = join(sessions, 'kuakua.memory-card.json');
    writeFileSync(card, '{"uin":"1","sid":"s","skey":"k"}');
    chmodSync(card, 0o644);

    const redisUrl = `redis://127.0.0.1:${await freePort()}`;
    const bot = spawnKuakua(['bot'], { REDIS_URL: redisUrl, KUAKUA_HTTP_PORT: String(await freePort()), WECHATY_PUPPET: 'wechaty-puppet-mock' }, cwd);
    running.push(bot);
    const url = await waitForBanner(bot, 90_000, /kuakua bot: (http:\/\/\S+)/);
    expect(bot.output()).toContain('started a private redis-server');
    const password = readFileSync(join(cwd, '.kuakua/redis/password'), 'utf8').trim();
    await expect(pingRedis(redisUrl)).rejects.toThrow(/NOAUTH/);

    const worker = spawnKuakua(
      ['worker'],
      { REDIS_URL: redisUrl, KUAKUA_MODEL_DIR: modelDir, KUAKUA_JUDGE_DIR: join(REPO_ROOT, 'models/kuakua-judge'), KUAKUA_MODEL_THREADS: '1' },
      cwd,
    );
    running.push(worker);
    await waitFor(
      async () => {
        if (!worker.alive()) throw new Error(`the worker exited:\n${worker.output()}`);
        return (await fetch(`${url}healthz`)).status === 200;
      },
      'the bot to see the worker',
      90_000,
    );
    const res = await fetch(`${url}api/praise`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"求夸 我早起了"}' });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.model).toBe('random');

    expect(await worker.stop()).toBe(0);
    expect(await bot.stop()).toBe(0);
    for (const p of [bot, worker]) expect(p.output()).not.toContain(password);

    const tree = modes(join(cwd, '.kuakua'));
    // The folders kuakua made and the append-only file redis-server wrote are among them.
    expect(tree.map((e) => e.path)).toEqual(expect.arrayContaining([card, join(cwd, '.kuakua/redis/password'), join(cwd, '.kuakua/redis/appendonlydir')]));
    expect(tree.filter((e) => e.path.includes('appendonlydir') && e.kind === 'file').length).toBeGreaterThan(0);
    expect(statSync(join(cwd, '.kuakua')).mode & 0o777).toBe(0o700);
    expect(tree.filter((e) => e.mode !== (e.kind === 'folder' ? 0o700 : 0o600))).toEqual([]);
  });
});
