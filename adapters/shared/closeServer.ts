import type { Server } from 'node:http';

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
