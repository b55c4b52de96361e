import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { withTimeout } from './timeout.ts';

/** How long a process waits for Redis at shutdown, in all, before it drops the connections still closing. */
export const CLOSE_WAIT_MS = 5000;

/** A BullMQ Queue or Worker: a close that waits for Redis, and a disconnect that does not. */
export interface Closable {
  close(): Promise<void>;
  disconnect(): Promise<void>;
}

/** The milliseconds left until `ms` from now, never less than 1. */
export function deadline(ms: number): () => number {
  const end = performance.now() + ms;
  return () => Math.max(1, Math.round(end - performance.now()));
}

/**
 * Closes `part` within waitMs, else drops its connections and says so. With Redis gone, BullMQ's close and ioredis's
 * QUIT wait for a reconnection that may never come, and a shutdown must not hang on them.
 */
export async function closeOrDrop(name: string, part: Closable, waitMs: number, log: Logger): Promise<void> {
  try {
    await withTimeout(part.close(), waitMs);
  } catch (err) {
    log.warn({ part: name, err: (err as Error).message }, 'did not close in time: dropping its connections');
    // Not awaited: a connection that is reconnecting never ends (ioredis emits no 'end' for it).
    void part.disconnect().catch(() => {});
  }
}

/** QUITs `redis` within waitMs, else disconnects it. */
export async function quitOrDrop(redis: Redis, waitMs: number): Promise<void> {
  await withTimeout(redis.quit(), waitMs).catch(() => redis.disconnect());
}
