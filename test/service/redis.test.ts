import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { beat, liveWorkers, removeBeat } from '../../src/heartbeat.ts';
import { redisKeys } from '../../src/queue/contracts.ts';
import { createLogger, redactUrl } from '../../src/logger.ts';
import { createRedis, ensureRedis, ensureRedisTarget, pingRedis, RedisUnavailableError } from '../../src/redis.ts';
import { freePort, startRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { silentLogger } from './support.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'kuakua-redis-test-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('ensureRedis', () => {
  it('uses a Redis that answers, with a password in the URL', async () => {
    const server = await startRedis({ password: 's3cret-pass' });
    try {
      const ensured = await ensureRedis({ url: server.url, logger: silentLogger, autoStart: true, dataDir: tempDir() });
      expect(ensured.stop).toBeUndefined();
      const client = createRedis(server.url);
      expect(await client.ping()).toBe('PONG');
      client.disconnect();
    } finally {
      await server.close();
    }
  });

  it('starts a private redis-server with an append-only file when nothing answers on this machine', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const dataDir = join(tempDir(), 'data');
    const lines: string[] = [];
    const logger = createLogger({ destination: { write: (l: string) => void lines.push(l) } });
    const ensured = await ensureRedis({ url, logger, autoStart: true, dataDir });
    try {
      expect(await pingRedis(ensured.url)).toBe(true);
      const client = createRedis(ensured.url);
      await client.set('k', 'v');
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      client.disconnect();
      expect(existsSync(dataDir)).toBe(true);
      expect(lines.join('')).toContain('started a private redis-server');
    } finally {
      await ensured.stop?.();
    }
    expect(await pingRedis(url)).toBe(false);
  });

  it('gives the private server a generated password in a 0600 file beside its data, which a second process from the folder uses', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const dataDir = join(tempDir(), 'data');
    const first = await ensureRedis({ url, logger: silentLogger, autoStart: true, dataDir });
    try {
      const file = join(dataDir, 'password');
      const password = readFileSync(file, 'utf8').trim();
      expect(password).toMatch(/^[0-9a-f]{48}$/);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      expect(first.url).toBe(`redis://:${password}@127.0.0.1:${port}`);
      const anonymous = createRedis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
      await expect(anonymous.set('k', 'v')).rejects.toThrow(/NOAUTH/);
      anonymous.disconnect();

      const client = createRedis(first.url);
      const pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);
      client.disconnect();
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(password);

      const second = await ensureRedis({ url, logger: silentLogger, autoStart: true, dataDir });
      expect(second).toEqual({ url: first.url });
      expect(await pingRedis(second.url)).toBe(true);

      const lines: string[] = [];
      createLogger({ destination: { write: (l: string) => void lines.push(l) } }).warn({ err: `AUTH ${password} failed` }, `no ${password}`);
      expect(lines.join('')).not.toContain(password);
    } finally {
      await first.stop?.();
    }
  });

  it('uses a Redis on this machine that needs no password as it is', async () => {
    const server = await startRedis();
    try {
      const dataDir = join(tempDir(), 'data');
      expect(await ensureRedis({ url: server.url, logger: silentLogger, autoStart: true, dataDir })).toEqual({ url: server.url });
    } finally {
      await server.close();
    }
  });

  it('a Redis that wants a password found neither in the URL nor in the password file is a one-line error', async () => {
    const server = await startRedis({ password: 'not-in-the-url' });
    try {
      const dataDir = tempDir();
      const ensure = () => ensureRedis({ url: server.url.replace(/:[^:@/]*@/, ''), logger: silentLogger, autoStart: true, dataDir }).catch((e: unknown) => e);
      const missing = await ensure();
      expect(missing).toBeInstanceOf(RedisUnavailableError);
      expect((missing as Error).message).toBe(
        `the Redis at redis://127.0.0.1:${server.port} requires a password and ${join(dataDir, 'password')} does not exist: put it in REDIS_URL (redis://:PASSWORD@host:port)`,
      );
      writeFileSync(join(dataDir, 'password'), 'wrong-password\n', { mode: 0o600 });
      const wrong = await ensure();
      expect(wrong).toBeInstanceOf(RedisUnavailableError);
      expect((wrong as Error).message).toBe(
        `the Redis at redis://127.0.0.1:${server.port} refused the password in ${join(dataDir, 'password')}: put the right one in REDIS_URL (redis://:PASSWORD@host:port)`,
      );
      expect((wrong as Error).message).not.toContain('wrong-password');
    } finally {
      await server.close();
    }
  });

  it('starts the private server with the password from the URL, and the password is not on its command line', async () => {
    const password = 'pw with "quotes" and spaces';
    const url = `redis://:${encodeURIComponent(password)}@127.0.0.1:${await freePort()}`;
    const ensured = await ensureRedis({ url, logger: silentLogger, autoStart: true, dataDir: tempDir() });
    try {
      expect(ensured.stop).toBeDefined();
      const client = createRedis(url);
      const pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);
      client.disconnect();
      expect(pid).toBeGreaterThan(0);
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv.join(' ')).toContain('redis-server');
      expect(argv.join(' ')).not.toContain(password);
      expect(argv.join(' ')).not.toContain('requirepass');
      // The password is required all the same.
      const anonymous = createRedis(url.replace(/:[^:@/]*@/, ''), { maxRetriesPerRequest: 0, retryStrategy: () => null });
      await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
      anonymous.disconnect();
    } finally {
      await ensured.stop?.();
    }
  });

  it.each([
    ['redis-server is not on PATH', { env: { PATH: '' }, autoStart: true }, /redis-server is not on PATH/],
    ['autoStart is off', { env: process.env, autoStart: false }, /redis\.autoStart is false/],
  ])('explains both ways to get Redis when %s', async (_name, o, reason) => {
    const url = `redis://:hunter2@127.0.0.1:${await freePort()}`;
    const err = await ensureRedis({ url, logger: silentLogger, dataDir: tempDir(), ...o }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    const message = (err as Error).message;
    expect(message).toMatch(reason);
    expect(message).toContain('apt-get install redis-server');
    expect(message).toContain('point REDIS_URL at a running Redis');
    expect(message).not.toContain('hunter2');
  });

  it('does not try to start a server for a Redis on another machine', async () => {
    const err = await ensureRedis({ url: 'redis://redis.invalid:6379', logger: silentLogger, autoStart: true, dataDir: tempDir() }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/it is on another machine/);
  });

  it('through Sentinel starts nothing: with no sentinel answering, it names them, the group and what to check', async () => {
    const ports = [await freePort(), await freePort()];
    const target = {
      kind: 'sentinel' as const,
      sentinels: ports.map((port) => ({ host: '127.0.0.1', port })),
      name: 'kuakua-group',
      password: 'sentinel-data-pw-1',
      tls: false,
    };
    const err = await ensureRedisTarget(target, { logger: silentLogger, autoStart: true, dataDir: tempDir() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as Error).message).toBe(
      `no Redis master answers through sentinel master kuakua-group via 127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}: are the sentinels up, and do they watch a group named kuakua-group (REDIS_SENTINEL_NAME)?`,
    );
  });
});

describe('createRedis', () => {
  it('logs each distinct connection error once while it retries, not once per attempt', async () => {
    const warnings: { obj: { code?: string }; msg: string }[] = [];
    const logger = { warn: (obj: { code?: string }, msg: string) => void warnings.push({ obj, msg }) } as never;
    const client = createRedis(`redis://127.0.0.1:${await freePort()}`, { logger, retryStrategy: () => 10 });
    let attempts = 0;
    client.on('error', () => attempts++);
    try {
      await waitFor(() => attempts >= 5, 'five failed connection attempts');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.obj.code).toBe('ECONNREFUSED');
      expect(warnings[0]!.msg).toMatch(/Redis connection error/);
    } finally {
      client.disconnect();
    }
  });
});

describe('worker registry', () => {
  it('lists workers by heartbeat from one sorted set, and drops one whose heartbeat ran out', async () => {
    const server = await startRedis();
    const redis = createRedis(server.url);
    const keys = redisKeys('registry-test');
    const info = (id: string) => ({ id, model: `m-${id}`, host: 'h', pid: 1, concurrency: 1, startedAt: 0 });
    try {
      await beat(redis, keys, info('stays'), 600);
      await beat(redis, keys, info('goes'), 0.2);
      await beat(redis, keys, info('stops'), 600);
      await removeBeat(redis, keys, 'stops');
      expect(await redis.zcard(keys.workers())).toBe(2);
      await waitFor(async () => (await liveWorkers(redis, keys)).length === 1, 'the short heartbeat to run out');
      expect(await liveWorkers(redis, keys)).toEqual([info('stays')]);
      // Pruned by score when read: the set does not grow with workers that came and went.
      expect(await redis.zrange(keys.workers(), '0', '-1')).toEqual(['stays']);
    } finally {
      redis.disconnect();
      await server.close();
    }
  });
});

describe('logger redaction', () => {
  it('never writes tokens, passwords or Redis URL passwords', () => {
    const env = {
      TELEGRAM_BOT_TOKEN: '123456:AAH-telegram-secret',
      REDIS_URL: 'rediss://default:r3dis-pw@cache.example:6380',
      KUAKUA_API_TOKEN: 'api-token-xyz',
    };
    const lines: string[] = [];
    const logger = createLogger({ env, destination: { write: (l: string) => void lines.push(l) } });
    logger.info(
      { token: env.TELEGRAM_BOT_TOKEN, config: { secrets: { apiToken: 'api-token-xyz' } }, headers: { authorization: 'Bearer api-token-xyz' } },
      'starting',
    );
    logger.info(`calling https://api.telegram.org/bot${env.TELEGRAM_BOT_TOKEN}/getMe`);
    logger.warn({ url: env.REDIS_URL }, 'connecting');
    logger.error({ err: new Error(`auth failed for redis://user:other-pass@host with r3dis-pw`) }, 'failed');
    const text = lines.join('');
    expect(lines).toHaveLength(4);
    for (const secret of ['AAH-telegram-secret', 'r3dis-pw', 'api-token-xyz', 'other-pass']) expect(text).not.toContain(secret);
    expect(text).toContain('cache.example:6380');
  });

  it('redactUrl keeps everything but the password', () => {
    expect(redactUrl('redis://:pw@127.0.0.1:6379/1')).toBe('redis://:***@127.0.0.1:6379/1');
    expect(redactUrl('rediss://user:p%40ss@host:6380')).toBe('rediss://user:***@host:6380');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
