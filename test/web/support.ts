import type { Core } from '../../src/adapter.ts';
import type { AppConfig } from '../../src/app/config.ts';
import { recordLogs } from '../helpers/logs.ts';
import { registry } from '../../src/metrics.ts';
import { webOptionsFromConfig } from '../../adapters/web/index.ts';
import type { WebOptions } from '../../adapters/web/context.ts';
import { startWebServer, type RunningWeb } from '../../adapters/web/server.ts';

export interface WebFixture extends RunningWeb {
  /** POST /api/praise with a JSON body (or a raw string), returning status, headers and parsed body. */
  praise(
    body: unknown,
    init?: { raw?: boolean; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }>;
  logs: string[];
}

/** The web server on a free loopback port in front of `core`, with options from `config` and the given changes. */
export async function startWeb(core: Core, config: AppConfig, over: Partial<WebOptions> = {}): Promise<WebFixture> {
  const { logger, lines: logs } = recordLogs();
  const web = await startWebServer({ ...webOptionsFromConfig(config), host: '127.0.0.1', port: 0, ...over, core, logger, registry });
  return {
    ...web,
    logs,
    async praise(body, init = {}) {
      const res = await fetch(`${web.url}api/praise`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...init.headers },
        body: init.raw ? (body as string) : JSON.stringify(body),
      });
      const text = await res.text();
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(text);
      } catch {
        json = { unparsed: text };
      }
      return { status: res.status, headers: res.headers, json };
    },
  };
}

export const HAN = /[\u4e00-\u9fff]/;
