import type { IncomingMessage } from 'node:http';

/** The last entry of a comma-separated list header: the one the proxy right in front of this server wrote. */
function lastEntry(header: string | string[] | undefined): string | undefined {
  const joined = Array.isArray(header) ? header.join(',') : header;
  return joined
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .at(-1);
}

/**
 * The client's address. With `trustProxy` (http.trustProxy) the server sits behind a reverse proxy that appends the
 * address it was connected from to X-Forwarded-For, so the right-most entry is the real client; the entries before it
 * are whatever the client sent, and a client could pick them freely. Without it the header is ignored.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const socket = req.socket.remoteAddress ?? 'unknown';
  return (trustProxy && lastEntry(req.headers['x-forwarded-for'])) || socket;
}

/** The host (name and port) the client addressed: behind a trusted proxy, the X-Forwarded-Host it sets; else Host. */
export function requestedHost(req: IncomingMessage, trustProxy: boolean): string | undefined {
  return (trustProxy && lastEntry(req.headers['x-forwarded-host'])) || req.headers.host;
}
