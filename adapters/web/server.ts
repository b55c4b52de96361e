import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Core, RunningAdapter } from '../../src/adapter.ts';
import { LoginStore } from '../../src/loginState.ts';
import { closeServer, createHttpServer } from '../shared/httpServer.ts';
import { isLoopbackHost } from '../shared/secrets.ts';
import { type Access, assertAccess, assertBindAllowed, assertTokensDiffer, credentialOf } from './auth.ts';
import { clientAddress } from './client.ts';
import type { WebContext, WebOptions } from './context.ts';
import { assertLoopbackHost, assertSameOrigin } from './guard.ts';
import { HttpError, sendError } from './http.ts';
import { createPendingReplies } from './pending.ts';
import { createRateLimiter } from './rateLimit.ts';
import { healthRoute } from './routes/health.ts';
import { loginRoute } from './routes/login.ts';
import { metricsRoute } from './routes/metrics.ts';
import { isPageAsset, pageRoute } from './routes/page.ts';
import { praiseRoute } from './routes/praise.ts';
import { cachedStatus } from './statusCache.ts';

export interface RunningWeb extends RunningAdapter {
  url: string;
  port: number;
  /** The login states this server shows on the page (`/api/login`). */
  login: LoginStore;
}

export interface StartWebOptions extends WebOptions {
  core: Core;
  logger: Logger;
  registry: Registry;
  /** Shared with the adapters of this process; a new, empty store when absent. */
  login?: LoginStore;
}

const ROUTES: Record<string, { method: string; access: Access }> = {
  '/api/praise': { method: 'POST', access: 'client' },
  '/api/login': { method: 'GET', access: 'operator' },
  '/healthz': { method: 'GET', access: 'open' },
  '/metrics': { method: 'GET', access: 'client' },
};

/** The request path; '' when the request target is not a valid URL (such a request gets a 404). */
function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return '';
  }
}

/** Requests by route and status: refusals (401, 413, 429, ...) show up here, praise outcomes in kuakua_requests_total. */
function httpRequestCounter(registry: Registry): Counter<'route' | 'status'> {
  const name = 'kuakua_http_requests_total';
  return (
    (registry.getSingleMetric(name) as Counter<'route' | 'status'> | undefined) ??
    new Counter({ name, help: 'HTTP requests to the web server, by route and status', labelNames: ['route', 'status'], registers: [registry] })
  );
}

/** Listens, or fails with what to do about a port that is taken or not allowed. */
function listenOn(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new Error(`port ${port} on ${host} is already in use (another kuakua?): stop that process, or choose another port with KUAKUA_HTTP_PORT (http.port)`),
        );
      } else if (err.code === 'EACCES') {
        reject(new Error(`not allowed to listen on port ${port}: choose a port above 1023 with KUAKUA_HTTP_PORT (http.port)`));
      } else reject(err);
    };
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

/** Fails now, with the same message as the web server would, when host:port cannot be listened on (before a slow model load). */
export async function assertPortFree(host: string, port: number): Promise<void> {
  const probe = createNetServer();
  await listenOn(probe, host, port);
  await new Promise((resolve) => probe.close(resolve));
}

/** The web playground and HTTP API: a web message is a 'web' platform message through the shared core and queue. */
export async function startWebServer(opts: StartWebOptions): Promise<RunningWeb> {
  const { core, logger, registry, login = new LoginStore(), ...options } = opts;
  assertBindAllowed(options.host, options.apiToken);
  assertTokensDiffer(options);
  const loopback = isLoopbackHost(options.host);
  const trustProxy = options.trustProxy ?? false;
  const log = logger.child({ adapter: 'web' });
  const pending = createPendingReplies();
  const ctx: WebContext = { core, logger: log, registry, pending, login, options, status: cachedStatus(core, options.statusCacheMs ?? 1000) };
  const limiter = createRateLimiter(options.rateLimit);
  const httpRequests = httpRequestCounter(registry);

  // The API answers a chorus at once, in `replies`; the page shows its members typing one after another.
  core.onDelivery(
    'web',
    async (d) => {
      if (!pending.deliver(d)) log.debug({ replyTo: d.replyToMessageId }, 'web: reply arrived after its request ended');
    },
    { chorusTogether: true },
  );

  const route = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const method = req.method ?? 'GET';
    if (loopback) assertLoopbackHost(req);
    if (isPageAsset(path)) {
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', 'Use GET', { allow: 'GET' });
      return pageRoute(res, path, 1 + options.botNames.length);
    }
    const entry = ROUTES[path];
    if (!entry) throw new HttpError(404, 'not_found', `No route ${path}`);
    if (method !== entry.method) throw new HttpError(405, 'method_not_allowed', `Use ${entry.method} ${path}`, { allow: entry.method });
    if (method === 'POST') assertSameOrigin(req, trustProxy);
    const credential = credentialOf(req, options);
    assertAccess(entry.access, credential, options);
    const address = clientAddress(req, trustProxy);
    if (method === 'POST') {
      // One bucket per credential and client: API clients that use up theirs do not lock the operator out.
      const decision = limiter.check(`${credential} ${address}`);
      if (!decision.ok) {
        throw new HttpError(429, 'rate_limited', `Too many requests from this address; retry in ${decision.retryAfterSec} s`, {
          'retry-after': String(decision.retryAfterSec),
        });
      }
    }
    switch (path) {
      case '/api/praise':
        return praiseRoute(ctx, req, res, { address, credential });
      case '/api/login':
        return loginRoute(res, ctx.login);
      case '/healthz':
        return healthRoute(ctx, res, credential === 'operator');
      case '/metrics':
        return metricsRoute(ctx, res);
    }
  };

  const server = createHttpServer((req, res) => {
    const path = pathOf(req);
    res.once('finish', () => {
      httpRequests.inc({ route: path in ROUTES || isPageAsset(path) ? path : 'other', status: String(res.statusCode) });
    });
    route(req, res, path).catch((err: unknown) => {
      if (!(err instanceof HttpError)) log.error({ err }, 'web: request failed');
      const httpErr = err instanceof HttpError ? err : new HttpError(500, 'internal', 'Internal error');
      if (res.headersSent) return res.destroy();
      // The rest of an oversized upload is not read: close the connection after answering.
      if (httpErr.status === 413) res.setHeader('connection', 'close');
      sendError(res, httpErr);
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  await listenOn(server, options.host, options.port);
  const { port } = server.address() as AddressInfo;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}/`;
  log.info({ url, auth: Boolean(options.apiToken), operator: Boolean(options.operatorToken) }, 'web: playground and API listening');

  return {
    name: 'web',
    url,
    port,
    login,
    async stop() {
      pending.close();
      await closeServer(server);
    },
  };
}
