import type { Delivery } from '../../src/events.ts';

interface Waiter {
  resolve(d: Delivery | null): void;
  timer: NodeJS.Timeout;
}

/**
 * Open HTTP requests waiting for their reply, keyed by the web message id that
 * comes back as Delivery.replyToMessageId. Register before handing the message
 * to the core: the reply may arrive before `handle` returns.
 */
export function createPendingReplies() {
  const waiters = new Map<string, Waiter>();

  const settle = (messageId: string, d: Delivery | null) => {
    const w = waiters.get(messageId);
    if (!w) return false;
    waiters.delete(messageId);
    clearTimeout(w.timer);
    w.resolve(d);
    return true;
  };

  return {
    /** Resolves with the delivery, or null after `timeoutMs` or on cancel/close. */
    expect(messageId: string, timeoutMs: number): Promise<Delivery | null> {
      return new Promise((resolve) => {
        const timer = setTimeout(() => settle(messageId, null), timeoutMs);
        waiters.set(messageId, { resolve, timer });
      });
    },
    /** Hands a delivery to its waiting request; false when nobody waits (timed out or unknown). */
    deliver: (d: Delivery) => settle(d.replyToMessageId, d),
    cancel: (messageId: string) => void settle(messageId, null),
    get size() {
      return waiters.size;
    },
    close() {
      for (const id of [...waiters.keys()]) settle(id, null);
    },
  };
}

export type PendingReplies = ReturnType<typeof createPendingReplies>;
