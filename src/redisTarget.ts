import { readFileSync } from 'node:fs';
import type { RedisOptions } from 'ioredis';
import type { Config } from './config.ts';
import { redactUrl } from './logger.ts';

export interface HostPort {
  host: string;
  port: number;
}

/** Where kuakua's Redis is: one server at a URL, or the master of a Sentinel group, followed through failovers. */
export type RedisTarget =
  | { kind: 'url'; url: string }
  | {
      kind: 'sentinel';
      sentinels: HostPort[];
      /** The master group's name (redis.sentinels.name). */
      name: string;
      /** The master's and replicas' password. */
      password?: string;
      /** The sentinels' own password. */
      sentinelPassword?: string;
      /** TLS to the sentinels and the data nodes alike. */
      tls: boolean;
    };

export class RedisTlsError extends Error {
  override name = 'RedisTlsError';
}

/** "host:port" (validated by the config's schema), "[v6 address]:port" → { host, port }. */
function hostPort(address: string): HostPort {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(at + 1)) };
}

/** The target the config names: the sentinels when any are listed (REDIS_SENTINELS), else REDIS_URL. */
export function redisTarget(config: Pick<Config, 'redis' | 'secrets'>): RedisTarget {
  const { sentinels, tls } = config.redis;
  if (sentinels.addresses.length === 0) return { kind: 'url', url: config.secrets.redisUrl };
  return {
    kind: 'sentinel',
    sentinels: sentinels.addresses.map(hostPort),
    name: sentinels.name,
    password: config.secrets.redisPassword,
    sentinelPassword: config.secrets.redisSentinelPassword,
    tls,
  };
}

/** For people (logs, /healthz, metrics): the URL without its password, or the group and its sentinels. */
export function describeRedis(target: RedisTarget): string {
  if (target.kind === 'url') return redactUrl(target.url);
  const at = target.sentinels.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)).join(',');
  return `sentinel master ${target.name} via ${at}${target.tls ? ' (TLS)' : ''}`;
}

/**
 * TLS settings: REDIS_TLS_CA names a PEM file of the CA that signed the servers' certificates (a private CA; without it
 * the system's CAs are used, as for any TLS client).
 */
function tlsOptions(env: NodeJS.ProcessEnv): NonNullable<RedisOptions['tls']> {
  const caFile = env.REDIS_TLS_CA?.trim();
  if (!caFile) return {};
  try {
    return { ca: readFileSync(caFile) };
  } catch (err) {
    throw new RedisTlsError(`REDIS_TLS_CA = ${caFile}: cannot read the CA certificate (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/**
 * ioredis options for the target, beside the URL that a `url` target is constructed with. Through Sentinel, ioredis
 * asks the sentinels for the master on every (re)connection and refuses a node that is no longer master; the sentinels
 * close the connections of a master they demote, and a READONLY answer (a demoted master that still takes clients)
 * makes the connection start again. ioredis's failoverDetector stays off: when the switch-master news arrives while
 * the client is already reconnecting, it ends the client for good ("Connection is closed.").
 */
export function redisConnectionOptions(target: RedisTarget, env: NodeJS.ProcessEnv = process.env): RedisOptions {
  if (target.kind === 'url') return target.url.startsWith('rediss://') && env.REDIS_TLS_CA?.trim() ? { tls: tlsOptions(env) } : {};
  const tls = target.tls ? tlsOptions(env) : undefined;
  return {
    sentinels: target.sentinels,
    name: target.name,
    password: target.password,
    sentinelPassword: target.sentinelPassword,
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
    ...(tls ? { tls, sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
  };
}
