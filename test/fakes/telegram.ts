import { createServer, type IncomingMessage as HttpRequest, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A fake Telegram Bot API server on 127.0.0.1: enough of getMe / getUpdates (long polling) / sendMessage for telegraf,
 * with switches for 429 answers and dropped connections. Everything the bot sends is recorded.
 */

export interface FakeUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
}

export interface FakeChat {
  id: number;
  type: 'private' | 'group' | 'supergroup';
  title?: string;
}

export interface FakeEntity {
  type: string;
  offset: number;
  length: number;
  user?: FakeUser;
}

export interface FakeMessage {
  message_id: number;
  date: number;
  chat: FakeChat;
  from?: FakeUser;
  text?: string;
  entities?: FakeEntity[];
  reply_to_message?: FakeMessage;
  reply_parameters?: { message_id: number };
}

export interface ApiCall {
  method: string;
  payload: Record<string, unknown>;
  at: number;
}

export interface UserMessage {
  chat: FakeChat;
  from: FakeUser;
  text: string;
  entities?: FakeEntity[];
  replyTo?: FakeMessage;
  date?: number;
  messageId?: number;
}

export interface FakeTelegramOptions {
  token?: string;
  botUsername?: string;
  botId?: number;
  /** Listen on this port (e.g. one an adapter has been failing to reach); a free one by default. */
  port?: number;
}

export interface FakeTelegram {
  apiRoot: string;
  token: string;
  bot: FakeUser;
  /** Every successful sendMessage, as the resulting message (with the reply_parameters that were asked for). */
  sent: FakeMessage[];
  calls: ApiCall[];
  /** Queue a user message as an update for getUpdates; returns the message (with its id). */
  userMessage(m: UserMessage): FakeMessage;
  /** Makes `user` a member of `chat` without a message (everyone who sent one in it is a member already). */
  join(chat: FakeChat, user: FakeUser): void;
  /** The same update without queueing it, for posting to a webhook; the message is `update.message`. */
  makeUpdate(m: UserMessage): { update_id: number; message: FakeMessage };
  /** Answer the next `count` calls of `method` with 429 and the given retry_after (seconds). */
  rateLimit(method: string, count: number, retryAfter: number): void;
  /** Answer the next `count` calls of `method` with an error, e.g. 409 Conflict for getUpdates. */
  failNext(method: string, count: number, code: number, description: string): void;
  /** Destroy every open connection, and refuse new ones for `ms` milliseconds (a network outage). */
  dropConnections(ms?: number): void;
  /** Number of getUpdates requests that started after the given time. */
  pollsSince(t: number): number;
  close(): Promise<void>;
}

interface Waiter {
  offset: number;
  limit: number;
  res: ServerResponse;
  timer: NodeJS.Timeout;
}

export async function startFakeTelegram(opts: FakeTelegramOptions = {}): Promise<FakeTelegram> {
  const token = opts.token ?? '123456:TEST-fake-telegram-token';
  const bot: FakeUser = { id: opts.botId ?? 123456, is_bot: true, first_name: 'Kuakua', username: opts.botUsername ?? 'kuakua_test_bot' };
  const updates: { update_id: number; message: FakeMessage }[] = [];
  const waiters = new Set<Waiter>();
  const sockets = new Set<Socket>();
  const failures = new Map<string, { count: number; code: number; description: string; retryAfter?: number }>();
  const sent: FakeMessage[] = [];
  const calls: ApiCall[] = [];
  let nextUpdateId = 1;
  let nextMessageId = 1000;
  let downUntil = 0;

  const json = (res: ServerResponse, status: number, body: unknown) => {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const pending = (offset: number, limit: number) => updates.filter((u) => u.update_id >= offset).slice(0, limit);

  const flushWaiters = () => {
    for (const w of [...waiters]) {
      const batch = pending(w.offset, w.limit);
      if (batch.length === 0) continue;
      clearTimeout(w.timer);
      waiters.delete(w);
      json(w.res, 200, { ok: true, result: batch });
    }
  };

  /** chat id → the members' users by id. */
  const members = new Map<number, Map<number, FakeUser>>();
  const join = (chat: FakeChat, user: FakeUser) => {
    if (!members.has(chat.id)) members.set(chat.id, new Map());
    members.get(chat.id)!.set(user.id, user);
  };

  const methods: Record<string, (p: Record<string, unknown>, res: ServerResponse) => void> = {
    getChatMember: (p, res) => {
      const user = members.get(Number(p.chat_id))?.get(Number(p.user_id));
      if (!user) return json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: user not found' });
      json(res, 200, { ok: true, result: { status: 'member', user } });
    },
    getMe: (_p, res) =>
      json(res, 200, { ok: true, result: { ...bot, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false } }),
    deleteWebhook: (_p, res) => json(res, 200, { ok: true, result: true }),
    setWebhook: (_p, res) => json(res, 200, { ok: true, result: true }),
    setMyCommands: (_p, res) => json(res, 200, { ok: true, result: true }),
    getUpdates: (p, res) => {
      const offset = Number(p.offset ?? 0);
      const limit = Number(p.limit ?? 100);
      // Confirming an offset forgets older updates, as Telegram does.
      for (let i = updates.length - 1; i >= 0; i--) if (updates[i]!.update_id < offset) updates.splice(i, 1);
      const batch = pending(offset, limit);
      const timeoutS = Number(p.timeout ?? 0);
      if (batch.length > 0 || timeoutS <= 0) return json(res, 200, { ok: true, result: batch });
      const w: Waiter = {
        offset,
        limit,
        res,
        timer: setTimeout(() => {
          waiters.delete(w);
          json(res, 200, { ok: true, result: [] });
        }, timeoutS * 1000),
      };
      waiters.add(w);
      res.on('close', () => {
        clearTimeout(w.timer);
        waiters.delete(w);
      });
    },
    sendMessage: (p, res) => {
      const text = typeof p.text === 'string' ? p.text : '';
      if (text.length === 0) return json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: message text is empty' });
      if (text.length > 4096) return json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: message is too long' });
      const chatId = Number(p.chat_id);
      const msg: FakeMessage = {
        message_id: nextMessageId++,
        date: Math.floor(Date.now() / 1000),
        chat: { id: chatId, type: chatId > 0 ? 'private' : 'supergroup' },
        from: bot,
        text,
        ...(p.reply_parameters ? { reply_parameters: p.reply_parameters as { message_id: number } } : {}),
      };
      sent.push(msg);
      json(res, 200, { ok: true, result: msg });
    },
  };

  const makeUpdate = ({ chat, from, text, entities, replyTo, date, messageId }: UserMessage) => {
    const message: FakeMessage = {
      message_id: messageId ?? nextMessageId++,
      date: date ?? Math.floor(Date.now() / 1000),
      chat,
      from,
      text,
      ...(entities ? { entities } : {}),
      ...(replyTo ? { reply_to_message: replyTo } : {}),
    };
    return { update_id: nextUpdateId++, message };
  };

  const server = createServer((req: HttpRequest, res: ServerResponse) => {
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.url ?? '');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!m) return json(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      const [, gotToken, method] = m as unknown as [string, string, string];
      if (gotToken !== token) return json(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      let payload: Record<string, unknown> = {};
      const raw = Buffer.concat(chunks).toString('utf8');
      if (raw.length > 0) {
        try {
          payload = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          return json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: invalid JSON' });
        }
      }
      calls.push({ method, payload, at: Date.now() });
      const failure = failures.get(method);
      if (failure && failure.count > 0) {
        failure.count--;
        return json(res, failure.code, {
          ok: false,
          error_code: failure.code,
          description: failure.description,
          ...(failure.retryAfter !== undefined ? { parameters: { retry_after: failure.retryAfter } } : {}),
        });
      }
      const handler = methods[method];
      if (!handler) return json(res, 404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
      handler(payload, res);
    });
  });
  server.on('connection', (s: Socket) => {
    if (Date.now() < downUntil) {
      s.destroy();
      return;
    }
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    apiRoot: `http://127.0.0.1:${port}`,
    token,
    bot,
    sent,
    calls,
    makeUpdate,
    join,
    userMessage(m) {
      join(m.chat, m.from);
      const update = makeUpdate(m);
      updates.push(update);
      flushWaiters();
      return update.message;
    },
    rateLimit(method, count, retryAfter) {
      failures.set(method, { count, code: 429, description: `Too Many Requests: retry after ${retryAfter}`, retryAfter });
    },
    failNext(method, count, code, description) {
      failures.set(method, { count, code, description });
    },
    dropConnections(ms = 0) {
      downUntil = Date.now() + ms;
      for (const w of waiters) clearTimeout(w.timer);
      waiters.clear();
      for (const s of sockets) s.destroy();
    },
    pollsSince(t) {
      return calls.filter((c) => c.method === 'getUpdates' && c.at >= t).length;
    },
    async close() {
      for (const w of waiters) clearTimeout(w.timer);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
