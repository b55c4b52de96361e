import { z } from 'zod';

/**
 * The `http:` section of the config, which the web playground and HTTP API own. Its tokens are secrets, read from the
 * environment only: KUAKUA_API_TOKEN and KUAKUA_OPERATOR_TOKEN.
 */
export const webConfig = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  bodyLimit: z.number().int().min(1),
  rateLimitPerMinute: z.number().int().min(0),
  trustProxy: z.boolean(),
});
export type WebConfig = z.infer<typeof webConfig>;
