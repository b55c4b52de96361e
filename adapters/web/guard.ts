import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from '../shared/secrets.ts';
import { requestedHost } from './client.ts';
import { HttpError } from './http.ts';

const HOST = /^(?:\[([\da-f:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/i;

/** "LocalHost:8787" -> "localhost", "[::1]:8787" -> "::1"; undefined for anything that is not a name with an optional port. */
function hostnameOf(host: string): string | undefined {
  const m = HOST.exec(host);
  return (m?.[1] ?? m?.[2])?.toLowerCase();
}

/** "http://Example.org:80" -> "example.org"; undefined when it does not parse. */
function normalHost(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/**
 * DNS rebinding: a page on evil.example whose name later resolves to 127.0.0.1 reaches a loopback server with
 * "Host: evil.example". A server bound to loopback answers only requests addressed to a loopback name or address.
 */
export function assertLoopbackHost(req: IncomingMessage): void {
  const host = req.headers.host ?? '';
  const name = hostnameOf(host);
  if (name && isLoopbackHost(name)) return;
  throw new HttpError(421, 'misdirected_host', `Host ${JSON.stringify(host)} is not a loopback name: this server answers only 127.0.0.1, localhost and [::1]`);
}

/**
 * A POST from a page on another site (cross-site request forgery): a browser sends its Origin, which must be this
 * server's own as the request addressed it. Requests without an Origin (curl, scripts, other servers) pass.
 */
export function assertSameOrigin(req: IncomingMessage, trustProxy: boolean): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  const own = requestedHost(req, trustProxy);
  const expected = own === undefined ? undefined : normalHost(`http://${own}`);
  if (expected !== undefined && normalHost(origin) === expected) return;
  throw new HttpError(403, 'foreign_origin', `Origin ${JSON.stringify(origin)} is not this server's own: cross-site requests are refused`);
}
