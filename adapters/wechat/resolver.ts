import { get as httpsGet } from 'node:https';
import { grpc } from 'wechaty-grpc';
import { WechatyResolver } from 'wechaty-token';

/**
 * wechaty-puppet-service finds its server from the token with wechaty-token's gRPC resolver ("wechaty://authority/token").
 * wechaty-token 1.1 was written for grpc-js < 1.10, whose resolver listener was an object with onSuccessfulResolution and
 * onError; grpc-js 1.14 (what wechaty-grpc installs) passes one function instead. The old resolver therefore throws
 * "this.listener.onError is not a function" from an un-awaited promise when discovery fails (no network, unknown token),
 * which ends the whole process, and prints every failed lookup's stack with console.error. This replaces its
 * updateResolution with one that discovers the endpoint quietly and answers grpc-js in either listener shape; grpc-js then
 * reports the failure on the channel and retries resolution with its own backoff.
 */

const DISCOVERY_TIMEOUT_MS = 10_000;

interface Address {
  host: string;
  port: number;
}

type OldListener = {
  onSuccessfulResolution(addresses: Address[], ...rest: unknown[]): void;
  onError(status: { code: number; details: string; metadata: unknown }): void;
};
type NewListener = (
  endpoints: { ok: true; value: { addresses: Address[] }[] } | { ok: false; error: { code: number; details: string; metadata: unknown } },
  attributes: object,
  serviceConfig: null,
  note: string,
) => boolean;

interface ResolverFields {
  target: { authority?: string; path: string };
  listener: OldListener | NewListener;
}

/** GET https://<authority>/v0/hosties/<token>: the service's address, or why there is none. */
export function discover(authority: string, token: string, timeoutMs = DISCOVERY_TIMEOUT_MS): Promise<Address | string> {
  const url = `https://${authority}/v0/hosties/${encodeURIComponent(token)}`;
  return new Promise((resolve) => {
    const req = httpsGet(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode && res.statusCode >= 400 && res.statusCode < 500) return resolve('the token is not known to the discovery service');
        if (res.statusCode !== 200) return resolve(`discovery answered HTTP ${res.statusCode}`);
        try {
          const parsed = JSON.parse(body) as Partial<Address>;
          if (parsed.host && parsed.port) return resolve({ host: parsed.host, port: Number(parsed.port) });
        } catch {
          // fall through
        }
        resolve('discovery answered with no address');
      });
      res.on('error', (err) => resolve(err.message));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${authority} within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code && err.message.includes(err.code) ? err.message : `${err.code ?? 'error'} ${err.message}`),
    );
  });
}

/** Hands grpc-js the resolution result in whichever listener shape it uses. */
export function report(listener: OldListener | NewListener, result: Address | string, target: string): void {
  if (typeof result === 'string') {
    const error = { code: grpc.status.UNAVAILABLE, details: `Wechaty service discovery failed for ${target}: ${result}`, metadata: new grpc.Metadata() };
    if (typeof listener === 'function') listener({ ok: false, error }, {}, null, error.details);
    else listener.onError(error);
    return;
  }
  if (typeof listener === 'function') listener({ ok: true, value: [{ addresses: [result] }] }, {}, null, '');
  else listener.onSuccessfulResolution([result], null, null, null, {});
}

let patched = false;

/** Installs the fixed resolver; idempotent. */
export function patchWechatyResolver(): void {
  if (patched) return;
  patched = true;
  (WechatyResolver.prototype as unknown as { updateResolution(): Promise<void> }).updateResolution = async function (this: ResolverFields) {
    const authority = (WechatyResolver as unknown as { getDefaultAuthority(t: object): string }).getDefaultAuthority(this.target);
    const token = this.target.path;
    const result = await discover(authority, token);
    // grpc-js forbids calling the listener synchronously from updateResolution.
    process.nextTick(() => report(this.listener, result, `wechaty://${authority}/[token]`));
  };
}
