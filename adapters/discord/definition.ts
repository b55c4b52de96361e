import type { AdapterDefinition } from '../../src/adapter.ts';
import { discordConfig, type DiscordConfig } from './config.ts';
import type { DiscordOptions } from './index.ts';

export const discordAdapter = {
  name: 'discord',
  section: 'discord',
  config: discordConfig,
  env: 'DISCORD_TOKEN',
  optionEnv: [],
  secretEnv: ['DISCORD_TOKEN'],
  configEnv: { DISCORD_API_ROOT: 'apiRoot' },
  options(section, env) {
    const token = env.DISCORD_TOKEN?.trim();
    if (!token) return undefined;
    return { token, apiRoot: section.apiRoot, registerSlashCommand: section.registerSlashCommand };
  },
  sdk: /node_modules[\\/](discord\.js|@discordjs|@sapphire|@vladfrangu|undici|ws)[\\/]/,
  async start(ctx, options) {
    const { startDiscordAdapter } = await import('./index.ts');
    return startDiscordAdapter({ ...ctx, ...options });
  },
} satisfies AdapterDefinition<DiscordConfig, DiscordOptions, 'discord'>;
