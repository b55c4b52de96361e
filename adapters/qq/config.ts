import { z } from 'zod';
import { isSecureUrl, secureUrlRule } from '../shared/url.ts';

/** The `onebot:` section of the config: how kuakua reaches a OneBot v11 implementation (NapCat, Lagrange …) for QQ. */
export const qqConfig = z.strictObject({
  /** Forward WebSocket: the implementation's WebSocket server that kuakua connects to; empty = none. Env: ONEBOT_WS_URL. */
  wsUrl: z.string().refine((u) => u === '' || isSecureUrl(u, 'wss'), `a ${secureUrlRule('wss')}, or "" for none`),
  /** Reverse WebSocket: kuakua's own server that the implementation connects to; port 0 = none. */
  reverse: z.strictObject({
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    path: z.string().startsWith('/'),
  }),
  /** How long an action (send_group_msg …) may wait for its response. */
  actionTimeoutMs: z.number().int().min(100),
  /** Attempts per message part when sending fails for a reason that may pass (timeout, lost connection). */
  sendAttempts: z.number().int().min(1),
  /** How replies are sent: segment arrays, or CQ-code strings for implementations that only take those. */
  sendFormat: z.enum(['array', 'string']),
});

export type QqConfig = z.infer<typeof qqConfig>;
