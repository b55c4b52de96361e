import { ActionNotSentError, type ActionLink } from './actions.ts';
import type { ReverseClient } from './reverse.ts';

/** Where a connection came from: kuakua's own forward one to the configured URL, or one an implementation opened to the reverse server. */
export type LinkOrigin = { via: 'forward' } | ({ via: 'reverse' } & Pick<ReverseClient, 'role' | 'selfId'>);

interface Entry {
  link: ActionLink;
  origin: LinkOrigin;
  /** Its own events named the account its X-Self-ID names. */
  confirmed: boolean;
  /** Its own events named another account: it never carries actions. */
  mismatched: boolean;
}

/**
 * The open connections and which one carries actions (send_group_msg …). The forward connection does; a reverse one
 * does when it is Universal or API, named its account in X-Self-ID and no event of its own said otherwise. Among those,
 * the newest vouched-for one is used: the forward one, one whose events confirmed its X-Self-ID, or an API connection
 * for an account seen in events; only when none is vouched for, the newest of the rest.
 */
export function createLinks() {
  const open: Entry[] = [];
  /** Accounts (self_id) seen in the events of connections that told the truth about themselves. */
  const accounts = new Set<string>();
  let waiters: (() => void)[] = [];

  const carriesActions = ({ origin, mismatched }: Entry) => origin.via === 'forward' || (origin.role !== 'event' && origin.selfId !== undefined && !mismatched);
  const vouched = ({ origin, confirmed }: Entry) =>
    origin.via === 'forward' || confirmed || (origin.role === 'api' && origin.selfId !== undefined && accounts.has(origin.selfId));

  return {
    add(link: ActionLink, origin: LinkOrigin): void {
      const entry: Entry = { link, origin, confirmed: false, mismatched: false };
      open.push(entry);
      if (carriesActions(entry)) for (const wake of [...waiters]) wake();
    },
    remove(link: ActionLink): void {
      const i = open.findIndex((e) => e.link === link);
      if (i >= 0) open.splice(i, 1);
    },
    /**
     * An event that came on `link` names `selfId` as the bot's account. 'mismatch' the first time a reverse
     * connection's events name another account than its X-Self-ID: from then on it carries no actions.
     */
    observe(link: ActionLink, selfId: string): 'ok' | 'mismatch' {
      const entry = open.find((e) => e.link === link);
      if (!entry || (entry.origin.via === 'reverse' && entry.origin.selfId === undefined)) return 'ok';
      if (entry.origin.via === 'forward' || entry.origin.selfId === selfId) {
        entry.confirmed = true;
        accounts.add(selfId);
        return 'ok';
      }
      if (entry.mismatched) return 'ok';
      entry.mismatched = true;
      return 'mismatch';
    },
    /** The connection to send an action on; during a reconnect, waits up to `waitMs` for one. */
    async next(waitMs: number, signal: AbortSignal): Promise<ActionLink> {
      if (!open.some(carriesActions) && !signal.aborted) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', wake);
            waiters = waiters.filter((w) => w !== wake);
            resolve();
          };
          const timer = setTimeout(wake, waitMs);
          waiters.push(wake);
          signal.addEventListener('abort', wake, { once: true });
        });
      }
      const candidates = open.filter(carriesActions);
      const entry = candidates.findLast(vouched) ?? candidates.at(-1);
      if (!entry) throw new ActionNotSentError(`no OneBot connection that may send within ${waitMs} ms`);
      return entry.link;
    },
  };
}
