import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { heartbeat } from '../shared/heartbeat.ts';
import { closeServer, createHttpServer, listen } from '../shared/httpServer.ts';
import { secretEquals } from '../shared/secrets.ts';
import { MAX_FRAME_BYTES } from './translate.ts';

/** What an implementation says about itself when it connects (OneBot v11 reverse WebSocket headers). */
export interface ReverseClient {
  /** X-Client-Role: Universal carries events and actions; Event and API connections carry one of them. */
  role: 'universal' | 'event' | 'api';
  selfId?: string;
  remote: string;
}

/** More reverse connections than an implementation needs (one Universal, or an Event and an API one per account). */
export const MAX_REVERSE_CONNECTIONS = 8;

export type RefusalStatus = 400 | 401 | 404 | 503;

export interface ReverseOptions {
  host: string;
  port: number;
  path: string;
  token?: string;
  /** How often each connection is pinged; one that misses a pong is closed. */
  pingMs: number;
  onConnection(ws: WebSocket, client: ReverseClient): void;
  /** A connection refused before the WebSocket handshake: a malformed or wrong path, a missing or wrong access token, or one too many. */
  onRefused(remote: string, status: RefusalStatus): void;
  /** The server failed after it started listening (e.g. EMFILE on accept). */
  onError(err: Error): void;
}

export interface ReverseServer {
  port: number;
  close(): Promise<void>;
}

/** The request's URL; undefined when its target cannot be parsed (e.g. `//`), which anyone who reaches the port can send. */
function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

/** The access token a client presents: `Authorization: Bearer …` (or go-cqhttp's `Token …`), or `?access_token=…`. */
function presentedToken(req: IncomingMessage, url: URL): string | undefined {
  const header = /^(?:Bearer|Token)\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
  return header ?? url.searchParams.get('access_token') ?? undefined;
}

function roleOf(req: IncomingMessage): ReverseClient['role'] {
  const role = String(req.headers['x-client-role'] ?? '').toLowerCase();
  return role === 'event' || role === 'api' ? role : 'universal';
}

const REASONS: Record<RefusalStatus, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 503: 'Service Unavailable' };

function refuse(socket: Duplex, status: RefusalStatus): void {
  socket.end(`HTTP/1.1 ${status} ${REASONS[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Why a client is refused, or undefined when it may connect. */
function refusal(req: IncomingMessage, o: ReverseOptions, openConnections: number): RefusalStatus | undefined {
  const url = requestUrl(req);
  if (!url) return 400;
  if (url.pathname !== o.path) return 404;
  if (o.token !== undefined) {
    const given = presentedToken(req, url);
    if (given === undefined || !secretEquals(given, o.token)) return 401;
  }
  return openConnections >= MAX_REVERSE_CONNECTIONS ? 503 : undefined;
}

/** kuakua's reverse WebSocket server: the implementation connects to ws://host:port/path with the access token. */
export async function listenReverse(o: ReverseOptions): Promise<ReverseServer> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const server = createHttpServer((_req, res) => res.writeHead(426, { connection: 'close' }).end('OneBot v11 reverse WebSocket: connect with ws://\n'));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const status = refusal(req, o, wss.clients.size);
    if (status !== undefined) {
      o.onRefused(remote, status);
      return refuse(socket, status);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const selfId = req.headers['x-self-id'];
      heartbeat(ws, o.pingMs);
      o.onConnection(ws, { role: roleOf(req), selfId: typeof selfId === 'string' && /^\d+$/.test(selfId) ? selfId : undefined, remote });
    });
  });
  await listen(server, o.port, o.host, o.onError);
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : o.port,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await closeServer(server);
    },
  };
}
