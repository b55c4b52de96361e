export interface RateLimitOptions {
  /** Requests allowed per key in each window. */
  max: number;
  windowMs: number;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterSec: number };

/** Fixed-window counter per key (client IP), in memory; expired windows are dropped so memory stays bounded. */
export function createRateLimiter({ max, windowMs }: RateLimitOptions, now: () => number = Date.now) {
  const windows = new Map<string, { count: number; resetAt: number }>();
  let nextSweep = now() + windowMs;

  const sweep = (t: number) => {
    if (t < nextSweep) return;
    for (const [key, w] of windows) if (w.resetAt <= t) windows.delete(key);
    nextSweep = t + windowMs;
  };

  return {
    check(key: string): RateDecision {
      const t = now();
      sweep(t);
      let w = windows.get(key);
      if (!w || w.resetAt <= t) {
        w = { count: 0, resetAt: t + windowMs };
        windows.set(key, w);
      }
      w.count++;
      if (w.count <= max) return { ok: true };
      return { ok: false, retryAfterSec: Math.max(1, Math.ceil((w.resetAt - t) / 1000)) };
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
