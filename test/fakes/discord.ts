import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage as HttpRequest, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A fake Discord on 127.0.0.1: the REST routes discord.js uses (gateway/bot, users/@me, command registration, channel
 * messages, interaction callbacks and webhook edits) and a gateway WebSocket speaking v10 JSON (HELLO, IDENTIFY → READY +
 * GUILD_CREATE, heartbeat ACK, RESUME → RESUMED with replay, dispatch injection). Everything the bot sends is recorded.
 *
 * It refuses what Discord refuses: a session gets guild messages only with the GUILD_MESSAGES intent, DMs only with
 * DIRECT_MESSAGES, and without MESSAGE_CONTENT an empty `content` unless the message is a DM, mentions the bot or is
 * the bot's own. An interaction is answered once, with the id and token it was created with, and its token (for the
 * webhook routes, under the app's own application id) is good for 15 minutes of the fake's clock.
 */

export interface FakeDiscordUser {
  id: string;
  username: string;
  discriminator: string;
  global_name: string | null;
  avatar: null;
  bot?: boolean;
}

export interface FakeDiscordMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  channel_type: 0 | 1;
  author: FakeDiscordUser;
  content: string;
  timestamp: string;
  edited_timestamp: null;
  tts: false;
  mention_everyone: boolean;
  mentions: FakeDiscordUser[];
  mention_roles: string[];
  attachments: [];
  embeds: [];
  pinned: false;
  type: 0 | 19;
  message_reference?: { message_id: string; channel_id: string; guild_id?: string; fail_if_not_exists?: boolean };
  referenced_message?: FakeDiscordMessage | null;
  allowed_mentions?: { parse?: string[]; users?: string[]; roles?: string[]; replied_user?: boolean };
}

export interface RestCall {
  method: string;
  path: string;
  body: unknown;
  authorization: string | undefined;
}

export interface FakeDiscord {
  apiRoot: string;
  token: string;
  bot: FakeDiscordUser;
  applicationId: string;
  guildId: string;
  channelId: string;
  everyoneRoleId: string;
  botRoleId: string;
  /** Messages the bot created through REST, in order. */
  posted: FakeDiscordMessage[];
  rest: RestCall[];
  /** Gateway opcodes received from the bot (2 = IDENTIFY, 6 = RESUME, 1 = heartbeat). */
  received: { op: number; at: number }[];
  registeredCommands: unknown[];
  interactionResponses: { interactionId: string; body: unknown }[];
  webhookMessages: { method: string; body: Record<string, unknown> }[];
  /** A user; a member of the guild unless `outsider` (mentions of members carry their `member`, as Discord's do). */
  user(name?: string, opts?: { bot?: boolean; outsider?: boolean }): FakeDiscordUser;
  /** Dispatch MESSAGE_CREATE from a user; mentions are derived from `<@id>` markup like Discord does. */
  userMessage(m: {
    author: FakeDiscordUser;
    content: string;
    channelId?: string;
    dm?: boolean;
    replyTo?: FakeDiscordMessage;
    /** Discord adds the replied-to author to `mentions` when the reply pings them (the default). */
    pingRepliedUser?: boolean;
  }): FakeDiscordMessage;
  /** Dispatch INTERACTION_CREATE for `/kuakua text:<text>`; returns the interaction id. */
  slashCommand(m: { author: FakeDiscordUser; text: string; channelId?: string }): string;
  /** Whether a gateway session is identified and open. */
  ready(): boolean;
  /**
   * Cut the gateway TCP connection without a close frame (the client should RESUME), and refuse the next `refuse`
   * connection attempts (after which a client identifies anew).
   */
  dropGateway(refuse?: number): void;
  /** Answer the next `count` message creations with 429 and Retry-After (seconds). */
  rateLimitMessages(count: number, retryAfter: number): void;
  close(): Promise<void>;
}

const DISCORD_EPOCH = 1420070400000n;

/** Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents). */
export const INTENTS = {
  GUILD_MESSAGES: 1 << 9,
  DIRECT_MESSAGES: 1 << 12,
  /** Privileged: it must be switched on in the Developer Portal, or Discord closes with 4014. */
  MESSAGE_CONTENT: 1 << 15,
} as const;

/** How long an interaction token can be used. */
export const INTERACTION_TOKEN_MS = 15 * 60_000;

export async function startFakeDiscord(
  opts: {
    token?: string;
    heartbeatMs?: number;
    messageContentAllowed?: boolean;
    port?: number;
    /** The clock interaction tokens expire by. */
    now?: () => number;
  } = {},
): Promise<FakeDiscord> {
  const token = opts.token ?? `MTIz.fake-discord.${randomBytes(12).toString('hex')}`;
  const now = opts.now ?? Date.now;
  const heartbeatMs = opts.heartbeatMs ?? 1000;
  let counter = 0n;
  const snowflake = () => String(((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | (counter++ & 0xfffn));
  const mkUser = (username: string, bot = false): FakeDiscordUser => ({
    id: snowflake(),
    username,
    discriminator: '0',
    global_name: username,
    avatar: null,
    ...(bot ? { bot: true } : {}),
  });

  const bot = mkUser('kuakua', true);
  const applicationId = bot.id;
  const guildId = snowflake();
  const channelId = snowflake();
  const everyoneRoleId = guildId;
  const botRoleId = snowflake();
  const users = new Map<string, FakeDiscordUser>([[bot.id, bot]]);
  const outsiders = new Set<string>();
  const messages = new Map<string, FakeDiscordMessage>();
  const dmChannels = new Map<string, FakeDiscordUser>();
  const posted: FakeDiscordMessage[] = [];
  const rest: RestCall[] = [];
  const received: { op: number; at: number }[] = [];
  const registeredCommands: unknown[] = [];
  const interactionResponses: { interactionId: string; body: unknown }[] = [];
  const webhookMessages: { method: string; body: Record<string, unknown> }[] = [];
  /** `original`: whether the interaction's first response exists (acknowledged, not deleted). */
  const interactions = new Map<string, { channelId: string; token: string; createdAt: number; acknowledged: boolean; original: boolean }>();
  const live = (it: { createdAt: number }) => now() - it.createdAt < INTERACTION_TOKEN_MS;

  // One session at a time is enough for a single-shard bot.
  let session: { id: string; intents: number; seq: number; log: { s: number; t: string; d: unknown }[]; socket?: WebSocket } | undefined;
  const sockets = new Set<Socket>();
  /** Gateway connections still to refuse. */
  let refusing = 0;
  let messageLimit = { count: 0, retryAfter: 0 };

  const send = (ws: WebSocket, payload: unknown) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(payload));
  };
  /** A message as a session with `intents` gets it; undefined when that session gets no such message. */
  const messageFor = (intents: number, m: FakeDiscordMessage): FakeDiscordMessage | undefined => {
    const inGuild = m.guild_id !== undefined;
    if ((intents & (inGuild ? INTENTS.GUILD_MESSAGES : INTENTS.DIRECT_MESSAGES)) === 0) return undefined;
    const readable = (intents & INTENTS.MESSAGE_CONTENT) !== 0 || !inGuild || m.author.id === bot.id || m.mentions.some((u) => u.id === bot.id);
    return readable ? m : { ...m, content: '', embeds: [], attachments: [] };
  };
  const dispatch = (t: string, payload: unknown) => {
    if (!session) return;
    const d = t === 'MESSAGE_CREATE' ? messageFor(session.intents, payload as FakeDiscordMessage) : payload;
    if (d === undefined) return;
    const s = ++session.seq;
    session.log.push({ s, t, d });
    if (session.socket) send(session.socket, { op: 0, t, s, d });
  };

  const guildPayload = () => ({
    id: guildId,
    name: 'kuakua test guild',
    icon: null,
    owner_id: snowflake(),
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    features: [],
    mfa_level: 0,
    system_channel_flags: 0,
    premium_tier: 0,
    preferred_locale: 'zh-CN',
    nsfw_level: 0,
    unavailable: false,
    member_count: 2,
    large: false,
    joined_at: new Date().toISOString(),
    roles: [
      { id: everyoneRoleId, name: '@everyone', color: 0, hoist: false, position: 0, permissions: '68608', managed: false, mentionable: false, flags: 0 },
      {
        id: botRoleId,
        name: 'kuakua',
        color: 0,
        hoist: false,
        position: 1,
        permissions: '68608',
        managed: true,
        mentionable: false,
        flags: 0,
        tags: { bot_id: bot.id },
      },
    ],
    emojis: [],
    stickers: [],
    members: [{ user: bot, roles: [botRoleId], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 }],
    channels: [{ id: channelId, type: 0, guild_id: guildId, name: 'kuakua', position: 0, permission_overwrites: [], nsfw: false, parent_id: null }],
    threads: [],
    voice_states: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
  });

  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws: WebSocket) => {
    send(ws, { op: 10, d: { heartbeat_interval: heartbeatMs } });
    ws.on('message', (raw) => {
      let msg: { op: number; d: Record<string, unknown> | number | null };
      try {
        msg = JSON.parse(String(raw)) as typeof msg;
      } catch {
        ws.close(4002, 'Decode error');
        return;
      }
      received.push({ op: msg.op, at: Date.now() });
      const d = (msg.d ?? {}) as Record<string, unknown>;
      if (msg.op === 1) send(ws, { op: 11 });
      else if (msg.op === 2) {
        if (d.token !== token) return ws.close(4004, 'Authentication failed');
        const intents = Number(d.intents);
        if (opts.messageContentAllowed === false && (intents & INTENTS.MESSAGE_CONTENT) !== 0) return ws.close(4014, 'Disallowed intent(s).');
        session = { id: randomBytes(8).toString('hex'), intents, seq: 0, log: [], socket: ws };
        dispatch('READY', {
          v: 10,
          user: bot,
          guilds: [{ id: guildId, unavailable: true }],
          session_id: session.id,
          resume_gateway_url: gatewayUrl,
          shard: [0, 1],
          application: { id: applicationId, flags: 0 },
        });
        dispatch('GUILD_CREATE', guildPayload());
      } else if (msg.op === 6) {
        if (d.token !== token) return ws.close(4004, 'Authentication failed');
        if (!session || d.session_id !== session.id) return send(ws, { op: 9, d: false });
        session.socket = ws;
        for (const e of session.log) if (e.s > Number(d.seq)) send(ws, { op: 0, ...e });
        dispatch('RESUMED', {});
      }
    });
    ws.on('close', () => {
      if (session?.socket === ws) session.socket = undefined;
    });
  });

  const json = (res: ServerResponse, status: number, body: unknown) => {
    if (status === 204) {
      res.writeHead(204);
      return res.end();
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const createMessage = (channel: string, author: FakeDiscordUser, body: Record<string, unknown>): FakeDiscordMessage => {
    const ref = body.message_reference as FakeDiscordMessage['message_reference'] | undefined;
    const referenced = ref ? (messages.get(ref.message_id) ?? null) : undefined;
    const guild = dmChannels.has(channel) ? undefined : guildId;
    const msg: FakeDiscordMessage = {
      id: snowflake(),
      channel_id: channel,
      ...(guild ? { guild_id: guild } : {}),
      channel_type: guild ? 0 : 1,
      author,
      content: typeof body.content === 'string' ? body.content : '',
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      type: ref ? 19 : 0,
      ...(ref ? { message_reference: ref, referenced_message: referenced } : {}),
      ...(body.allowed_mentions ? { allowed_mentions: body.allowed_mentions as FakeDiscordMessage['allowed_mentions'] } : {}),
    };
    messages.set(msg.id, msg);
    return msg;
  };

  /** Whether `body.content` is 1 to 2000 characters (or, for an edit, absent); answers 400 as Discord does when not. */
  const validContent = (body: Record<string, unknown>, res: ServerResponse, edit = false): boolean => {
    if (edit && body.content === undefined) return true;
    const content = typeof body.content === 'string' ? body.content : '';
    if (content.length > 0 && content.length <= 2000) return true;
    json(res, 400, {
      code: 50035,
      message: 'Invalid Form Body',
      errors: { content: { _errors: [{ code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 2000 in length.' }] } },
    });
    return false;
  };

  /** The interaction whose webhook `/webhooks/<application id>/<token>` names, or undefined once refused as Discord does. */
  const webhookInteraction = (m: RegExpExecArray, res: ServerResponse) => {
    if (m[1] !== applicationId) return void json(res, 404, { code: 10015, message: 'Unknown Webhook' });
    const it = [...interactions.values()].find((i) => i.token === m[2]);
    if (!it || !live(it)) return void json(res, 401, { code: 50027, message: 'Invalid Webhook Token' });
    return it;
  };
  /** As webhookInteraction, for the routes on its first response, which exists only once acknowledged and until deleted. */
  const original = (m: RegExpExecArray, res: ServerResponse) => {
    const it = webhookInteraction(m, res);
    if (it && !it.original) return void json(res, 404, { code: 10008, message: 'Unknown Message' });
    return it;
  };

  const routes: [string, RegExp, (m: RegExpExecArray, body: Record<string, unknown>, res: ServerResponse) => void][] = [
    [
      'GET',
      /^\/api\/v10\/gateway\/bot$/,
      (_m, _b, res) => json(res, 200, { url: gatewayUrl, shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 } }),
    ],
    ['GET', /^\/api\/v10\/users\/@me$/, (_m, _b, res) => json(res, 200, bot)],
    [
      'PUT',
      /^\/api\/v10\/applications\/(\d+)\/commands$/,
      (_m, body, res) => {
        const list = Array.isArray(body) ? body : [];
        registeredCommands.splice(0, registeredCommands.length, ...list);
        json(
          res,
          200,
          list.map((c: Record<string, unknown>) => ({ ...c, id: snowflake(), application_id: applicationId, version: snowflake(), type: 1 })),
        );
      },
    ],
    [
      'GET',
      /^\/api\/v10\/channels\/(\d+)$/,
      (m, _b, res) => {
        const id = m[1]!;
        if (id === channelId) return json(res, 200, guildPayload().channels[0]);
        const recipient = dmChannels.get(id);
        if (recipient) return json(res, 200, { id, type: 1, recipients: [recipient], last_message_id: null });
        json(res, 404, { code: 10003, message: 'Unknown Channel' });
      },
    ],
    [
      'POST',
      /^\/api\/v10\/channels\/(\d+)\/messages$/,
      (m, body, res) => {
        const channel = m[1]!;
        if (channel !== channelId && !dmChannels.has(channel)) return json(res, 404, { code: 10003, message: 'Unknown Channel' });
        if (messageLimit.count > 0) {
          messageLimit.count--;
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(messageLimit.retryAfter), 'x-ratelimit-scope': 'user' });
          return res.end(JSON.stringify({ message: 'You are being rate limited.', retry_after: messageLimit.retryAfter, global: false }));
        }
        if (!validContent(body, res)) return;
        const msg = createMessage(channel, bot, body);
        posted.push(msg);
        json(res, 200, msg);
        dispatch('MESSAGE_CREATE', msg);
      },
    ],
    [
      'POST',
      /^\/api\/v10\/interactions\/(\d+)\/([^/]+)\/callback$/,
      (m, body, res) => {
        const it = interactions.get(m[1]!);
        if (!it || it.token !== m[2] || !live(it)) return json(res, 404, { code: 10062, message: 'Unknown interaction' });
        if (it.acknowledged) return json(res, 400, { code: 40060, message: 'Interaction has already been acknowledged.' });
        it.acknowledged = it.original = true;
        interactionResponses.push({ interactionId: m[1]!, body });
        json(res, 204, null);
      },
    ],
    [
      'PATCH',
      /^\/api\/v10\/webhooks\/(\d+)\/([^/]+)\/messages\/@original$/,
      (m, body, res) => {
        const it = original(m, res);
        if (!it || !validContent(body, res, true)) return;
        webhookMessages.push({ method: 'PATCH', body });
        json(res, 200, createMessage(it.channelId, bot, body));
      },
    ],
    [
      'POST',
      /^\/api\/v10\/webhooks\/(\d+)\/([^/]+)$/,
      (m, body, res) => {
        const it = webhookInteraction(m, res);
        if (!it || !validContent(body, res)) return;
        webhookMessages.push({ method: 'POST', body });
        json(res, 200, createMessage(it.channelId, bot, body));
      },
    ],
    [
      'DELETE',
      /^\/api\/v10\/webhooks\/(\d+)\/([^/]+)\/messages\/@original$/,
      (m, body, res) => {
        const it = original(m, res);
        if (!it) return;
        it.original = false;
        webhookMessages.push({ method: 'DELETE', body });
        json(res, 204, null);
      },
    ],
  ];

  const server = createServer((req: HttpRequest, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = decodeURIComponent((req.url ?? '').split('?')[0]!);
      let body: Record<string, unknown> = {};
      const raw = Buffer.concat(chunks).toString('utf8');
      if (raw) {
        try {
          body = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          return json(res, 400, { code: 50109, message: 'The request body contains invalid JSON.' });
        }
      }
      rest.push({ method: req.method ?? 'GET', path, body, authorization: req.headers.authorization });
      const isWebhook = path.includes('/webhooks/') || path.includes('/interactions/');
      if (!isWebhook && req.headers.authorization !== `Bot ${token}`) return json(res, 401, { code: 0, message: '401: Unauthorized' });
      for (const [method, re, handler] of routes) {
        const m = re.exec(path);
        if (m && method === req.method) return handler(m, body, res);
      }
      json(res, 404, { code: 0, message: '404: Not Found' });
    });
  });
  server.on('upgrade', (req, socket, head) => {
    if (refusing > 0) {
      refusing--;
      return socket.destroy();
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const gatewayUrl = `ws://127.0.0.1:${port}/gateway`;

  const mentionsIn = (content: string) => {
    const ids = [...content.matchAll(/<@!?(\d+)>/g)].map((m) => m[1]!);
    return [...new Set(ids)]
      .map((id) => users.get(id))
      .filter((u): u is FakeDiscordUser => u !== undefined)
      .map((u) => (outsiders.has(u.id) ? u : { ...u, member: { nick: null, roles: [], joined_at: new Date(0).toISOString(), deaf: false, mute: false } }));
  };

  return {
    apiRoot: `http://127.0.0.1:${port}/api`,
    token,
    bot,
    applicationId,
    guildId,
    channelId,
    everyoneRoleId,
    botRoleId,
    posted,
    rest,
    received,
    registeredCommands,
    interactionResponses,
    webhookMessages,
    user(name = 'someone', o = {}) {
      const u = mkUser(name, o.bot);
      users.set(u.id, u);
      if (o.outsider) outsiders.add(u.id);
      return u;
    },
    userMessage({ author, content, channelId: channel, dm, replyTo, pingRepliedUser = true }) {
      let target = channel ?? channelId;
      if (dm) {
        target = [...dmChannels].find(([, u]) => u.id === author.id)?.[0] ?? snowflake();
        dmChannels.set(target, author);
      }
      const msg = createMessage(target, author, {
        content,
        ...(replyTo ? { message_reference: { message_id: replyTo.id, channel_id: replyTo.channel_id, guild_id: replyTo.guild_id } } : {}),
      });
      msg.mentions = mentionsIn(content);
      if (replyTo && pingRepliedUser && !msg.mentions.some((u) => u.id === replyTo.author.id)) msg.mentions.push(replyTo.author);
      msg.mention_roles = [...content.matchAll(/<@&(\d+)>/g)].map((m) => m[1]!);
      msg.mention_everyone = /@(everyone|here)/.test(content);
      dispatch('MESSAGE_CREATE', msg);
      return msg;
    },
    slashCommand({ author, text, channelId: channel }) {
      const id = snowflake();
      const itToken = randomBytes(16).toString('hex');
      const target = channel ?? channelId;
      interactions.set(id, { channelId: target, token: itToken, createdAt: now(), acknowledged: false, original: false });
      dispatch('INTERACTION_CREATE', {
        id,
        application_id: applicationId,
        type: 2,
        token: itToken,
        version: 1,
        guild_id: guildId,
        channel_id: target,
        channel: { id: target, type: 0, guild_id: guildId, name: 'kuakua' },
        member: { user: author, roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0, permissions: '68608' },
        app_permissions: '68608',
        locale: 'zh-CN',
        guild_locale: 'zh-CN',
        entitlements: [],
        authorizing_integration_owners: { '0': guildId },
        context: 0,
        data: { id: snowflake(), name: 'kuakua', type: 1, options: [{ name: 'text', type: 3, value: text }] },
      });
      return id;
    },
    ready: () => session?.socket !== undefined,
    dropGateway(refuse = 0) {
      refusing = refuse;
      session?.socket?.terminate();
      if (session) session.socket = undefined;
    },
    rateLimitMessages(count, retryAfter) {
      messageLimit = { count, retryAfter };
    },
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
