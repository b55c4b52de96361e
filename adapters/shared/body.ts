import type { IncomingMessage } from 'node:http';

/** Webhook and callback bodies from the platforms are a few KB; anything over this is not from them. */
export const MAX_BODY_BYTES = 256 * 1024;

export class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
  constructor() {
    super(`request body over ${MAX_BODY_BYTES} bytes`);
  }
}

/**
 * Reads a request body of at most MAX_BODY_BYTES. A declared Content-Length over it is refused before a byte is read;
 * a body without one stops being read once it passes the cap. Either way it rejects with BodyTooLarge: the caller
 * answers 413 and closes the connection rather than take in the rest.
 */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length']) > MAX_BODY_BYTES) return reject(new BodyTooLarge());
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
