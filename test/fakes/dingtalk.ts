import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage as HttpRequest, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { waitFor } from '../helpers/wait.ts';

/**
 * A fake DingTalk on 127.0.0.1 speaking Stream mode as the official SDK does: `POST /v1.0/gateway/connections/open`
 * checks clientId/clientSecret (401 authFailed otherwise) and answers `{ endpoint, ticket }`; the WebSocket at
 * `endpoint?ticket=` (each ticket good once) pushes `{ specVersion, type, headers, data }` frames and records what the
 * client sends back (acks `{ code, headers: { messageId }, message, data }`, ping echoes). Session webhooks
 * (`POST /robot/sendBySession?session=…`) record each reply and answer `{ errcode: 0 }`, refusing (HTTP 200 with an
 * errcode, as DingTalk answers) what DingTalk refuses: a session it did not issue or that has expired (300001), a body
 * that is not JSON in `application/json` (40035, 43004), a `msgtype` other than text or markdown (400105), and a text
 * or markdown message without its content (40035). DingTalk publishes no code for text over its length limit (20 000
 * bytes, see adapters/dingtalk/index.ts): the fake refuses it with 40035 too. Where DingTalk's errmsg is not known, the
 * fake's own names the problem.
 */

/** The most UTF-8 bytes a text message's content may have. */
export const DINGTALK_TEXT_LIMIT_BYTES = 20_000;
/** How long DingTalk keeps a session webhook (about 1.5 hours). */
const SESSION_MS = 90 * 60_000;

/** What a session webhook answers: `{ errcode: 0, errmsg: 'ok' }` or a refusal. */
export interface FakeWebhookAnswer {
  errcode: number;
  errmsg: string;
}

export interface FakeRobotMessage {
  msgId: string;
  msgtype: string;
  conversationId: string;
  conversationType: '1' | '2';
  conversationTitle?: string;
  senderId: string;
  senderStaffId?: string;
  senderNick: string;
  chatbotUserId: string;
  chatbotCorpId: string;
  robotCode: string;
  isInAtList?: boolean;
  isAdmin: boolean;
  sessionWebhook: string;
  sessionWebhookExpiredTime: number;
  createAt: number;
  senderCorpId: string;
  text?: { content: string };
  atUsers?: { dingtalkId: string; staffId?: string }[];
}

export interface FakeFrame {
  specVersion: string;
  type: string;
  headers: Record<string, string>;
  data: string;
}

/** A reply posted to a session webhook. */
export interface FakeReply {
  session: string;
  body: { msgtype?: string; text?: { content?: string }; markdown?: { title?: string; text?: string }; at?: { atUserIds?: string[] } };
}

export interface FakeAck {
  code: number;
  headers: { contentType?: string; messageId?: string; [k: string]: unknown };
  message: string;
  data?: string;
}

export interface FakeDingtalk {
  gatewayUrl: string;
  /** Origin of the session webhooks, for `dingtalk.webhookOrigins`. */
  origin: string;
  clientId: string;
  clientSecret: string;
  /** The robot's own (encrypted) user id. */
  robotId: string;
  /** Bodies the client posted to the gateway. */
  opens: { clientId?: string; clientSecret?: string; subscriptions?: { type: string; topic: string }[] }[];
  /** Stream connections accepted so far. */
  connections: number;
  /** The close code of each stream connection that ended, in order (1009: the client refused a frame as too big). */
  closeCodes: number[];
  connected(): boolean;
  /** Frames the client sent up the stream, parsed. */
  received: FakeAck[];
  replies: FakeReply[];
  /**
   * Pushes a robot message callback. Group messages are @-mentions unless `isInAtList: false` is given; private chats
   * are not. Returns the frame (to send again: a redelivery) and the message. Queued while no connection is open.
   */
  robotMessage(m: { text?: string; group?: boolean; conversationId?: string; staffId?: string | null; over?: Partial<FakeRobotMessage> }): {
    frame: FakeFrame;
    message: FakeRobotMessage;
    session: string;
  };
  /** Pushes a frame as it is (or a raw string). */
  push(frame: FakeFrame | string): void;
  /** A SYSTEM ping; resolves once the client echoes it. */
  ping(): Promise<FakeAck>;
  acksFor(messageId: string): FakeAck[];
  repliesTo(session: string): FakeReply[];
  /** A new session webhook URL (as DingTalk makes one per conversation), good until `expiresAt`. */
  webhook(expiresAt?: number): { url: string; session: string };
  /** Cuts the stream connection without a close frame. */
  drop(): void;
  /** The current connection stops answering pings, as a half-open TCP connection would. */
  silence(): void;
  /** Holds the answers to connection opens (each is recorded in `opens` on arrival) until `release` is called. */
  holdOpens(): { release(): void };
  /** Once `after` replies to `session` have been accepted, the next one is refused (errcode 130101), once. */
  refuseReply(session: string, after: number): void;
  /** Answers the next `count` connection opens with 503. */
  failOpens(count: number): void;
  /** From now on the gateway rejects the client secret (401 authFailed), as after a secret reset in the console. */
  revokeSecret(): void;
  close(): Promise<void>;
}

export async function startFakeDingtalk(): Promise<FakeDingtalk> {
  const clientId = `ding${randomBytes(8).toString('hex')}`;
  const clientSecret = `fake-dingtalk-secret-${randomBytes(16).toString('hex')}`;
  const robotId = `$:LWCP_v1:$${randomBytes(12).toString('base64')}`;
  const corpId = `ding${randomBytes(6).toString('hex')}`;
  const tickets = new Set<string>();
  const opens: FakeDingtalk['opens'] = [];
  const received: FakeAck[] = [];
  const closeCodes: number[] = [];
  const replies: FakeReply[] = [];
  const backlog: string[] = [];
  const sockets = new Set<Socket>();
  let current: WebSocket | undefined;
  let connections = 0;
  let counter = 0;
  let failing = 0;
  let revoked = false;
  let openGate: Promise<void> | undefined;
  const refusals = new Map<string, number>();
  /** The sessions issued, with when each expires. */
  const sessions = new Map<string, number>();

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const readBody = async (req: HttpRequest) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  /** Why DingTalk would refuse to post `raw` to `session`, or undefined when it would post it. */
  const refusal = (session: string, contentType: string | undefined, raw: string): FakeWebhookAnswer | undefined => {
    const expiresAt = sessions.get(session);
    if (expiresAt === undefined || expiresAt <= Date.now()) return { errcode: 300001, errmsg: 'session 不存在' };
    if (!/^application\/json\b/i.test(contentType ?? '')) return { errcode: 43004, errmsg: '无效的HTTP HEADER Content-Type' };
    let body: FakeReply['body'];
    try {
      body = JSON.parse(raw) as FakeReply['body'];
    } catch {
      return { errcode: 40035, errmsg: '缺少参数 json' };
    }
    const filled = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
    if (body?.msgtype === 'text') {
      const content = body.text?.content;
      if (!filled(content)) return { errcode: 40035, errmsg: '缺少参数 text.content' };
      if (Buffer.byteLength(content) > DINGTALK_TEXT_LIMIT_BYTES) return { errcode: 40035, errmsg: `text.content 超过 ${DINGTALK_TEXT_LIMIT_BYTES} 字节` };
      return undefined;
    }
    if (body?.msgtype === 'markdown') {
      return filled(body.markdown?.title) && filled(body.markdown?.text) ? undefined : { errcode: 40035, errmsg: '缺少参数 markdown' };
    }
    return { errcode: 400105, errmsg: '不支持的消息类型' };
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    if (req.method === 'POST' && url.pathname === '/v1.0/gateway/connections/open') {
      const open = JSON.parse(body) as FakeDingtalk['opens'][number];
      opens.push(open);
      await openGate;
      if (failing > 0) {
        failing--;
        return json(res, 503, { code: 'ServiceUnavailable', message: 'busy' });
      }
      if (revoked || open.clientId !== clientId || open.clientSecret !== clientSecret) {
        return json(res, 401, { requestid: randomUUID(), code: 'authFailed', message: '鉴权失败' });
      }
      const ticket = randomUUID();
      tickets.add(ticket);
      return json(res, 200, { endpoint: `ws://127.0.0.1:${port}/connect`, ticket });
    }
    if (req.method === 'POST' && url.pathname === '/robot/sendBySession') {
      const session = url.searchParams.get('session') ?? '';
      const refused = refusal(session, req.headers['content-type'], body);
      if (refused) return json(res, 200, refused);
      if (refusals.get(session) === replies.filter((r) => r.session === session).length) {
        refusals.delete(session);
        return json(res, 200, { errcode: 130101, errmsg: 'send too fast' });
      }
      replies.push({ session, body: JSON.parse(body) as FakeReply['body'] });
      return json(res, 200, { errcode: 0, errmsg: 'ok' });
    }
    json(res, 404, { code: 'NotFound' });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const wss = new WebSocketServer({ noServer: true, autoPong: false });
  const silenced = new WeakSet<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ticket = url.searchParams.get('ticket') ?? '';
    if (url.pathname !== '/connect' || !tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      connections++;
      current = ws;
      ws.on('message', (raw) => {
        try {
          received.push(JSON.parse(String(raw)) as FakeAck);
        } catch {
          received.push({ code: -1, headers: {}, message: String(raw) });
        }
      });
      ws.on('ping', (data) => {
        if (!silenced.has(ws)) ws.pong(data);
      });
      ws.on('close', (code) => {
        closeCodes.push(code);
        if (current === ws) current = undefined;
      });
      for (const frame of backlog.splice(0)) ws.send(frame);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const origin = `http://127.0.0.1:${port}`;

  const push = (frame: FakeFrame | string) => {
    const raw = typeof frame === 'string' ? frame : JSON.stringify(frame);
    if (current && current.readyState === current.OPEN) current.send(raw);
    else backlog.push(raw);
  };
  const webhook = (expiresAt = Date.now() + SESSION_MS) => {
    const session = randomBytes(12).toString('hex');
    sessions.set(session, expiresAt);
    return { url: `${origin}/robot/sendBySession?session=${session}`, session };
  };

  return {
    gatewayUrl: `${origin}/v1.0/gateway/connections/open`,
    origin,
    clientId,
    clientSecret,
    robotId,
    opens,
    get connections() {
      return connections;
    },
    connected: () => current !== undefined && current.readyState === current.OPEN,
    closeCodes,
    received,
    replies,
    robotMessage({ text = '求夸', group = true, conversationId, staffId, over = {} }) {
      const n = ++counter;
      const expiresAt = over.sessionWebhookExpiredTime ?? Date.now() + SESSION_MS;
      const hook = webhook(expiresAt);
      const message: FakeRobotMessage = {
        msgId: `msg${n}${randomBytes(6).toString('hex')}`,
        msgtype: 'text',
        conversationId: conversationId ?? `cid${randomBytes(8).toString('hex')}`,
        conversationType: group ? '2' : '1',
        ...(group ? { conversationTitle: '夸夸群', isInAtList: true } : {}),
        senderId: `$:LWCP_v1:$sender${n}`,
        ...(staffId === null ? {} : { senderStaffId: staffId ?? `staff${n}` }),
        senderNick: `用户${n}`,
        chatbotUserId: robotId,
        chatbotCorpId: corpId,
        robotCode: clientId,
        isAdmin: false,
        sessionWebhook: hook.url,
        sessionWebhookExpiredTime: expiresAt,
        createAt: Date.now(),
        senderCorpId: corpId,
        text: { content: text },
        ...over,
      };
      const frame: FakeFrame = {
        specVersion: '1.0',
        type: 'CALLBACK',
        headers: {
          appId: randomUUID(),
          connectionId: randomUUID(),
          contentType: 'application/json',
          messageId: randomUUID(),
          time: String(Date.now()),
          topic: '/v1.0/im/bot/messages/get',
        },
        data: JSON.stringify(message),
      };
      push(frame);
      return { frame, message, session: new URL(message.sessionWebhook, origin).searchParams.get('session') ?? hook.session };
    },
    push,
    async ping() {
      const messageId = randomUUID();
      const data = JSON.stringify({ opaque: messageId });
      push({ specVersion: '1.0', type: 'SYSTEM', headers: { contentType: 'application/json', messageId, time: String(Date.now()), topic: 'ping' }, data });
      return waitFor(() => received.find((r) => r.headers?.messageId === messageId), 'the echo of the SYSTEM ping', 10_000);
    },
    acksFor: (messageId) => received.filter((r) => r.headers?.messageId === messageId),
    repliesTo: (session) => replies.filter((r) => r.session === session),
    webhook,
    drop() {
      current?.terminate();
      current = undefined;
    },
    silence() {
      if (current) silenced.add(current);
    },
    holdOpens() {
      let release = () => {};
      openGate = new Promise((resolve) => (release = resolve));
      return {
        release() {
          openGate = undefined;
          release();
        },
      };
    },
    refuseReply(session, after) {
      refusals.set(session, after);
    },
    failOpens(count) {
      failing = count;
    },
    revokeSecret() {
      revoked = true;
    },
    async close() {
      for (const ws of wss.clients) ws.terminate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => wss.close(() => server.close(() => resolve())));
    },
  };
}
