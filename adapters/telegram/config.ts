import { z } from 'zod';
import { secureUrl } from '../shared/url.ts';

/** The `telegram:` section of the config. The token is a secret: TELEGRAM_BOT_TOKEN. */
export const telegramConfig = z.strictObject({
  /** Env: TELEGRAM_API_ROOT. */
  apiRoot: secureUrl('https'),
  webhook: z.strictObject({
    url: z.union([z.literal(''), z.url()]),
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    path: z.string().startsWith('/'),
  }),
});
export type TelegramConfig = z.infer<typeof telegramConfig>;
