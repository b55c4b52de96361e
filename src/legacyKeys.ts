import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long one process may hold the move for itself (the others wait): it ends sooner, or its process died. */
const LOCK_MS = 60_000;
const SCAN_BATCH = 500;

export interface LegacyMove {
  moved: number;
  /** Old keys left in place because a key of the new name exists already. */
  kept: string[];
}

/**
 * Older kuakua wrote its key prefix bare (`kuakua:…`); now it is a hash tag (`{kuakua}:…`). At start, the keys of
 * an older kuakua on this Redis (queued requests, pending replies and timeouts, chats' settings, dedupe keys, the
 * indexes) are renamed to the new prefix, so an upgrade loses no queued request. Processes starting together take
 * turns under a lock, each before it uses a queue, so none starts while another is still moving; RENAMENX never
 * overwrites a key a new process has written. It costs one EXISTS when there is nothing to move.
 */
export async function moveLegacyKeys(redis: Redis, prefix: string, queueName: string, logger: Pick<Logger, 'info' | 'warn'>): Promise<LegacyMove> {
  const legacy = prefix.replace(/^\{(.*)\}$/, '$1');
  const result: LegacyMove = { moved: 0, kept: [] };
  if (legacy === prefix || !(await redis.exists(`${legacy}:${queueName}:meta`, `${legacy}:reply-queues`))) return result;

  const lock = `${prefix}:legacy-move`;
  const me = randomUUID();
  while ((await redis.set(lock, me, 'PX', LOCK_MS, 'NX')) !== 'OK') await sleep(100);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${legacy}:*`, 'COUNT', SCAN_BATCH);
      cursor = next;
      if (!keys.length) continue;
      const pipeline = redis.pipeline();
      for (const key of keys) pipeline.renamenx(key, `${prefix}${key.slice(legacy.length)}`);
      const replies = (await pipeline.exec()) ?? [];
      replies.forEach(([err, renamed], i) => {
        if (renamed === 1) result.moved++;
        // "no such key": it expired between the scan and the rename.
        else if (!err) result.kept.push(keys[i]!);
      });
    } while (cursor !== '0');
  } finally {
    if ((await redis.get(lock)) === me) await redis.del(lock);
  }
  if (result.moved) logger.info({ moved: result.moved, from: `${legacy}:`, to: `${prefix}:` }, 'moved the keys of an older kuakua to the new prefix');
  if (result.kept.length) {
    logger.warn({ kept: result.kept.length, examples: result.kept.slice(0, 5) }, 'old keys left in place: keys of the same name exist under the new prefix');
  }
  return result;
}
