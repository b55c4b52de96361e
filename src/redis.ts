import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { addSecret, redactUrl } from './logger.ts';
import { mkdirPrivate, PRIVATE_FILE_MODE } from './privateFiles.ts';
import { describeRedis, redisConnectionOptions, type RedisTarget } from './redisTarget.ts';

/** A client for the target (a string is a URL), with its TLS and Sentinel settings, then `options` on top. */
function newRedis(target: RedisTarget | string, options: RedisOptions, env: NodeJS.ProcessEnv = process.env): Redis {
  const t: RedisTarget = typeof target === 'string' ? { kind: 'url', url: target } : target;
  const merged = { ...redisConnectionOptions(t, env), ...options };
  return t.kind === 'url' ? new Redis(t.url, merged) : new Redis(merged);
}

export interface CreateRedisOptions extends RedisOptions {
  /** Where the client's errors go: each distinct one once, until the connection is ready again. */
  logger?: Pick<Logger, 'warn'>;
}

/** Most distinct errors remembered between two ready connections; enough for any outage, bounded for a bad one. */
const MAX_DISTINCT_ERRORS = 50;

/**
 * A connection for BullMQ and our own keys. maxRetriesPerRequest null: commands wait through a Redis restart or a
 * Sentinel failover instead of failing (BullMQ requires it for workers). rediss:// URLs get TLS from ioredis.
 */
export function createRedis(target: RedisTarget | string, opts: CreateRedisOptions = {}): Redis {
  const { logger, ...redisOptions } = opts;
  // A try a second at most, once it has failed a few times: each one asks the sentinels again, so a promoted replica is
  // found within a second of its promotion.
  const client = newRedis(target, { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(times * 100, 1000), ...redisOptions });
  // ioredis retries connection errors itself, and emits one per attempt: say each kind once, not every second.
  const seen = new Set<string>();
  client.on('error', (err: NodeJS.ErrnoException) => {
    const what = err.code ?? err.message;
    if (seen.has(what) || seen.size >= MAX_DISTINCT_ERRORS) return;
    seen.add(what);
    logger?.warn({ err: err.message, code: err.code }, 'Redis connection error; retrying');
  });
  client.on('ready', () => seen.clear());
  return client;
}

const AUTH_ERROR = /NOAUTH|WRONGPASS|invalid password/i;

/** True when a Redis server answers PING at the target within timeoutMs; throws when one answers but wants another password. */
export async function pingRedis(target: RedisTarget | string, timeoutMs = 1500, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const client = newRedis(
    target,
    { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, sentinelRetryStrategy: () => null, connectTimeout: timeoutMs },
    env,
  );
  // A refused handshake reaches connect() only as "Connection is closed."; the reason comes as an error event.
  let authError: Error | undefined;
  client.on('error', (err: Error) => {
    if (AUTH_ERROR.test(err.message)) authError = err;
  });
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch (err) {
    // A server that answers but rejects our password is "there": let the caller fail with the auth error.
    if (AUTH_ERROR.test((err as Error).message)) throw err;
    if (authError) throw authError;
    return false;
  } finally {
    client.disconnect();
  }
}

/** A redis.conf string: double-quoted, every byte as \xHH, so no quote, space or newline in it can change the config. */
function redisConfigString(value: string): string {
  return `"${[...Buffer.from(value, 'utf8')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')}"`;
}

function onPath(bin: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, bin);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

export interface EnsureRedisOptions {
  url: string;
  logger: Logger;
  /** Start a private redis-server when nothing answers on this machine. */
  autoStart: boolean;
  /** Data directory of the private server, with its password when REDIS_URL has none (`password`). */
  dataDir: string;
  env?: NodeJS.ProcessEnv;
}

export interface EnsuredRedis {
  /** The URL to connect with: the one given, with the private server's password when it had none. */
  url: string;
  /** Set when we started a private server: stops it. */
  stop?: () => Promise<void>;
}

const LOCAL_HOSTS = ['127.0.0.1', 'localhost', '::1', '[::1]'];
const PUT_IN_URL = 'REDIS_URL (redis://:PASSWORD@host:port)';

/** url with password in it; the password is masked in every log line from now on. */
function withPassword(url: string, password: string): string {
  addSecret(password);
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.href.replace(/\/$/, '');
}

/** The private server's password from file, made now (random, 0600) when there is none. */
function readOrCreatePassword(file: string): string {
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${randomBytes(24).toString('hex')}\n`, { mode: PRIVATE_FILE_MODE });
    try {
      // A link fails when the file exists: of processes starting together, the first one's password is everyone's.
      linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  return readPassword(file);
}

function readPassword(file: string): string {
  const password = readFileSync(file, 'utf8').trim();
  if (!password) throw new RedisUnavailableError(`${file} is empty: delete it, and the next private redis-server gets a new password`);
  return password;
}

/** The URL with the password in file, for a local Redis that refused url without one (the private server of another process). */
async function withPasswordFile(url: string, file: string): Promise<string> {
  const at = `the Redis at ${redactUrl(url)}`;
  if (!existsSync(file)) throw new RedisUnavailableError(`${at} requires a password and ${file} does not exist: put it in ${PUT_IN_URL}`);
  const authed = withPassword(url, readPassword(file));
  const refused = () => new RedisUnavailableError(`${at} refused the password in ${file}: put the right one in ${PUT_IN_URL}`);
  const answers = await pingRedis(authed).catch((err: unknown) => {
    if (AUTH_ERROR.test((err as Error).message)) throw refused();
    throw err;
  });
  if (!answers) throw new RedisUnavailableError(`${at} stopped answering`);
  return authed;
}

/**
 * Makes sure a Redis answers at url. When none does, the URL points at this machine and redis-server is on PATH,
 * starts a private one (append-only file under dataDir) that lives as long as this process. The private server always
 * has a password: the URL's, or else one generated into `<dataDir>/password`, which every process that uses the same
 * data directory reads when the local Redis asks it for one. A Redis that answers without a password is used as it is.
 */
export async function ensureRedis(opts: EnsureRedisOptions): Promise<EnsuredRedis> {
  const { url, logger } = opts;
  const parsed = new URL(url);
  const local = LOCAL_HOSTS.includes(parsed.hostname);
  const dir = resolve(opts.dataDir);
  const passwordFile = local && !parsed.password ? join(dir, 'password') : undefined;
  try {
    if (await pingRedis(url)) return { url };
  } catch (err) {
    if (!passwordFile || !AUTH_ERROR.test((err as Error).message)) throw err;
    return { url: await withPasswordFile(url, passwordFile) };
  }

  const bin = onPath('redis-server', opts.env ?? process.env);
  const howTo = 'install it (apt-get install redis-server, or brew install redis), or point REDIS_URL at a running Redis';
  if (!local || !opts.autoStart || !bin) {
    const why = !local ? 'it is on another machine' : !opts.autoStart ? 'redis.autoStart is false' : 'redis-server is not on PATH';
    throw new RedisUnavailableError(`no Redis answers at ${redactUrl(url)} and none can be started here (${why}): ${howTo}`);
  }

  const port = parsed.port || '6379';
  mkdirPrivate(dir);
  const password = passwordFile ? readOrCreatePassword(passwordFile) : decodeURIComponent(parsed.password);
  const serverUrl = passwordFile ? withPassword(url, password) : url;
  // The password goes in through stdin (`redis-server -` reads a config from it), never argv, which `ps` shows to everyone.
  const args = ['-', '--port', port, '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''];
  const proc = spawn(bin, args, { stdio: ['pipe', 'ignore', 'ignore'] });
  proc.stdin?.on('error', () => undefined); // a server that died at once is reported below
  proc.stdin?.end(`requirepass ${redisConfigString(password)}\n`);
  const killOnExit = () => proc.kill('SIGTERM');
  process.once('exit', killOnExit);

  for (let i = 0; i < 100 && proc.exitCode === null; i++) {
    if (await pingRedis(serverUrl, 500)) {
      logger.info({ port: Number(port), dataDir: dir }, 'no Redis was running: started a private redis-server');
      return {
        url: serverUrl,
        stop: async () => {
          process.off('exit', killOnExit);
          if (proc.exitCode !== null) return;
          await new Promise<void>((done) => {
            proc.once('exit', () => done());
            proc.kill('SIGTERM');
          });
        },
      };
    }
    await sleep(50);
  }
  proc.kill('SIGKILL');
  throw new RedisUnavailableError(`started ${bin} on port ${port} but it did not answer (is the port taken?): ${howTo}`);
}

export interface EnsuredTarget {
  /** The target to connect to: a URL with the private server's password when it had none. */
  target: RedisTarget;
  /** Set when we started a private server: stops it. */
  stop?: () => Promise<void>;
}

/**
 * ensureRedis for a URL. Through Sentinel a master must answer already: its servers are elsewhere, so nothing is
 * started here.
 */
export async function ensureRedisTarget(target: RedisTarget, opts: Omit<EnsureRedisOptions, 'url'>): Promise<EnsuredTarget> {
  if (target.kind === 'url') {
    const { url, stop } = await ensureRedis({ ...opts, url: target.url });
    return { target: { kind: 'url', url }, stop };
  }
  const answers = await pingRedis(target, 3000, opts.env).catch((err: unknown) => {
    throw new RedisUnavailableError(`${describeRedis(target)}: ${(err as Error).message} (check REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD)`);
  });
  if (!answers) {
    throw new RedisUnavailableError(
      `no Redis master answers through ${describeRedis(target)}: are the sentinels up, and do they watch a group named ${target.name} (REDIS_SENTINEL_NAME)?`,
    );
  }
  return { target };
}
