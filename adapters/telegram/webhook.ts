import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Update } from 'telegraf/types';
import { BodyTooLarge, readBody } from '../shared/body.ts';

const isUpdate = (v: unknown): v is Update =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Number.isSafeInteger((v as { update_id?: unknown }).update_id);

/**
 * Reads and checks the body before telegraf's webhook callback sees it: telegraf reads bodies without a size limit and
 * throws outside its handler on JSON that is not an update object (`null`), which would end the process.
 * The secret token and path are still checked by telegraf.
 */
export function guardWebhook(
  callback: (req: IncomingMessage & { body?: Update }, res: ServerResponse) => Promise<void>,
  onError: (err: unknown) => void,
): RequestListener {
  return (req, res) => {
    readBody(req).then(
      (raw) => {
        let body: unknown;
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          res.writeHead(400).end();
          return;
        }
        if (!isUpdate(body)) {
          res.writeHead(400).end();
          return;
        }
        callback(Object.assign(req, { body: body as Update }), res).catch((err: unknown) => {
          onError(err);
          if (!res.headersSent) res.writeHead(500).end();
        });
      },
      (err: unknown) => {
        if (err instanceof BodyTooLarge && !res.headersSent) res.writeHead(413).end();
        req.destroy();
      },
    );
  };
}
