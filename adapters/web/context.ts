import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Core } from '../../src/adapter.ts';
import type { LoginStore } from '../../src/loginState.ts';
import type { PendingReplies } from './pending.ts';

export interface WebOptions {
  host: string;
  port: number;
  /** When set, /api/* and /metrics need `Authorization: Bearer <token>`; required for non-loopback hosts. */
  apiToken?: string;
  bodyLimitBytes: number;
  maxTextChars: number;
  rateLimit: { max: number; windowMs: number };
  /** How long a request waits for its reply; a little above the core's worker timeout so its fallback/busy reply arrives. */
  replyTimeoutMs: number;
}

/** What every route handler gets. */
export interface WebContext {
  core: Core;
  logger: Logger;
  registry: Registry;
  pending: PendingReplies;
  login: LoginStore;
  options: WebOptions;
}
