import WebSocket from 'ws';
import { PermanentAdapterError } from '../../src/adapter.ts';
import { backoffDelay, type Clock } from '../shared/backoff.ts';
import { heartbeat } from '../shared/heartbeat.ts';
import { MAX_FRAME_BYTES } from './translate.ts';

/** A connection that lasted this long starts the reconnect backoff over. */
const STABLE_MS = 60_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface ForwardOptions {
  /** The implementation's WebSocket server, e.g. ws://127.0.0.1:3001. */
  url: string;
  token?: string;
  /** How often the connection is pinged; one that misses a pong is dropped. */
  pingMs: number;
  /** What the reconnect backoff waits on. */
  clock: Clock;
  signal: AbortSignal;
  /** A connection is open: its frames and its end are the caller's to handle. */
  onOpen(ws: WebSocket): void;
  /** A connection attempt failed or an open connection ended; the next attempt is in `waitMs`. */
  onRetry(err: Error, waitMs: number): void;
  /** The implementation refused the access token after the first connection: retrying cannot help. */
  onRefused(err: PermanentAdapterError): void;
}

export const tokenRefused = () => new PermanentAdapterError('OneBot refused ONEBOT_ACCESS_TOKEN (401 Unauthorized)');

/** 401/403 on the upgrade request: the access token is missing or wrong. */
function refusal(err: unknown): PermanentAdapterError | undefined {
  const status = /Unexpected server response: (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
  return status === '401' || status === '403' ? tokenRefused() : undefined;
}

function open(o: ForwardOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    // As a client the token goes in the header, not the URL, so it stays out of proxy and access logs.
    const ws = new WebSocket(o.url, {
      headers: o.token ? { Authorization: `Bearer ${o.token}` } : {},
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      maxPayload: MAX_FRAME_BYTES,
    });
    const abort = () => ws.terminate();
    o.signal.addEventListener('abort', abort, { once: true });
    ws.once('open', () => {
      o.signal.removeEventListener('abort', abort);
      ws.off('error', reject);
      // Without a listener, a socket error would be thrown; 'close' follows it and ends the connection.
      ws.on('error', () => {});
      // Now, not after the promise settles: a frame that came with the handshake is read before that.
      o.onOpen(ws);
      resolve(ws);
    });
    ws.once('error', reject);
    ws.once('close', () => {
      o.signal.removeEventListener('abort', abort);
      reject(new Error('connection closed during the handshake'));
    });
  });
}

/** Resolves with a description of how an open connection ended. */
function untilClosed(ws: WebSocket, pingMs: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const unanswered = heartbeat(ws, pingMs);
    const abort = () => ws.close(1000, 'kuakua stopping');
    signal.addEventListener('abort', abort, { once: true });
    ws.once('close', (code) => {
      signal.removeEventListener('abort', abort);
      resolve(unanswered() ? 'no answer to a ping' : `close code ${code}`);
    });
  });
}

/**
 * Keeps one forward WebSocket connection to the implementation open, reconnecting with backoff until `signal` aborts.
 * Resolves once the first connection is open; rejects when the first attempt fails (a refused token with a
 * PermanentAdapterError), so a wrong setting shows at start.
 */
export function connectForward(o: ForwardOptions): Promise<void> {
  return new Promise((resolveFirst, rejectFirst) => {
    let first = true;
    const loop = async () => {
      for (let attempt = 0; !o.signal.aborted; ) {
        let ws: WebSocket;
        try {
          ws = await open(o);
        } catch (err) {
          if (o.signal.aborted) return;
          const refused = refusal(err);
          if (first) return rejectFirst(refused ?? err);
          if (refused) return o.onRefused(refused);
          const waitMs = backoffDelay(attempt++);
          o.onRetry(err instanceof Error ? err : new Error(String(err)), waitMs);
          await o.clock.pause(waitMs, o.signal);
          continue;
        }
        if (first) {
          first = false;
          resolveFirst();
        }
        const openedAt = o.clock.now();
        const how = await untilClosed(ws, o.pingMs, o.signal);
        if (o.signal.aborted) return;
        if (o.clock.now() - openedAt > STABLE_MS) attempt = 0;
        const waitMs = backoffDelay(attempt++);
        o.onRetry(new Error(`connection lost (${how})`), waitMs);
        await o.clock.pause(waitMs, o.signal);
      }
    };
    void loop();
  });
}
