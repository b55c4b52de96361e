import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Compares two secrets in constant time; hashing first hides their lengths too. */
export function secretEquals(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** True when a server bound to `host` is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}
