import { z } from 'zod';

/** The `discord:` section of the config. The token is a secret: DISCORD_TOKEN. */
export const discordConfig = z.strictObject({
  apiRoot: z.url(),
  registerSlashCommand: z.boolean(),
});
export type DiscordConfig = z.infer<typeof discordConfig>;
