import type { Redis } from 'ioredis';
import type { RedisKeys } from './queue/contracts.ts';

/** What a live worker advertises; it is listed while it keeps refreshing its heartbeat. */
export interface WorkerInfo {
  id: string;
  model: string;
  host: string;
  pid: number;
  concurrency: number;
  startedAt: number;
}

/**
 * The worker registry: a sorted set of worker ids scored by when their heartbeat runs out (Redis server time, so the
 * clocks of the machines do not matter), beside one info key per worker that expires at the same time. Reading it
 * costs one small script and one MGET, whatever the size of the keyspace.
 */

/** Lua prelude that sets `now` to the Redis server's time in ms (the reply queue index in src/retention.ts uses it too). */
export const NOW_MS = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const BEAT = `${NOW_MS}
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
return 1`;

/** Drops members whose heartbeat ran out, then lists the rest. */
const LIVE = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)`;

export async function beat(redis: Redis, keys: RedisKeys, info: WorkerInfo, ttlSeconds: number): Promise<void> {
  await redis.eval(BEAT, 2, keys.workers(), keys.worker(info.id), info.id, JSON.stringify(info), Math.round(ttlSeconds * 1000));
}

export async function removeBeat(redis: Redis, keys: RedisKeys, id: string): Promise<void> {
  await redis.multi().zrem(keys.workers(), id).del(keys.worker(id)).exec();
}

export async function liveWorkers(redis: Redis, keys: RedisKeys): Promise<WorkerInfo[]> {
  const ids = (await redis.eval(LIVE, 1, keys.workers())) as string[];
  if (!ids.length) return [];
  const values = await redis.mget(ids.map((id) => keys.worker(id)));
  return values.flatMap((v) => {
    if (!v) return [];
    try {
      return [JSON.parse(v) as WorkerInfo];
    } catch {
      return [];
    }
  });
}
