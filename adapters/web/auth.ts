import type { IncomingMessage } from 'node:http';
import { isLoopbackHost, secretEquals } from '../shared/secrets.ts';
import { HttpError } from './http.ts';

export interface WebTokens {
  /** KUAKUA_API_TOKEN: when set, the API and /metrics need it (or the operator token). */
  apiToken?: string;
  /** KUAKUA_OPERATOR_TOKEN: the web admin; the only key to /api/login and the full /healthz. */
  operatorToken?: string;
}

/** What a request proved with its bearer token: the operator's, the API's, or nothing (no token, or a wrong one). */
export type Credential = 'operator' | 'api' | 'none';

/** What a route asks of a request: nothing, a client's credential (when KUAKUA_API_TOKEN is set), or the operator's. */
export type Access = 'open' | 'client' | 'operator';

/** The credential of `Authorization: Bearer <token>`, compared in constant time. */
export function credentialOf(req: IncomingMessage, tokens: WebTokens): Credential {
  const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (!match) return 'none';
  const presented = match[1]!.trim();
  if (tokens.operatorToken && secretEquals(presented, tokens.operatorToken)) return 'operator';
  if (tokens.apiToken && secretEquals(presented, tokens.apiToken)) return 'api';
  return 'none';
}

const bearer = (name: string) => new HttpError(401, 'unauthorized', `Send Authorization: Bearer <${name}>`, { 'www-authenticate': 'Bearer' });

/** Throws the 401 or 403 that a request with `credential` gets from a route that needs `access`. */
export function assertAccess(access: Access, credential: Credential, tokens: WebTokens): void {
  if (access === 'open' || credential === 'operator') return;
  if (access === 'client') {
    if (!tokens.apiToken || credential === 'api') return;
    throw bearer('KUAKUA_API_TOKEN');
  }
  if (!tokens.operatorToken) throw new HttpError(403, 'forbidden', 'Only the operator may use this, and KUAKUA_OPERATOR_TOKEN is not set');
  if (credential === 'api') throw new HttpError(403, 'forbidden', 'The API token is not enough here: send Authorization: Bearer <KUAKUA_OPERATOR_TOKEN>');
  throw bearer('KUAKUA_OPERATOR_TOKEN');
}

/** Throws the operator-facing error when `host` is not loopback and no API token is set. */
export function assertBindAllowed(host: string, apiToken: string | undefined): void {
  if (isLoopbackHost(host) || apiToken) return;
  throw new Error(
    `Refusing to serve the web API on ${host} without KUAKUA_API_TOKEN: set KUAKUA_API_TOKEN ` +
      `(clients then send "Authorization: Bearer <token>") or bind 127.0.0.1 (KUAKUA_HTTP_HOST).`,
  );
}

/** One token for both would make every API client the web admin. */
export function assertTokensDiffer({ apiToken, operatorToken }: WebTokens): void {
  if (!apiToken || !operatorToken || !secretEquals(apiToken, operatorToken)) return;
  throw new Error('KUAKUA_OPERATOR_TOKEN must differ from KUAKUA_API_TOKEN: whoever holds the operator token is the web admin.');
}
