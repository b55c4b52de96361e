import type { Logger } from 'pino';

type Level = 'info' | 'warn' | 'error';

const MAX_KEYS = 500;

/**
 * Logs each distinct problem the 1st, 2nd, 4th, 8th, … time it happens, with the count so far: a failure that repeats
 * every second costs a dozen lines an hour instead of thousands, and the count still says how often it happened.
 */
export function repeatLog(logger: Logger) {
  const counts = new Map<string, number>();
  return {
    /** Returns how often `key` has been noted, this time included. */
    note(level: Level, key: string, fields: Record<string, unknown>, msg: string): number {
      const n = (counts.get(key) ?? 0) + 1;
      counts.delete(key);
      counts.set(key, n);
      if (counts.size > MAX_KEYS) counts.delete(counts.keys().next().value as string);
      if ((n & (n - 1)) === 0) logger[level](n > 1 ? { ...fields, repeats: n } : fields, n > 1 ? `${msg} (${n} times so far)` : msg);
      return n;
    },
  };
}

export type RepeatLog = ReturnType<typeof repeatLog>;
