import type { Redis } from 'ioredis';
import type { RedisKeys } from './queue/contracts.ts';

/** What a live worker advertises; the key expires when it stops refreshing it. */
export interface WorkerInfo {
  id: string;
  model: string;
  host: string;
  pid: number;
  concurrency: number;
  startedAt: number;
}

export async function beat(redis: Redis, keys: RedisKeys, info: WorkerInfo, ttlSeconds: number): Promise<void> {
  await redis.set(keys.worker(info.id), JSON.stringify(info), 'EX', ttlSeconds);
}

export async function removeBeat(redis: Redis, keys: RedisKeys, id: string): Promise<void> {
  await redis.del(keys.worker(id));
}

export async function liveWorkers(redis: Redis, keys: RedisKeys): Promise<WorkerInfo[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', keys.workerPattern(), 'COUNT', 200);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  if (!found.length) return [];
  const values = await redis.mget(found);
  return values.flatMap((v) => {
    if (!v) return [];
    try {
      return [JSON.parse(v) as WorkerInfo];
    } catch {
      return [];
    }
  });
}
