import { createServer, type OutgoingHttpHeaders, type RequestListener, type Server, type ServerResponse } from 'node:http';

/** How long and how many: every inbound HTTP listener gets these, so a slow or crowded client cannot hold memory for long. */
export interface ListenerLimits {
  /** A client must have sent all its request headers within this time. */
  headersTimeoutMs: number;
  /** ... and the whole request, body included (the answer may take longer). */
  requestTimeoutMs: number;
  /** How often those two are checked. */
  checkIntervalMs: number;
  /** Connections open at once; more are closed as they arrive. */
  maxConnections: number;
}

export const LISTENER_LIMITS: ListenerLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, checkIntervalMs: 1_000, maxConnections: 512 };

/** An HTTP server with `limits`; a client too slow with its request gets 408 and is cut off. Node's own defaults allow 300 s. */
export function createHttpServer(listener: RequestListener, limits: ListenerLimits = LISTENER_LIMITS): Server {
  const server = createServer(
    { headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs, connectionsCheckingInterval: limits.checkIntervalMs },
    listener,
  );
  server.maxConnections = limits.maxConnections;
  return server;
}

/** Answers `status` without a body and closes the connection, so that the rest of the request is never read. */
export function refuse(res: ServerResponse, status: number, headers: OutgoingHttpHeaders = {}): void {
  if (!res.headersSent) res.writeHead(status, { ...headers, connection: 'close', 'content-length': 0 }).end();
}

/**
 * Listens on host:port; a start-up error (EADDRINUSE …) rejects. Errors after that go to `onError` for as long as the
 * server lives: without a listener, a later error (EMFILE on accept) would be thrown from node:net and end the process.
 */
export async function listen(server: Server, port: number, host: string, onError: (err: Error) => void): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject).listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', onError);
}

/** How long a request in progress may take to finish once the server stops. */
const GRACE_MS = 1000;

/**
 * Stops an HTTP server without letting a slow or stalled client hold it open: idle connections close at once, the rest
 * after a short grace, so a restart can bind the same port right away.
 */
export async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const cut = setTimeout(() => server.closeAllConnections(), GRACE_MS);
  await closed.finally(() => clearTimeout(cut));
}
