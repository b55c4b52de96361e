import { z } from 'zod';
import { isLoopbackHost } from './secrets.ts';

type Secure = 'https' | 'wss';
const PLAIN: Record<Secure, string> = { https: 'http', wss: 'ws' };

/**
 * True for a `secure://` URL, or a plain one (http, ws) to this machine: tokens and secrets travel in these requests, so
 * they never cross a network in the clear.
 */
export function isSecureUrl(text: string, secure: Secure): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol, hostname } = new URL(text);
  return protocol === `${secure}:` || (protocol === `${PLAIN[secure]}:` && isLoopbackHost(hostname.replace(/^\[(.*)\]$/, '$1')));
}

/** What the config error says a value should have been. */
export const secureUrlRule = (secure: Secure) => `${secure}:// URL (${PLAIN[secure]}:// only to a loopback host)`;

/** A config key holding an API root or gateway URL (see isSecureUrl). */
export const secureUrl = (secure: Secure) =>
  z.string().refine((text) => isSecureUrl(text, secure), `${secure === 'https' ? 'an' : 'a'} ${secureUrlRule(secure)}`);
