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

export function pageRoute(res: ServerResponse, path: string) {
  const { body, type } = ASSETS[path]!;
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
