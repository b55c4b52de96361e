import { z } from 'zod';
import { isSecureUrl, secureUrlRule } from '../shared/url.ts';

/** Where the open platform lives: Feishu (China), Lark (international), or a base URL such as a local fake. */
const feishuDomain = z.string().refine((d) => d === 'feishu' || d === 'lark' || isSecureUrl(d, 'https'), `feishu, lark or a base ${secureUrlRule('https')}`);

/** The `feishu:` section of the config. App id and secret, verification token and encrypt key come only from the environment. */
export const feishuConfig = z.strictObject({
  /** Env: FEISHU_DOMAIN. */
  domain: feishuDomain,
  /** websocket: the SDK's long connection (no public URL needed); callback: Feishu posts events to our HTTP endpoint. Env: FEISHU_MODE. */
  mode: z.enum(['websocket', 'callback']),
  callback: z.strictObject({ host: z.string().min(1), port: z.number().int().min(0).max(65535), path: z.string().startsWith('/') }),
});

export type FeishuConfig = z.infer<typeof feishuConfig>;
