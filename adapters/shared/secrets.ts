import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Compares two secrets in constant time; hashing first hides their lengths too. */
export function secretEquals(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

// An IPv4 rule also matches the IPv4-mapped IPv6 form (::ffff:127.0.0.1).
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * True when a server bound to `host` is reachable from this machine only: an address in 127.0.0.0/8 or ::1 (IPv4-mapped
 * forms too), or the name localhost. Any other name, e.g. "127.attacker.example", resolves to whatever DNS says.
 */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 6 ? 'ipv6' : 'ipv4');
}
