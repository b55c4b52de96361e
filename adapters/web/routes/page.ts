import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../src/projectRoot.ts';

const asset = (name: string, type: string) => ({ body: readFileSync(join(PROJECT_ROOT, 'adapters/web/page', name)), type });

const ASSETS: Record<string, { body: Buffer; type: string }> = {
  '/': asset('index.html', 'text/html; charset=utf-8'),
  '/page.js': asset('page.js', 'text/javascript; charset=utf-8'),
  '/page.css': asset('page.css', 'text/css; charset=utf-8'),
  '/favicon.svg': asset('favicon.svg', 'image/svg+xml'),
  // Browsers ask for /favicon.ico whatever the page links to; every current one takes an SVG answer.
  '/favicon.ico': asset('favicon.svg', 'image/svg+xml'),
};

// No inline script is allowed, so even text that slipped into the DOM as markup could not run.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function isPageAsset(path: string): boolean {
  return path in ASSETS;
}

/** The page as served: the title counts the group, you and every voice the bot speaks in (chorus.host and chorus.voices). */
export function pageRoute(res: ServerResponse, path: string, members: number) {
  const asset = ASSETS[path]!;
  const body = path === '/' ? Buffer.from(asset.body.toString('utf8').replace('{{members}}', String(members))) : asset.body;
  const { type } = asset;
  res.writeHead(200, {
    'content-type': type,
    'content-length': body.length,
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  });
  res.end(body);
}
