import type { Server } from 'node:http';

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
