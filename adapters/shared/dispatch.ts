import type { Logger } from 'pino';
import type { Core } from '../../src/adapter.ts';
import type { Delivery, IncomingMessage } from '../../src/events.ts';
import { recentKeys } from './dedupe.ts';
import { describeError } from './redact.ts';

export interface Dispatcher {
  /** Hands a message to the core without waiting: platform handlers return at once. `onIgnored` runs when the core drops it. */
  submit(msg: IncomingMessage, onIgnored?: () => Promise<unknown>): void;
  /** Waits for messages already submitted (used on shutdown and in tests). */
  drain(): Promise<void>;
}

/**
 * The one path from an adapter into the core: drop redelivered message ids, call `core.handle`,
 * and send at once what the core answered without the model (admin replies, refusals, busy notices).
 */
export function createDispatcher(opts: { core: Core; logger: Logger; deliver: (d: Delivery) => Promise<void>; redact: (text: string) => string }): Dispatcher {
  const { core, logger, deliver, redact } = opts;
  const recent = recentKeys();
  const inflight = new Set<Promise<void>>();

  const run = async (msg: IncomingMessage, onIgnored?: () => Promise<unknown>) => {
    try {
      const result = await core.handle(msg);
      // userId is logged so an operator can find the ids to list under admins.<platform>.
      const reason = result.action === 'ignored' ? result.reason : undefined;
      logger.debug({ chatId: msg.chatId, messageId: msg.messageId, userId: msg.userId, action: result.action, reason }, 'message handled');
      if (result.action === 'replied') await deliver(result.delivery);
      else if (result.action === 'ignored') await onIgnored?.();
    } catch (err) {
      logger.error({ chatId: msg.chatId, messageId: msg.messageId, err: describeError(err, redact) }, 'could not handle message');
    }
  };

  return {
    submit(msg, onIgnored) {
      if (recent.seen(`${msg.chatId}\u0000${msg.messageId}`)) return;
      const p = run(msg, onIgnored);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    },
    async drain() {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
  };
}
