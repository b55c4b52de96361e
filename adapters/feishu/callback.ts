import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AESCipher, type EventDispatcher } from '@larksuiteoapi/node-sdk';
import { BodyTooLarge, readBody } from '../shared/body.ts';
import { listen } from '../shared/httpServer.ts';
import { secretEquals } from '../shared/secrets.ts';
import type { FeishuCallbackOptions } from './definition.ts';

/** How long callbacks in progress get to be answered when the server stops, before their connections are cut. */

export type CallbackRejection = 'too-large' | 'malformed' | 'undecryptable' | 'unencrypted' | 'bad-signature' | 'bad-token';

const STATUS: Record<CallbackRejection, number> = {
  'too-large': 413,
  malformed: 400,
  undecryptable: 400,
  unencrypted: 401,
  'bad-signature': 401,
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

/**
 * Checks one callback as Feishu documents it and returns its plain payload: decrypted with the encrypt key (the SDK's
 * AESCipher), the signature X-Lark-Signature = sha256(timestamp + nonce + encrypt key + raw body) checked over the
 * bytes as received, and the verification token compared. The URL verification challenge carries no signature.
 */
function openCallback(req: IncomingMessage, raw: Buffer, opts: FeishuCallbackOptions): Record<string, unknown> {
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
  }
  // v2 events carry the token in their header, v1 events and the challenge at the top.
  const token = isObject(payload.header) ? payload.header.token : payload.token;
  if (typeof token !== 'string' || !secretEquals(token, opts.verificationToken)) throw new Rejected('bad-token');
  return payload;
}

const send = (res: ServerResponse, status: number, body?: unknown) => {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
};

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
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || path !== opts.path) return send(res, 404);
    readBody(req)
      .then(async (raw) => {
        const payload = openCallback(req, raw, opts);
        if (payload.type === 'url_verification') return send(res, 200, { challenge: payload.challenge });
        const result: unknown = await dispatcher.invoke(payload, { needCheck: false });
        send(res, 200, typeof result === 'object' && result !== null ? result : {});
      })
      .catch((err: unknown) => {
        const reason = err instanceof Rejected ? err.reason : err instanceof BodyTooLarge ? 'too-large' : undefined;
        if (reason) {
          hooks.onRejected(reason);
          return send(res, STATUS[reason]);
        }
        hooks.onError(err);
        send(res, 500);
      });
  });
  await listen(server, opts.port, opts.host, hooks.onError);
  return server;
}
