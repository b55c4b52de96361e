import { request } from 'node:http';
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

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}

/**
 * One request through node:http, which sends headers such as Host and X-Forwarded-For exactly as given (fetch does not
 * let a caller choose the Host header).
 */
export function rawRequest(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let json: Record<string, unknown>;
        try {
          json = JSON.parse(text);
        } catch {
          json = { unparsed: text };
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** `rawRequest` of POST /api/praise with a JSON body. */
export function rawPraise(web: RunningWeb, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(`${web.url}api/praise`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}
