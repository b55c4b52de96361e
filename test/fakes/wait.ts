import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `probe` until it returns a value (not undefined/null/false), or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
