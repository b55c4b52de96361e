import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Update } from 'telegraf/types';

/** Telegram updates are small; anything bigger is not from Telegram. */
const MAX_BODY_BYTES = 1_000_000;

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
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (!res.headersSent) {
        res.writeHead(413).end();
        req.destroy();
      }
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
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
    });
  };
}
