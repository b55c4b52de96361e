import { z } from 'zod';
import { secureUrl } from '../shared/url.ts';

const origin = z.url().refine((u) => URL.canParse(u) && new URL(u).origin === u, 'an origin: scheme, host and port only, no path or trailing slash');

/** The `dingtalk:` section of the config. The credentials come only from DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET. */
export const dingtalkConfig = z.strictObject({
  /** POST endpoint that opens a stream connection. Env: DINGTALK_GATEWAY_URL. */
  gatewayUrl: secureUrl('https'),
  /** Origins a message's sessionWebhook may point at: the webhook URL arrives inside the event, so it is untrusted. */
  webhookOrigins: z.array(origin).min(1),
});
export type DingtalkConfig = z.infer<typeof dingtalkConfig>;
