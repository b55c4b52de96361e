import type { IncomingMessage } from 'node:http';
import { isLoopbackHost, secretEquals } from '../shared/secrets.ts';

/** True when the request carries `Authorization: Bearer <token>`; compared in constant time. */
export function hasBearerToken(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (!match) return false;
  return secretEquals(match[1]!.trim(), token);
}

/** Throws the operator-facing error when `host` is not loopback and no API token is set. */
export function assertBindAllowed(host: string, apiToken: string | undefined): void {
  if (isLoopbackHost(host) || apiToken) return;
  throw new Error(
    `Refusing to serve the web API on ${host} without KUAKUA_API_TOKEN: set KUAKUA_API_TOKEN ` +
      `(clients then send "Authorization: Bearer <token>") or bind 127.0.0.1 (KUAKUA_HTTP_HOST).`,
  );
}
