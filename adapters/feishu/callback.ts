import { createHash } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { AESCipher, type EventDispatcher } from '@larksuiteoapi/node-sdk';
import { BodyTooLarge, readBody } from '../shared/body.ts';
import { createHttpServer, listen, refuse } from '../shared/httpServer.ts';
import { secretEquals } from '../shared/secrets.ts';
import type { FeishuCallbackOptions } from './definition.ts';

/** A signed callback sent more than this many seconds before or after our clock is refused; its nonce is kept as long. */
const WINDOW_S = 5 * 60;
/** Nonces remembered at most: Feishu's own traffic over the window, since only signed callbacks are remembered. */
const MAX_NONCES = 100_000;

export type CallbackRejection =
  | 'not-found'
  | 'wrong-method'
  | 'not-json'
  | 'too-large'
  | 'malformed'
  | 'undecryptable'
  | 'unencrypted'
  | 'bad-signature'
  | 'stale'
  | 'replayed'
  | 'bad-token';

const STATUS: Record<CallbackRejection, number> = {
  'not-found': 404,
  'wrong-method': 405,
  'not-json': 415,
  'too-large': 413,
  malformed: 400,
  undecryptable: 400,
  unencrypted: 401,
  'bad-signature': 401,
  stale: 401,
  replayed: 401,
  'bad-token': 401,
};

class Rejected extends Error {
  constructor(readonly reason: CallbackRejection) {
    super(reason);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const header = (req: IncomingMessage, name: string) => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : '';
};

/** The nonces of signed callbacks taken, each until its callback's timestamp leaves the window. */
function nonceMemory() {
  const until = new Map<string, number>();
  return {
    /** False when `nonce` was taken before (a replay); otherwise it is remembered until `expiresAt` (seconds). */
    take(nonce: string, expiresAt: number, now: number): boolean {
      for (const [n, t] of until) {
        if (t > now) break;
        until.delete(n);
      }
      if (until.has(nonce)) return false;
      until.set(nonce, expiresAt);
      if (until.size > MAX_NONCES) until.delete(until.keys().next().value as string);
      return true;
    },
  };
}

/**
 * Checks one callback as Feishu documents it and returns its plain payload: decrypted with the encrypt key (the SDK's
 * AESCipher), the signature X-Lark-Signature = sha256(timestamp + nonce + encrypt key + raw body) checked over the
 * bytes as received, the signed timestamp within WINDOW_S of our clock and the nonce not taken before (a replay), and
 * the verification token compared. The URL verification challenge carries no signature.
 */
function openCallback(req: IncomingMessage, raw: Buffer, opts: FeishuCallbackOptions, nonces: ReturnType<typeof nonceMemory>): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new Rejected('malformed');
  }
  if (!isObject(body)) throw new Rejected('malformed');
  let payload = body;
  if (opts.encryptKey) {
    if (typeof body.encrypt !== 'string') throw new Rejected('unencrypted');
    try {
      payload = JSON.parse(new AESCipher(opts.encryptKey).decrypt(body.encrypt)) as Record<string, unknown>;
    } catch {
      throw new Rejected('undecryptable');
    }
    if (!isObject(payload)) throw new Rejected('malformed');
  }
  const challenge = payload.type === 'url_verification';
  if (opts.encryptKey && !challenge) {
    const expected = createHash('sha256')
      .update(header(req, 'x-lark-request-timestamp') + header(req, 'x-lark-request-nonce') + opts.encryptKey)
      .update(raw)
      .digest('hex');
    if (!secretEquals(header(req, 'x-lark-signature'), expected)) throw new Rejected('bad-signature');
    const now = Date.now() / 1000;
    const sentAt = Number(header(req, 'x-lark-request-timestamp'));
    if (!Number.isFinite(sentAt) || Math.abs(now - sentAt) > WINDOW_S) throw new Rejected('stale');
    if (!nonces.take(header(req, 'x-lark-request-nonce'), sentAt + WINDOW_S, now)) throw new Rejected('replayed');
  }
  // v2 events carry the token in their header, v1 events and the challenge at the top.
  const token = isObject(payload.header) ? payload.header.token : payload.token;
  if (typeof token !== 'string' || !secretEquals(token, opts.verificationToken)) throw new Rejected('bad-token');
  return payload;
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
  res.end(JSON.stringify(body));
};

/** What can be refused before a byte of the body is read: Feishu posts JSON to the configured path. */
function refusedUnread(req: IncomingMessage, opts: FeishuCallbackOptions): CallbackRejection | undefined {
  if ((req.url ?? '').split('?')[0] !== opts.path) return 'not-found';
  if (req.method !== 'POST') return 'wrong-method';
  if (!/^application\/json\s*(;|$)/i.test(header(req, 'content-type'))) return 'not-json';
  return undefined;
}

/**
 * The HTTP endpoint Feishu posts events to in callback mode: verified callbacks go to the SDK's EventDispatcher
 * (already checked, so it does not check again), the URL verification challenge is answered, everything else is
 * refused with a status and reported through `onRejected`.
 */
export async function startCallbackServer(
  opts: FeishuCallbackOptions,
  dispatcher: EventDispatcher,
  hooks: { onRejected(reason: CallbackRejection): void; onError(err: unknown): void },
): Promise<Server> {
  const reject = (res: ServerResponse, reason: CallbackRejection) => {
    hooks.onRejected(reason);
    refuse(res, STATUS[reason], reason === 'wrong-method' ? { allow: 'POST' } : {});
  };
  const nonces = nonceMemory();
  const server = createHttpServer((req, res) => {
    const unread = refusedUnread(req, opts);
    if (unread) return reject(res, unread);
    readBody(req)
      .then(async (raw) => {
        const payload = openCallback(req, raw, opts, nonces);
        if (payload.type === 'url_verification') return send(res, 200, { challenge: payload.challenge });
        const result: unknown = await dispatcher.invoke(payload, { needCheck: false });
        send(res, 200, typeof result === 'object' && result !== null ? result : {});
      })
      .catch((err: unknown) => {
        const reason = err instanceof Rejected ? err.reason : err instanceof BodyTooLarge ? 'too-large' : undefined;
        if (reason) return reject(res, reason);
        hooks.onError(err);
        refuse(res, 500);
      });
  });
  await listen(server, opts.port, opts.host, hooks.onError);
  return server;
}
