import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage as HttpRequest, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A fake Feishu open platform on 127.0.0.1, speaking what @larksuiteoapi/node-sdk speaks:
 * - `POST /open-apis/auth/v3/tenant_access_token/internal` (app id + secret → tenant token, 400 code 10014 otherwise),
 * - `GET /open-apis/bot/v3/info` (the bot's open_id), `POST /open-apis/im/v1/messages/:id/reply` (recorded; uuid dedupe),
 * - `POST /callback/ws/endpoint` (long connection discovery: a ws URL with a one-time ticket and the client config),
 * - the long connection itself: protobuf "pbbp2" frames (encoded here by hand, independently of the SDK), pings
 *   answered with pongs, events pushed as data frames (split into fragments when large) and the client's acks recorded,
 * - callbacks posted to an HTTP endpoint in callback mode, signed and AES-encrypted as Feishu does.
 */

export interface FakeFeishuUser {
  openId: string;
  name: string;
}

export interface FakeReply {
  /** The message replied to. */
  parentId: string;
  messageId: string;
  msgType: string;
  text: string;
  uuid?: string;
}

export interface FakeMessageInput {
  from: FakeFeishuUser;
  /** Message text; the n-th entry of `mentions` is written in it as "@_user_n". */
  text?: string;
  mentions?: FakeFeishuUser[];
  chatId?: string;
  p2p?: boolean;
  parentId?: string;
  senderType?: 'user' | 'app';
  messageType?: string;
  /** Raw content instead of `{"text": text}`. */
  content?: string;
  eventId?: string;
}

export interface FakeEnvelope {
  schema: '2.0';
  header: Record<string, string>;
  event: { sender: Record<string, unknown>; message: Record<string, unknown> & { message_id: string } };
}

export interface FakeFrame {
  SeqID: number;
  LogID: number;
  service: number;
  method: number;
  headers: { key: string; value: string }[];
  payload?: Buffer;
}

export interface FakeFeishu {
  /** Base URL to give the SDK as its domain. */
  domain: string;
  appId: string;
  appSecret: string;
  /** The token put in every event header. */
  verificationToken: string;
  bot: FakeFeishuUser;
  groupChatId: string;
  replies: FakeReply[];
  /** Requests to the token endpoint, with the app id they named. */
  tokenRequests: { appId: unknown; accepted: boolean }[];
  endpointRequests: number;
  /** Long connections accepted so far. */
  connections: number;
  /** Acks received, by the frame's message_id header: the JSON payload the client answered with. */
  acks: Map<string, { code?: number }>;
  user(name?: string): FakeFeishuUser;
  /** An `im.message.receive_v1` envelope for a message (not sent). */
  envelope(m: FakeMessageInput): FakeEnvelope;
  /** Pushes a message event over the long connection; returns the envelope sent. */
  message(m: FakeMessageInput): FakeEnvelope;
  /** Makes a person a member of a chat without a message (everyone who wrote in one is a member of it). */
  join(chatId: string, user: FakeFeishuUser): void;
  /** Pushes any JSON payload as an event data frame; returns the frame's message_id (what the ack names). */
  pushEvent(payload: unknown): string;
  /** Pushes a frame built by the test (bytes as given, e.g. garbage). */
  pushRaw(bytes: Buffer): void;
  /** Posts an envelope to a callback URL as Feishu does; `tamper` breaks one part of it; `timestamp` and `nonce` replace the fresh ones. */
  postCallback(
    url: string,
    payload: unknown,
    auth: { verificationToken: string; encryptKey?: string; tamper?: 'signature' | 'plain'; timestamp?: string; nonce?: string },
  ): Promise<{ status: number; body: string }>;
  /**
   * Whether a client holds the long connection and has pinged on it. The SDK attaches its frame listener a few
   * microtasks after the socket opened, so a frame that arrives in the same read as the handshake answer is lost to
   * it; its first ping, sent on open, shows it is listening.
   */
  connected(): boolean;
  /** Cuts the long connection without a close frame; refuses discovery and new connections for `ms`. */
  dropConnection(ms?: number): void;
  /** Answers the next `count` replies with 429 and code 99991400 (frequency limit). */
  rateLimitReplies(count: number): void;
  close(): Promise<void>;
}

// --- protobuf, by hand: the pbbp2.Frame and pbbp2.Header messages ----------------------------------------------------

const varint = (value: number): Buffer => {
  const out: number[] = [];
  let v = BigInt(value);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
};
const key = (field: number, wire: 0 | 2) => varint((field << 3) | wire);
const numberField = (field: number, v: number) => Buffer.concat([key(field, 0), varint(v)]);
const bytesField = (field: number, b: Buffer) => Buffer.concat([key(field, 2), varint(b.length), b]);
const textField = (field: number, s: string) => bytesField(field, Buffer.from(s, 'utf8'));

export function encodeFrame(f: FakeFrame): Buffer {
  return Buffer.concat([
    numberField(1, f.SeqID),
    numberField(2, f.LogID),
    numberField(3, f.service),
    numberField(4, f.method),
    ...f.headers.map((h) => bytesField(5, Buffer.concat([textField(1, h.key), textField(2, h.value)]))),
    ...(f.payload ? [bytesField(8, f.payload)] : []),
  ]);
}

function readFields(buf: Buffer): [number, number | Buffer][] {
  const fields: [number, number | Buffer][] = [];
  let pos = 0;
  const readVarint = () => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const byte = buf[pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return Number(result);
    }
  };
  while (pos < buf.length) {
    const tag = readVarint();
    const wire = tag & 7;
    if (wire === 0) fields.push([tag >>> 3, readVarint()]);
    else if (wire === 2) {
      const len = readVarint();
      if (pos + len > buf.length) throw new Error('truncated field');
      fields.push([tag >>> 3, buf.subarray(pos, pos + len)]);
      pos += len;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return fields;
}

export function decodeFrame(buf: Buffer): FakeFrame {
  const frame: FakeFrame = { SeqID: 0, LogID: 0, service: 0, method: 0, headers: [] };
  for (const [field, v] of readFields(buf)) {
    if (field === 1) frame.SeqID = v as number;
    else if (field === 2) frame.LogID = v as number;
    else if (field === 3) frame.service = v as number;
    else if (field === 4) frame.method = v as number;
    else if (field === 5) {
      const h = { key: '', value: '' };
      for (const [hf, hv] of readFields(v as Buffer)) {
        if (hf === 1) h.key = (hv as Buffer).toString('utf8');
        else if (hf === 2) h.value = (hv as Buffer).toString('utf8');
      }
      frame.headers.push(h);
    } else if (field === 8) frame.payload = Buffer.from(v as Buffer);
  }
  return frame;
}

const FRAME_CONTROL = 0;
const FRAME_DATA = 1;
/** Events larger than this go out in several fragments (headers sum/seq), which the SDK merges. */
const FRAGMENT_BYTES = 64 * 1024;
/** Feishu refuses text message bodies over 150 KB. */
const MAX_TEXT_BODY = 150 * 1024;

/** AES-256-CBC with sha256(encrypt key), a random IV in front, base64: Feishu's encrypted callback body. */
export function encryptCallback(encryptKey: string, plain: string): string {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', createHash('sha256').update(encryptKey).digest(), iv);
  return Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final()]).toString('base64');
}

export async function startFakeFeishu(
  opts: {
    verificationToken?: string;
    pingIntervalS?: number;
    reconnectIntervalS?: number;
    reconnectCount?: number;
    /** Endpoint discovery requests are taken and never answered (until close), as by a gateway that hangs. */
    stallDiscovery?: boolean;
  } = {},
): Promise<FakeFeishu> {
  const appId = `cli_${randomBytes(8).toString('hex')}`;
  const appSecret = `secret-${randomBytes(16).toString('hex')}`;
  const verificationToken = opts.verificationToken ?? `vt-${randomBytes(8).toString('hex')}`;
  const clientConfig = {
    PingInterval: opts.pingIntervalS ?? 1,
    ReconnectCount: opts.reconnectCount ?? -1,
    ReconnectInterval: opts.reconnectIntervalS ?? 1,
    ReconnectNonce: 0,
  };
  const serviceId = 33554678;
  let counter = 0;
  const id = (prefix: string) => `${prefix}_${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(4).toString('hex')}`;
  const mkUser = (name: string): FakeFeishuUser => ({ openId: id('ou'), name });
  const bot = mkUser('kuakua');
  const groupChatId = id('oc');
  const tokens = new Set<string>();
  const tickets = new Set<string>();
  const replies: FakeReply[] = [];
  const byUuid = new Map<string, string>();
  const tokenRequests: { appId: unknown; accepted: boolean }[] = [];
  const acks = new Map<string, { code?: number }>();
  const sockets = new Set<Socket>();
  let socket: WebSocket | undefined;
  /** The client on `socket` has pinged: it has processed the handshake and listens for frames. */
  let listening = false;
  let downUntil = 0;
  let rateLimited = 0;
  let seq = 0;
  const fake = { endpointRequests: 0, connections: 0 };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const authorized = (req: HttpRequest) => tokens.has((req.headers.authorization ?? '').replace(/^Bearer /, ''));
  const invalidToken = { code: 99991663, msg: 'Invalid access token for authorization. Please make a request with token attached.' };

  /** chat id → its people's open_ids (bots are never listed, as in Feishu's member list). */
  const members = new Map<string, Set<string>>();
  const join = (chatId: string, user: FakeFeishuUser) => {
    if (!members.has(chatId)) members.set(chatId, new Set());
    members.get(chatId)!.add(user.openId);
  };

  const routes: [string, RegExp, (m: RegExpExecArray, body: Record<string, unknown>, req: HttpRequest, res: ServerResponse, size: number) => void][] = [
    [
      'POST',
      /^\/open-apis\/auth\/v3\/tenant_access_token\/internal$/,
      (_m, body, _req, res) => {
        const accepted = body.app_id === appId && body.app_secret === appSecret;
        tokenRequests.push({ appId: body.app_id, accepted });
        if (!accepted) return json(res, 400, { code: 10014, msg: 'app secret invalid' });
        const token = `t-${randomBytes(20).toString('hex')}`;
        tokens.add(token);
        json(res, 200, { code: 0, msg: 'ok', tenant_access_token: token, expire: 7200 });
      },
    ],
    [
      'GET',
      /^\/open-apis\/bot\/v3\/info$/,
      (_m, _b, req, res) => {
        if (!authorized(req)) return json(res, 400, invalidToken);
        json(res, 200, { code: 0, msg: 'ok', bot: { activate_status: 2, app_name: bot.name, avatar_url: '', ip_white_list: [], open_id: bot.openId } });
      },
    ],
    [
      'POST',
      /^\/open-apis\/im\/v1\/messages\/([^/]+)\/reply$/,
      (m, body, req, res, size) => {
        if (!authorized(req)) return json(res, 400, invalidToken);
        if (rateLimited > 0) {
          rateLimited--;
          return json(res, 429, { code: 99991400, msg: 'request trigger frequency limit' });
        }
        if (size > MAX_TEXT_BODY) return json(res, 400, { code: 230025, msg: 'The length of the message content reaches its limit.' });
        const msgType = String(body.msg_type ?? '');
        let text: unknown;
        try {
          text = (JSON.parse(String(body.content)) as { text?: unknown }).text;
        } catch {
          text = undefined;
        }
        if (msgType !== 'text' || typeof text !== 'string' || text.length === 0) return json(res, 400, { code: 230001, msg: 'invalid message content' });
        const uuid = typeof body.uuid === 'string' ? body.uuid : undefined;
        const existing = uuid ? byUuid.get(uuid) : undefined;
        const messageId = existing ?? id('om');
        if (!existing) {
          if (uuid) byUuid.set(uuid, messageId);
          replies.push({ parentId: m[1]!, messageId, msgType, text, uuid });
        }
        json(res, 200, {
          code: 0,
          msg: 'success',
          data: {
            message_id: messageId,
            parent_id: m[1],
            msg_type: 'text',
            body: { content: body.content },
            sender: { id: appId, id_type: 'app_id', sender_type: 'app' },
          },
        });
      },
    ],
    [
      'GET',
      /^\/open-apis\/im\/v1\/chats\/([^/]+)\/members$/,
      (m, _b, req, res) => {
        if (!authorized(req)) return json(res, 400, invalidToken);
        const items = [...(members.get(decodeURIComponent(m[1]!)) ?? [])].map((openId) => ({
          member_id_type: 'open_id',
          member_id: openId,
          name: '',
          tenant_key: 'tenant',
        }));
        json(res, 200, { code: 0, msg: 'success', data: { items, has_more: false, page_token: '', member_total: items.length } });
      },
    ],
    [
      'POST',
      /^\/callback\/ws\/endpoint$/,
      (_m, body, _req, res) => {
        fake.endpointRequests++;
        if (opts.stallDiscovery) return;
        if (Date.now() < downUntil) return json(res, 503, { code: 1, msg: 'system busy' });
        if (body.AppID !== appId || body.AppSecret !== appSecret) return json(res, 200, { code: 514, msg: 'auth failed', data: {} });
        const ticket = randomBytes(12).toString('hex');
        tickets.add(ticket);
        const URL = `ws://127.0.0.1:${port}/ws/v2?fpid=493&aid=552564&device_id=${id('dev')}&access_key=${randomBytes(8).toString('hex')}&service_id=${serviceId}&ticket=${ticket}`;
        json(res, 200, { code: 0, msg: 'ok', data: { URL, ClientConfig: clientConfig } });
      },
    ],
  ];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let body: Record<string, unknown> = {};
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        } catch {
          return json(res, 400, { code: 9499, msg: 'Bad Request' });
        }
      }
      const path = (req.url ?? '').split('?')[0]!;
      for (const [method, re, handler] of routes) {
        const m = re.exec(path);
        if (m && method === req.method) return handler(m, body, req, res, raw.length);
      }
      json(res, 404, { code: 404, msg: 'not found' });
    });
  });

  const wss = new WebSocketServer({ noServer: true });
  const send = (frame: FakeFrame) => {
    if (socket?.readyState === socket?.OPEN) socket?.send(encodeFrame(frame));
  };
  wss.on('connection', (ws: WebSocket) => {
    fake.connections++;
    socket = ws;
    listening = false;
    ws.on('message', (raw: Buffer) => {
      const frame = decodeFrame(raw);
      const type = frame.headers.find((h) => h.key === 'type')?.value;
      if (frame.method === FRAME_CONTROL && type === 'ping') {
        if (ws === socket) listening = true;
        send({ ...frame, headers: [{ key: 'type', value: 'pong' }], payload: Buffer.from(JSON.stringify(clientConfig)) });
      } else if (frame.method === FRAME_DATA) {
        const messageId = frame.headers.find((h) => h.key === 'message_id')?.value ?? '';
        acks.set(messageId, JSON.parse(frame.payload?.toString('utf8') ?? '{}') as { code?: number });
      }
    });
    ws.on('close', () => {
      if (socket === ws) socket = undefined;
    });
  });
  server.on('upgrade', (req, sock, head) => {
    const ticket = new URL(req.url ?? '/', 'http://x').searchParams.get('ticket') ?? '';
    if (Date.now() < downUntil || !tickets.delete(ticket)) return sock.destroy();
    wss.handleUpgrade(req, sock, head, (ws) => wss.emit('connection', ws, req));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  const pushEvent = (payload: unknown) => {
    const frameMessageId = id('msg');
    const bytes = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload), 'utf8');
    const parts = Math.max(1, Math.ceil(bytes.length / FRAGMENT_BYTES));
    const traceId = randomBytes(8).toString('hex');
    for (let i = 0; i < parts; i++) {
      seq++;
      send({
        SeqID: seq,
        LogID: seq,
        service: serviceId,
        method: FRAME_DATA,
        headers: [
          { key: 'type', value: 'event' },
          { key: 'message_id', value: frameMessageId },
          { key: 'sum', value: String(parts) },
          { key: 'seq', value: String(i) },
          { key: 'trace_id', value: traceId },
        ],
        payload: bytes.subarray(i * FRAGMENT_BYTES, (i + 1) * FRAGMENT_BYTES),
      });
    }
    return frameMessageId;
  };

  const envelope = (m: FakeMessageInput): FakeEnvelope => {
    const now = Date.now();
    const mentions = (m.mentions ?? []).map((u, i) => ({
      key: `@_user_${i + 1}`,
      id: { open_id: u.openId, union_id: id('on'), user_id: '' },
      name: u.name,
      tenant_key: 'tenant',
    }));
    return {
      schema: '2.0',
      header: {
        event_id: m.eventId ?? randomBytes(16).toString('hex'),
        token: verificationToken,
        create_time: String(now),
        event_type: 'im.message.receive_v1',
        tenant_key: 'tenant',
        app_id: appId,
      },
      event: {
        sender: { sender_id: { open_id: m.from.openId, union_id: id('on'), user_id: '' }, sender_type: m.senderType ?? 'user', tenant_key: 'tenant' },
        message: {
          message_id: id('om'),
          root_id: m.parentId ?? '',
          parent_id: m.parentId ?? '',
          create_time: String(now),
          update_time: String(now),
          chat_id: m.p2p ? `oc_p2p_${m.from.openId}` : (m.chatId ?? groupChatId),
          thread_id: '',
          chat_type: m.p2p ? 'p2p' : 'group',
          message_type: m.messageType ?? 'text',
          content: m.content ?? JSON.stringify({ text: m.text ?? '' }),
          ...(mentions.length > 0 ? { mentions } : {}),
          user_agent: 'Mozilla/5.0 Lark/7.30.0',
        },
      },
    };
  };

  return {
    domain: `http://127.0.0.1:${port}`,
    appId,
    appSecret,
    verificationToken,
    bot,
    groupChatId,
    replies,
    tokenRequests,
    get endpointRequests() {
      return fake.endpointRequests;
    },
    get connections() {
      return fake.connections;
    },
    acks,
    user: (name = 'someone') => mkUser(name),
    envelope,
    join,
    message(m) {
      if (!m.p2p && (m.senderType ?? 'user') === 'user') join(m.chatId ?? groupChatId, m.from);
      const env = envelope(m);
      pushEvent(env);
      return env;
    },
    pushEvent,
    pushRaw(bytes) {
      if (socket?.readyState === socket?.OPEN) socket?.send(bytes);
    },
    async postCallback(url, payload, auth) {
      const plain = JSON.stringify(payload);
      const encrypted = auth.encryptKey && auth.tamper !== 'plain';
      const body = encrypted ? JSON.stringify({ encrypt: encryptCallback(auth.encryptKey!, plain) }) : plain;
      const timestamp = auth.timestamp ?? String(Math.floor(Date.now() / 1000));
      const nonce = auth.nonce ?? randomBytes(8).toString('hex');
      const signature = createHash('sha256')
        .update(timestamp + nonce + (auth.encryptKey ?? '') + body)
        .digest('hex');
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-lark-request-timestamp': timestamp,
          'x-lark-request-nonce': nonce,
          'x-lark-signature': auth.tamper === 'signature' ? signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) : signature,
        },
        body,
      });
      return { status: res.status, body: await res.text() };
    },
    connected: () => listening && socket?.readyState === socket?.OPEN,
    dropConnection(ms = 0) {
      downUntil = Date.now() + ms;
      socket?.terminate();
      socket = undefined;
    },
    rateLimitReplies(count) {
      rateLimited = count;
    },
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
