import { randomBytes } from 'node:crypto';
import type { ActionResponse } from './translate.ts';

/** Where an action frame goes: an open connection that carries API calls. */
export interface ActionLink {
  send(frame: string): void;
}

/**
 * Retcodes the OneBot v11 spec defines for requests that cannot succeed as sent: bad request, unauthorized,
 * forbidden, unsupported action. Any other failure (an implementation's own code, e.g. a send that QQ did not confirm)
 * may pass, so it is retried.
 */
export const PERMANENT_RETCODES: ReadonlySet<number> = new Set([1400, 1401, 1403, 1404]);

export class OneBotActionError extends Error {
  override name = 'OneBotActionError';
  readonly permanent: boolean;
  constructor(
    readonly action: string,
    readonly retcode: number,
    reason?: string,
  ) {
    super(`${action} failed with retcode ${retcode}${reason ? `: ${reason}` : ''}`);
    this.permanent = PERMANENT_RETCODES.has(retcode);
  }
}

/** No response in time, or the connection closed before it came: the action was sent and may have happened. */
export class ActionUnansweredError extends Error {
  override name = 'ActionUnansweredError';
}

/** No open connection, or writing the frame failed: the action certainly did not happen. */
export class ActionNotSentError extends Error {
  override name = 'ActionNotSentError';
}

interface Pending {
  action: string;
  link: ActionLink;
  resolve(data: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Matches each action to its response by `echo`. */
export function createActions(timeoutMs: number) {
  const pending = new Map<string, Pending>();
  // A prefix per adapter run, so a late response to an action of an earlier run can never settle a new one.
  const run = randomBytes(4).toString('hex');
  let seq = 0;

  return {
    /** Sends `{action, params, echo}` on the link and resolves with the response's data. */
    call(link: ActionLink, action: string, params: Record<string, unknown>): Promise<unknown> {
      const echo = `kuakua:${run}:${++seq}`;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(echo);
          reject(new ActionUnansweredError(`${action}: no response within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(echo, { action, link, resolve, reject, timer });
        try {
          link.send(JSON.stringify({ action, params, echo }));
        } catch (err) {
          clearTimeout(timer);
          pending.delete(echo);
          reject(new ActionNotSentError(`${action}: could not send (${err instanceof Error ? err.message : String(err)})`));
        }
      });
    },
    /** Settles the action a response answers; false when no action of ours is waiting for it. */
    settle(r: ActionResponse): boolean {
      const p = pending.get(r.echo);
      if (!p) return false;
      pending.delete(r.echo);
      clearTimeout(p.timer);
      if (r.status === 'failed') p.reject(new OneBotActionError(p.action, r.retcode, r.wording || r.message || r.msg));
      else p.resolve(r.data);
      return true;
    },
    /** Fails the actions waiting on a connection that closed. */
    linkClosed(link: ActionLink): void {
      for (const [echo, p] of pending) {
        if (p.link !== link) continue;
        pending.delete(echo);
        clearTimeout(p.timer);
        p.reject(new ActionUnansweredError(`${p.action}: the connection closed before the response`));
      }
    },
  };
}

export type Actions = ReturnType<typeof createActions>;
