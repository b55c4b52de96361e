import type { Registry } from 'prom-client';
import type { AdapterContext } from '../../src/adapter.ts';
import type { Config } from '../../src/config.ts';
import { MAX_TEXT_CHARS } from '../../src/queue/contracts.ts';
import type { WebConfig } from './config.ts';
import type { WebOptions } from './context.ts';
import { startWebServer, type RunningWeb } from './server.ts';

export type { RunningWeb } from './server.ts';
export { assertBindAllowed } from './auth.ts';
export { assertPortFree } from './server.ts';

export function webOptionsFromConfig(config: Pick<Config, 'queue' | 'secrets' | 'chorus'> & { http: WebConfig }): WebOptions {
  return {
    host: config.http.host,
    port: config.http.port,
    apiToken: config.secrets.apiToken,
    operatorToken: config.secrets.operatorToken,
    trustProxy: config.http.trustProxy,
    bodyLimitBytes: config.http.bodyLimit,
    maxTextChars: MAX_TEXT_CHARS,
    rateLimit: { max: config.http.rateLimitPerMinute || Number.MAX_SAFE_INTEGER, windowMs: 60_000 },
    // The core answers with its timeout policy (fallback/busy) after queue.timeoutMs; wait a little longer for that reply.
    replyTimeoutMs: config.queue.timeoutMs + 5_000,
    botNames: [config.chorus.host.name, ...config.chorus.voices.map((v) => v.name)],
  };
}

/** The web playground + HTTP API as an adapter of the shared core. */
export function startWebAdapter(ctx: AdapterContext, config: Parameters<typeof webOptionsFromConfig>[0], registry: Registry): Promise<RunningWeb> {
  return startWebServer({ ...webOptionsFromConfig(config), core: ctx.core, logger: ctx.logger, login: ctx.login, registry });
}
