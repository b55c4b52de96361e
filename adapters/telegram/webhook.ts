import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Update } from 'telegraf/types';
import { BodyTooLarge, readBody } from '../shared/body.ts';
import { refuse } from '../shared/httpServer.ts';
import { secretEquals } from '../shared/secrets.ts';

const isUpdate = (v: unknown): v is Update =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Number.isSafeInteger((v as { update_id?: unknown }).update_id);

/**
 * Checks each request before telegraf's webhook callback sees it. The path, the method and the secret token come
 * first, so a stranger's request is answered (404, 405, 401) without a byte of its body read; then the body is read,
 * at most 256 KB (413 beyond), and must be an update object: telegraf reads bodies without a size limit and throws
 * outside its handler on JSON that is not one (`null`), which would end the process.
 */
export function guardWebhook(
  callback: (req: IncomingMessage & { body?: Update }, res: ServerResponse) => Promise<void>,
  hook: { path: string; secretToken: string },
  onError: (err: unknown) => void,
): RequestListener {
  return (req, res) => {
    // telegraf compares the whole request target with the path, so must we.
    if (req.url !== hook.path) return refuse(res, 404);
    if (req.method !== 'POST') return refuse(res, 405, { allow: 'POST' });
    const token = req.headers['x-telegram-bot-api-secret-token'];
    if (typeof token !== 'string' || !secretEquals(token, hook.secretToken)) return refuse(res, 401);
    readBody(req).then(
      (raw) => {
        let body: unknown;
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          return refuse(res, 400);
        }
        if (!isUpdate(body)) return refuse(res, 400);
        callback(Object.assign(req, { body }), res).catch((err: unknown) => {
          onError(err);
          if (!res.headersSent) res.writeHead(500).end();
        });
      },
      (err: unknown) => {
        if (err instanceof BodyTooLarge) refuse(res, 413);
        else req.destroy();
      },
    );
  };
}
