import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/** What an implementation says about itself when it connects (OneBot v11 reverse WebSocket headers). */
export interface ReverseClient {
  /** X-Client-Role: Universal carries events and actions; Event and API connections carry one of them. */
  role: 'universal' | 'event' | 'api';
  selfId?: string;
  remote: string;
}

export interface ReverseOptions {
  host: string;
  port: number;
  path: string;
  token?: string;
  onConnection(ws: WebSocket, client: ReverseClient): void;
  /** A connection refused before the WebSocket handshake: wrong path, or a missing or wrong access token. */
  onRefused(remote: string, status: 401 | 404): void;
}

export interface ReverseServer {
  port: number;
  close(): Promise<void>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The access token a client presents: `Authorization: Bearer …` (or go-cqhttp's `Token …`), or `?access_token=…`. */
export function presentedToken(req: IncomingMessage): string | undefined {
  const header = /^(?:Bearer|Token)\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
  return header ?? new URL(req.url ?? '/', 'http://localhost').searchParams.get('access_token') ?? undefined;
}

function roleOf(req: IncomingMessage): ReverseClient['role'] {
  const role = String(req.headers['x-client-role'] ?? '').toLowerCase();
  return role === 'event' || role === 'api' ? role : 'universal';
}

function refuse(socket: Duplex, status: 401 | 404): void {
  socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Not Found'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** kuakua's reverse WebSocket server: the implementation connects to ws://host:port/path with the access token. */
export async function listenReverse(o: ReverseOptions): Promise<ReverseServer> {
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer((_req, res) => res.writeHead(426, { connection: 'close' }).end('OneBot v11 reverse WebSocket: connect with ws://\n'));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== o.path) {
      o.onRefused(remote, 404);
      return refuse(socket, 404);
    }
    if (o.token !== undefined) {
      const given = presentedToken(req);
      if (given === undefined || !timingSafeEqual(digest(given), digest(o.token))) {
        o.onRefused(remote, 401);
        return refuse(socket, 401);
      }
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const selfId = req.headers['x-self-id'];
      o.onConnection(ws, { role: roleOf(req), selfId: typeof selfId === 'string' && /^\d+$/.test(selfId) ? selfId : undefined, remote });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject).listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : o.port,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
