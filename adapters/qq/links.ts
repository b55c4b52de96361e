import { ActionNotSentError, type ActionLink } from './actions.ts';

/** The open connections that carry actions (forward, reverse Universal or API), the newest first in line. */
export function createLinks() {
  const open: ActionLink[] = [];
  let waiters: (() => void)[] = [];
  return {
    add(link: ActionLink): void {
      open.push(link);
      for (const wake of [...waiters]) wake();
    },
    remove(link: ActionLink): void {
      const i = open.indexOf(link);
      if (i >= 0) open.splice(i, 1);
    },
    /** The newest open link; during a reconnect, waits up to `waitMs` for one. */
    async next(waitMs: number, signal: AbortSignal): Promise<ActionLink> {
      if (open.length === 0 && !signal.aborted) {
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
      const link = open.at(-1);
      if (!link) throw new ActionNotSentError(`no OneBot connection within ${waitMs} ms`);
      return link;
    },
  };
}
