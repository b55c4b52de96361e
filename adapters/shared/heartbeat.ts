import type WebSocket from 'ws';

/**
 * Pings `ws` every `everyMs` until it closes; a connection that did not answer the previous ping is dead (half-open
 * TCP) and is terminated. Returns whether that is how it ended.
 */
export function heartbeat(ws: WebSocket, everyMs: number): () => boolean {
  let answered = true;
  let dead = false;
  const timer = setInterval(() => {
    if (!answered) {
      dead = true;
      return ws.terminate();
    }
    answered = false;
    ws.ping();
  }, everyMs);
  ws.on('pong', () => (answered = true));
  ws.once('close', () => clearInterval(timer));
  return () => dead;
}
