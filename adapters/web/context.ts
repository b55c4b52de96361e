import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Core, CoreStatus } from '../../src/adapter.ts';
import type { LoginStore } from '../../src/loginState.ts';
import type { WebTokens } from './auth.ts';
import type { PendingReplies } from './pending.ts';

/** The API token, when set, is required for non-loopback hosts; see WebTokens for what each token opens. */
export interface WebOptions extends WebTokens {
  host: string;
  port: number;
  /** http.trustProxy: a reverse proxy in front sets X-Forwarded-For (the rate limit's client) and X-Forwarded-Host. */
  trustProxy?: boolean;
  /** How long one look-up of the core's status answers /healthz; a second by default. */
  statusCacheMs?: number;
  bodyLimitBytes: number;
  maxTextChars: number;
  rateLimit: { max: number; windowMs: number };
  /** How long a request waits for its reply; a little above the core's worker timeout so its fallback/busy reply arrives. */
  replyTimeoutMs: number;
  /** The names the bot speaks under (chorus.host and chorus.voices): "@" one of them names a bot, not a friend. */
  botNames: readonly string[];
}

/** What every route handler gets. */
export interface WebContext {
  core: Core;
  logger: Logger;
  registry: Registry;
  pending: PendingReplies;
  login: LoginStore;
  /** The core's status, cached for options.statusCacheMs. */
  status(): Promise<CoreStatus>;
  options: WebOptions;
}
