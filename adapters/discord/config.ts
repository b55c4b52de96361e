import { z } from 'zod';
import { secureUrl } from '../shared/url.ts';

/** The `discord:` section of the config. The token is a secret: DISCORD_TOKEN. */
export const discordConfig = z.strictObject({
  /** Env: DISCORD_API_ROOT. */
  apiRoot: secureUrl('https'),
  registerSlashCommand: z.boolean(),
});
export type DiscordConfig = z.infer<typeof discordConfig>;
