import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
}

/** Exponential backoff with full jitter: the delay before attempt n (0-based). */
export function backoffDelay(attempt: number, { initialMs = 500, maxMs = 30_000 }: BackoffOptions = {}): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Sleeps, but wakes early (without throwing) when the signal aborts. */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => {});
}

/** Time as a retry loop sees it: the real clock, or a test's virtual one that shows every wait the loop asks for. */
export interface Clock {
  now(): number;
  /** Waits `ms`, or less when `signal` aborts; never throws. */
  pause(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = { now: () => Date.now(), pause };
