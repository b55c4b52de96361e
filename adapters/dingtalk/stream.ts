import { DWClient, TOPIC_ROBOT, type DWClientDownStream } from 'dingtalk-stream';
import WebSocket from 'ws';
import { z } from 'zod';
import { PermanentAdapterError } from '../../src/adapter.ts';
import { heartbeat } from '../shared/heartbeat.ts';

const GATEWAY_TIMEOUT_MS = 10_000;
/** A robot message frame is a few KB; a bigger frame closes the connection (1009) instead of being buffered (ws allows 100 MiB). */
const MAX_FRAME_BYTES = 1024 * 1024;

const gatewayAnswer = z.object({ endpoint: z.url(), ticket: z.string().min(1) });

/** A frame DingTalk pushes down the stream. SYSTEM frames (ping, disconnect …) need no messageId; the others do. */
const downstreamFrame = z.union([
  z.object({ type: z.literal('SYSTEM'), headers: z.looseObject({ topic: z.string() }), data: z.string().optional() }),
  z.object({
    specVersion: z.string().optional(),
    type: z.enum(['EVENT', 'CALLBACK']),
    headers: z.looseObject({ topic: z.string(), messageId: z.string().min(1) }),
    data: z.string(),
  }),
]);

export type RobotCallback = { messageId: string; data: string };

export interface StreamHooks {
  /** Where stream connections are opened (DingTalk's gateway, or a local fake). */
  gatewayUrl: string;
  /** A ws ping every this often; no pong by the next one and the connection is taken for dead. */
  heartbeatMs: number;
  /** A robot message callback; it has already been acknowledged. */
  onRobotMessage(callback: RobotCallback): void;
  /** A frame that could not be read, or a callback for a topic we did not subscribe to. */
  onOddFrame(problem: 'malformed' | 'unknown-topic', detail: string): void;
  /** An open connection ended (not by `disconnect`). */
  onClose(code: number): void;
}

/** The members of the SDK's DWClient that its typings call private and this subclass has to set (dingtalk-stream 2.1). */
interface ClientInternals {
  socket?: WebSocket;
}

/**
 * The SDK's stream client with four parts replaced: `getEndpoint` opens the connection at a configurable gateway (the
 * SDK hard-codes DingTalk's) and tells a rejected Client ID/Secret apart; `_connect` and `disconnect` keep the SDK's
 * console lines (socket errors with their stacks) out of the output and leave reconnecting to the adapter, which backs
 * off instead of retrying every second forever; once `disconnect` has been called no socket is opened and no heartbeat
 * timer started, even by a connect that was already under way; `onDownStream` survives malformed
 * frames (the SDK's JSON.parse would throw out of the socket's message handler) and acknowledges every callback,
 * whatever its topic, so that DingTalk does not deliver it again. Ping answers, event acks and the ack frame format
 * stay the SDK's.
 */
export class StreamClient extends DWClient {
  private streamUrl?: string;
  private stopped = false;

  constructor(
    credentials: { clientId: string; clientSecret: string },
    private readonly hooks: StreamHooks,
  ) {
    // debug stays off: the SDK's debug output prints the whole config, the secret included.
    super({ ...credentials, debug: false, keepAlive: false, ua: 'kuakua' });
    this.config.autoReconnect = false;
    // Only robot messages; a fresh array, since the SDK's default subscription list is shared by all its clients.
    this.config.subscriptions = [];
    this.registerCallbackListener(TOPIC_ROBOT, (frame) => hooks.onRobotMessage({ messageId: frame.headers.messageId, data: frame.data }));
  }

  override async getEndpoint(): Promise<this> {
    const { clientId, clientSecret, ua, subscriptions } = this.config;
    const res = await fetch(this.hooks.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ clientId, clientSecret, ua, subscriptions }),
      signal: AbortSignal.timeout(GATEWAY_TIMEOUT_MS),
      // The body carries the client secret: it goes to the configured gateway and nowhere else.
      redirect: 'error',
    });
    if (res.status === 401 || res.status === 403) {
      throw new PermanentAdapterError(`DingTalk rejected DINGTALK_CLIENT_ID / DINGTALK_CLIENT_SECRET (${res.status} ${await errorCode(res)})`);
    }
    if (!res.ok) throw new Error(`DingTalk gateway answered ${res.status} ${await errorCode(res)}`);
    const answer = gatewayAnswer.safeParse(await res.json().catch(() => null));
    if (!answer.success) throw new Error('DingTalk gateway answered without an endpoint and ticket');
    const url = new URL(answer.data.endpoint);
    url.searchParams.set('ticket', answer.data.ticket);
    this.streamUrl = url.href;
    return this;
  }

  /** Opens the stream at the endpoint the last getEndpoint() returned; resolves once it is open. */
  override _connect(): Promise<void> {
    const url = this.streamUrl;
    if (!url) return Promise.reject(new Error('no stream endpoint: getEndpoint() first'));
    // After disconnect() nothing is opened; a handshake already under way is aborted by disconnect() itself.
    if (this.stopped) return Promise.reject(new Error('stream client stopped'));
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { handshakeTimeout: GATEWAY_TIMEOUT_MS, maxPayload: MAX_FRAME_BYTES });
      (this as unknown as ClientInternals).socket = socket;
      let opened = false;
      socket.on('open', () => {
        opened = true;
        this.connected = true;
        heartbeat(socket, this.hooks.heartbeatMs);
        resolve();
      });
      socket.on('message', (data: WebSocket.RawData) => this.onDownStream(data.toString()));
      // ws closes the socket after an error: failures before 'open' reject, later ones end in 'close'.
      socket.on('error', (err) => {
        if (!opened) reject(err);
      });
      socket.on('close', (code) => {
        if ((this as unknown as ClientInternals).socket !== socket) return;
        this.connected = false;
        this.registered = false;
        if (opened && !this.stopped) this.hooks.onClose(code);
      });
    });
  }

  override disconnect(): void {
    this.stopped = true;
    (this as unknown as ClientInternals).socket?.close();
  }

  override onDownStream(data: string): void {
    const frame = readFrame(data);
    if (typeof frame === 'string') {
      this.hooks.onOddFrame('malformed', frame);
      return;
    }
    if (frame.type === 'SYSTEM') this.onSystem(frame);
    else if (frame.type === 'EVENT') this.onEvent(frame);
    else {
      this.socketCallBackResponse(frame.headers.messageId, {});
      // Only a subscribed topic is emitted: a topic named 'error' would make the EventEmitter throw.
      if (frame.headers.topic === TOPIC_ROBOT) this.onCallback(frame);
      else this.hooks.onOddFrame('unknown-topic', frame.headers.topic);
    }
  }
}

/** A stream frame, or what is wrong with it. */
function readFrame(data: string): (DWClientDownStream & z.infer<typeof downstreamFrame>) | string {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return 'not JSON';
  }
  const parsed = downstreamFrame.safeParse(json);
  if (!parsed.success) return 'not a stream frame: type SYSTEM, EVENT or CALLBACK with headers.topic (and headers.messageId and data unless SYSTEM)';
  return parsed.data as DWClientDownStream & z.infer<typeof downstreamFrame>;
}

/** DingTalk's error code from a failed answer, e.g. "authFailed"; never the body itself. */
async function errorCode(res: Response): Promise<string> {
  const body = (await res.json().catch(() => null)) as { code?: unknown } | null;
  return typeof body?.code === 'string' ? body.code.slice(0, 60) : res.statusText;
}
