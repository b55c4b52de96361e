import type { AdapterDefinition } from '../../src/adapter.ts';
import { telegramConfig, type TelegramConfig } from './config.ts';
import type { TelegramOptions } from './index.ts';

export const telegramAdapter = {
  name: 'telegram',
  section: 'telegram',
  config: telegramConfig,
  env: 'TELEGRAM_BOT_TOKEN',
  optionEnv: [],
  secretEnv: ['TELEGRAM_BOT_TOKEN', 'TELEGRAM_WEBHOOK_SECRET'],
  configEnv: { TELEGRAM_API_ROOT: 'apiRoot' },
  options(section, env) {
    const token = env.TELEGRAM_BOT_TOKEN?.trim();
    if (!token) return undefined;
    const { webhook } = section;
    return {
      token,
      apiRoot: section.apiRoot,
      ...(webhook.url ? { webhook: { ...webhook, secretToken: env.TELEGRAM_WEBHOOK_SECRET?.trim() || undefined } } : {}),
    };
  },
  sdk: /node_modules[\\/](telegraf|node-fetch|sandwich-stream)[\\/]/,
  async start(ctx, options) {
    const { startTelegramAdapter } = await import('./index.ts');
    return startTelegramAdapter({ ...ctx, ...options });
  },
} satisfies AdapterDefinition<TelegramConfig, TelegramOptions, 'telegram'>;
