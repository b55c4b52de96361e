import type { Clock } from '../../adapters/shared/backoff.ts';

/** A wait a retry loop asked its clock for, held until the test lets it end. */
export interface HeldPause {
  ms: number;
  /** Virtual time when it was asked for. */
  at: number;
  /** Ends the wait, moving virtual time on by `ms`. */
  release(): void;
}

/**
 * A clock whose time moves only when a test says so: every pause a loop asks for is held until the test takes it with
 * next() and releases it. Delays of seconds or minutes are then checked exactly, in no time, and each try a loop makes
 * can be seen to come after the wait before it.
 */
export interface VirtualClock extends Clock {
  /** The next pause asked for (waiting for one), in the order asked. */
  next(timeoutMs?: number): Promise<HeldPause>;
  /** Moves virtual time on, as a connection that stays up for a while. */
  advance(ms: number): void;
}

export function virtualClock(): VirtualClock {
  let now = 0;
  const held: HeldPause[] = [];
  let wake: (() => void) | undefined;
  return {
    now: () => now,
    pause(ms, signal) {
      if (signal?.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const end = () => {
          signal?.removeEventListener('abort', end);
          resolve();
        };
        signal?.addEventListener('abort', end, { once: true });
        const at = now;
        held.push({
          ms,
          at,
          release: () => {
            now = Math.max(now, at + ms);
            end();
          },
        });
        wake?.();
      });
    },
    async next(timeoutMs = 20_000) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no pause asked for within ${timeoutMs} ms`)), timeoutMs)));
      try {
        while (held.length === 0) await Promise.race([new Promise<void>((resolve) => (wake = resolve)), late]);
        return held.shift()!;
      } finally {
        clearTimeout(timer);
        wake = undefined;
      }
    },
    advance(ms) {
      now += ms;
    },
  };
}
