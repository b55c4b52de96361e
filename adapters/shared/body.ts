import type { IncomingMessage } from 'node:http';

/** Webhook and callback bodies from the platforms are small; anything bigger is not from them. */
const MAX_BODY_BYTES = 1_000_000;

export class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
  constructor() {
    super(`request body over ${MAX_BODY_BYTES} bytes`);
  }
}

/**
 * Reads a request body of at most 1 MB. Beyond that it stops reading and rejects with BodyTooLarge: the caller answers
 * 413 and closes the connection rather than take in the rest.
 */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.pause();
        reject(new BodyTooLarge());
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
