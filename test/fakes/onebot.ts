import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';

/**
 * A fake OneBot v11 implementation (what NapCat or Lagrange are to kuakua) on 127.0.0.1. It speaks both directions:
 * a WebSocket server for forward mode (kuakua connects to `url`), and a WebSocket client that connects to kuakua's
 * reverse server (`connectReverse`). Events go out as segment arrays or CQ-code strings; actions are answered with
 * `{status, retcode, data, echo}`, and every action and sent message is recorded. Its CQ codec is its own, written from
 * the spec, so the adapter's is checked against an independent one.
 */

export interface FakeSegment {
  type: string;
  data: Record<string, string | number>;
}

export interface FakeEvent {
  time: number;
  self_id: number;
  post_type: 'message';
  message_type: 'group' | 'private';
  sub_type: string;
  message_id: number;
  user_id: number;
  group_id?: number;
  anonymous: { id: number; name: string; flag: string } | null;
  message: FakeSegment[] | string;
  raw_message: string;
  font: number;
  sender: { user_id: number; nickname: string; card?: string };
}

export interface UserMessage {
  userId: number;
  /** Segments, sent as an array or (format 'string') as a CQ string. */
  message: FakeSegment[];
  format?: 'array' | 'string';
  nickname?: string;
  /** Seconds since epoch; now by default. */
  time?: number;
  anonymous?: boolean;
}

export interface ActionCall {
  action: string;
  params: Record<string, unknown>;
  echo: unknown;
  at: number;
}

export interface SentMessage {
  action: 'send_group_msg' | 'send_private_msg';
  groupId?: number;
  userId?: number;
  /** How kuakua sent it. */
  format: 'array' | 'string';
  /** The message as segments (a CQ string decoded). */
  segments: FakeSegment[];
  messageId: number;
}

type Failure = { retcode: number } | 'no-answer';

export interface ReverseConnectOptions {
  token?: string;
  /** How the token is presented: `Authorization: Bearer` (default) or `?access_token=`. */
  tokenIn?: 'header' | 'query';
  role?: 'Universal' | 'Event' | 'API';
  /** The X-Self-ID header: its own QQ number by default, another one, or none (null). */
  selfIdHeader?: string | null;
  /** False: a half-open link, which never answers kuakua's pings. */
  answerPings?: boolean;
}

export interface FakeOneBot {
  /** The forward WebSocket server: ws://127.0.0.1:<port>. */
  url: string;
  /** The access token it requires of forward clients (and presents to reverse servers when told). */
  readonly token: string;
  /** Requires another token from now on, as after an operator changed it. */
  setToken(token: string): void;
  selfId: number;
  actions: ActionCall[];
  sent: SentMessage[];
  /** The Authorization header of each forward connection request, in order. */
  authorizations: (string | undefined)[];
  /** Forward connections accepted so far. */
  accepted(): number;
  /** Forward connections refused for a missing or wrong token. */
  refused(): number;
  /** Connections open now, both directions. */
  open(): number;
  /** The close code of every connection that closed, both directions, in order. */
  closeCodes: number[];
  groupMessage(groupId: number, m: UserMessage): FakeEvent;
  /** Makes a user a member of a group without a message (get_group_member_info); `robot` marks a bot account. */
  join(groupId: number, userId: number, nickname?: string, robot?: boolean): void;
  privateMessage(m: UserMessage): FakeEvent;
  /** Sends a frame as it is (any JSON value, or raw text) on every open connection that carries events (or the next one to open). */
  emit(frame: unknown): void;
  emitRaw(text: string): void;
  /** The next `count` calls of `action` fail with the retcode, or get no answer at all. */
  failNext(action: string, count: number, failure: Failure): void;
  /** Closes every connection abruptly, as a crashing implementation would. */
  dropConnections(): void;
  /** Whether forward connections answer kuakua's pings (true at first); false makes every one of them half-open. */
  answerPings(on: boolean): void;
  /** Pings received on forward connections so far, answered or not. */
  pings(): number;
  /** Answers forward connection requests with this HTTP status while set (e.g. 503, as an implementation still starting); undefined accepts them again. */
  refuseConnections(status: number | undefined): void;
  /** Connects to kuakua's reverse server; rejects with the HTTP status when refused. */
  connectReverse(url: string, opts?: ReverseConnectOptions): Promise<void>;
  close(): Promise<void>;
}

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/\[/g, '&#91;').replace(/\]/g, '&#93;');
const escapeParam = (s: string) => escapeText(s).replace(/,/g, '&#44;');
const unescapeText = (s: string) => s.replace(/&#44;/g, ',').replace(/&#91;/g, '[').replace(/&#93;/g, ']').replace(/&amp;/g, '&');

export function encodeCq(segments: FakeSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (s.type === 'text') out += escapeText(String(s.data.text));
    else
      out += `[CQ:${s.type}${Object.entries(s.data)
        .map(([k, v]) => `,${k}=${escapeParam(String(v))}`)
        .join('')}]`;
  }
  return out;
}

export function decodeCq(text: string): FakeSegment[] {
  const segments: FakeSegment[] = [];
  const re = /\[CQ:([a-z_]+)([^\]]*)\]/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) segments.push({ type: 'text', data: { text: unescapeText(text.slice(last, m.index)) } });
    const data: Record<string, string> = {};
    for (const kv of m[2]!.split(',').filter(Boolean)) {
      const [k, ...v] = kv.split('=');
      data[k!] = unescapeText(v.join('='));
    }
    segments.push({ type: m[1]!, data });
    last = re.lastIndex;
  }
  if (last < text.length) segments.push({ type: 'text', data: { text: unescapeText(text.slice(last)) } });
  return segments;
}

function tokenOf(req: IncomingMessage): string | undefined {
  const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  return auth ?? new URL(req.url ?? '/', 'http://x').searchParams.get('access_token') ?? undefined;
}

export async function startFakeOneBot(opts: { token?: string; selfId?: number } = {}): Promise<FakeOneBot> {
  let token = opts.token ?? 'onebot-fake-access-token-7c1e';
  const selfId = opts.selfId ?? 2_854_196_310;
  const sockets = new Set<WebSocket>();
  const actions: ActionCall[] = [];
  const sent: SentMessage[] = [];
  const authorizations: (string | undefined)[] = [];
  const closeCodes: number[] = [];
  const failures = new Map<string, { count: number; failure: Failure }>();
  let accepted = 0;
  let refused = 0;
  let pongs = true;
  let pings = 0;
  let unavailable: number | undefined;
  let nextMessageId = 10_000;

  const now = () => Math.floor(Date.now() / 1000);
  /** Frames emitted while no connection was open: sent the moment the next one opens, right behind the handshake. */
  const backlog: string[] = [];
  /** Connections that carry events: not the reverse API-role ones. */
  const eventSockets = new Set<WebSocket>();
  const broadcast = (text: string) => {
    const open = [...eventSockets].filter((ws) => ws.readyState === WebSocket.OPEN);
    if (open.length === 0) backlog.push(text);
    for (const ws of open) ws.send(text);
  };

  const answer = (ws: WebSocket, call: ActionCall) => {
    const reply = (body: Record<string, unknown>) => ws.send(JSON.stringify({ ...body, echo: call.echo }));
    const failure = failures.get(call.action);
    if (failure && failure.count > 0) {
      failure.count--;
      if (failure.failure === 'no-answer') return;
      return reply({ status: 'failed', retcode: failure.failure.retcode, data: null, message: 'fake failure', wording: 'fake failure' });
    }
    if (call.action === 'send_group_msg' || call.action === 'send_private_msg') {
      const message = call.params.message;
      const format = typeof message === 'string' ? 'string' : 'array';
      const segments = typeof message === 'string' ? decodeCq(message) : (message as FakeSegment[]);
      const messageId = nextMessageId++;
      sent.push({
        action: call.action,
        groupId: call.params.group_id as number | undefined,
        userId: call.params.user_id as number | undefined,
        format,
        segments,
        messageId,
      });
      return reply({ status: 'ok', retcode: 0, data: { message_id: messageId } });
    }
    if (call.action === 'get_login_info') return reply({ status: 'ok', retcode: 0, data: { user_id: selfId, nickname: 'kuakua' } });
    if (call.action === 'get_group_member_info') {
      const member = members.get(Number(call.params.group_id))?.get(Number(call.params.user_id));
      if (!member) return reply({ status: 'failed', retcode: 100, data: null, message: '群员不存在', wording: '群员不存在' });
      return reply({ status: 'ok', retcode: 0, data: { group_id: Number(call.params.group_id), ...member, role: 'member' } });
    }
    if (call.action === 'get_msg') {
      const event = received.get(Number(call.params.message_id));
      if (!event) return reply({ status: 'failed', retcode: 100, data: null, message: '消息不存在', wording: '消息不存在' });
      return reply({
        status: 'ok',
        retcode: 0,
        data: { message_id: event.message_id, time: event.time, message_type: event.message_type, sender: event.sender, message: event.message },
      });
    }
    reply({ status: 'failed', retcode: 1404, data: null, message: 'unsupported action' });
  };

  /** Serves a connection; one that carries only actions (reverse role API) gets no events, as in real implementations. */
  const serve = (ws: WebSocket, events = true) => {
    sockets.add(ws);
    if (events) eventSockets.add(ws);
    ws.on('close', (code) => {
      sockets.delete(ws);
      eventSockets.delete(ws);
      closeCodes.push(code);
    });
    ws.on('error', () => {});
    ws.on('message', (data) => {
      let frame: { action?: unknown; params?: unknown; echo?: unknown };
      try {
        frame = JSON.parse(data.toString()) as typeof frame;
      } catch {
        return ws.send(JSON.stringify({ status: 'failed', retcode: 1400, data: null, echo: null }));
      }
      const call: ActionCall = { action: String(frame.action), params: (frame.params ?? {}) as Record<string, unknown>, echo: frame.echo, at: Date.now() };
      actions.push(call);
      answer(ws, call);
    });
    if (!events) return;
    ws.send(JSON.stringify({ time: now(), self_id: selfId, post_type: 'meta_event', meta_event_type: 'lifecycle', sub_type: 'connect' }));
    for (const text of backlog.splice(0)) ws.send(text);
  };

  // Pongs by hand, so that a test can stop them.
  const wss = new WebSocketServer({ noServer: true, autoPong: false });
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    authorizations.push(req.headers.authorization);
    if (unavailable !== undefined) {
      socket.end(`HTTP/1.1 ${unavailable} Unavailable\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    if (tokenOf(req) !== token) {
      refused++;
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    accepted++;
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('ping', (data) => {
        pings++;
        if (pongs) ws.pong(data);
      });
      serve(ws);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  /** group id → its members by QQ number (everyone who wrote in it, and whoever `join` adds). */
  const members = new Map<number, Map<number, { user_id: number; nickname: string; card: string; is_robot?: boolean }>>();
  const join = (groupId: number, userId: number, nickname = `user${userId}`, robot = false) => {
    if (!members.has(groupId)) members.set(groupId, new Map());
    members.get(groupId)!.set(userId, { user_id: userId, nickname, card: '', ...(robot && { is_robot: true }) });
  };
  /** Every message event sent, by id (get_msg). */
  const received = new Map<number, FakeEvent>();

  const message = (type: 'group' | 'private', groupId: number | undefined, m: UserMessage): FakeEvent => {
    if (groupId !== undefined && !m.anonymous) join(groupId, m.userId, m.nickname);
    const raw = encodeCq(m.message);
    const event: FakeEvent = {
      time: m.time ?? now(),
      self_id: selfId,
      post_type: 'message',
      message_type: type,
      sub_type: type === 'private' ? 'friend' : m.anonymous ? 'anonymous' : 'normal',
      message_id: nextMessageId++,
      user_id: m.anonymous ? 80_000_000 : m.userId,
      ...(groupId !== undefined ? { group_id: groupId } : {}),
      anonymous: m.anonymous ? { id: 1, name: '匿名者', flag: 'anon-flag' } : null,
      message: m.format === 'string' ? raw : m.message,
      raw_message: raw,
      font: 0,
      sender: { user_id: m.userId, nickname: m.nickname ?? `user${m.userId}`, card: '' },
    };
    received.set(event.message_id as number, event);
    broadcast(JSON.stringify(event));
    return event;
  };

  return {
    url: `ws://127.0.0.1:${port}`,
    get token() {
      return token;
    },
    setToken(next) {
      token = next;
    },
    selfId,
    actions,
    sent,
    authorizations,
    accepted: () => accepted,
    refused: () => refused,
    open: () => [...sockets].filter((ws) => ws.readyState === WebSocket.OPEN).length,
    closeCodes,
    groupMessage: (groupId, m) => message('group', groupId, m),
    join,
    privateMessage: (m) => message('private', undefined, m),
    emit: (frame) => broadcast(JSON.stringify(frame)),
    emitRaw: broadcast,
    failNext(action, count, failure) {
      failures.set(action, { count, failure });
    },
    dropConnections() {
      for (const ws of sockets) ws.terminate();
    },
    answerPings(on) {
      pongs = on;
    },
    pings: () => pings,
    refuseConnections(status) {
      unavailable = status;
    },
    connectReverse(url, { token: presented, tokenIn = 'header', role = 'Universal', selfIdHeader = String(selfId), answerPings = true } = {}) {
      const target = presented && tokenIn === 'query' ? `${url}?access_token=${encodeURIComponent(presented)}` : url;
      const headers: Record<string, string> = { 'X-Client-Role': role, 'User-Agent': 'OneBot/11' };
      if (selfIdHeader !== null) headers['X-Self-ID'] = selfIdHeader;
      if (presented && tokenIn === 'header') headers.Authorization = `Bearer ${presented}`;
      const ws = new WebSocket(target, { headers, autoPong: answerPings });
      return new Promise<void>((resolve, reject) => {
        ws.once('unexpected-response', (_req, res) => {
          ws.terminate();
          reject(Object.assign(new Error(`refused with ${res.statusCode}`), { status: res.statusCode }));
        });
        ws.once('error', reject);
        ws.once('open', () => {
          serve(ws, role !== 'API');
          resolve();
        });
      });
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
