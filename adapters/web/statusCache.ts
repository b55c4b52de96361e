import type { Core, CoreStatus } from '../../src/adapter.ts';

/** core.status() shared by every request within `ttlMs` of the look-up: a flood of /healthz costs one Redis round trip a second. */
export function cachedStatus(core: Pick<Core, 'status'>, ttlMs: number, now: () => number = Date.now): () => Promise<CoreStatus> {
  let last: { at: number; status: Promise<CoreStatus> } | undefined;
  return () => {
    const t = now();
    if (!last || t - last.at >= ttlMs) last = { at: t, status: core.status() };
    return last.status;
  };
}
