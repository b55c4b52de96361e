import { describe, expect, it } from 'vitest';
import { dingtalkAdapter } from '../../adapters/dingtalk/definition.ts';
import { discordAdapter } from '../../adapters/discord/definition.ts';
import { feishuOptions } from '../../adapters/feishu/definition.ts';
import { qqAdapter } from '../../adapters/qq/definition.ts';
import { telegramAdapter } from '../../adapters/telegram/definition.ts';
import { loadConfig } from '../../src/app/config.ts';
import { ConfigError } from '../../src/config.ts';

/** Each variable that points an adapter at its platform, the config key it sets, a secure value and a plain one elsewhere. */
const ENDPOINTS = [
  ['TELEGRAM_API_ROOT', 'telegram.apiRoot', 'https://tg.example.com', 'http://tg.example.com'],
  ['DISCORD_API_ROOT', 'discord.apiRoot', 'https://discord.example.com/api', 'http://discord.example.com/api'],
  ['FEISHU_DOMAIN', 'feishu.domain', 'https://open.feishu.example.com', 'http://open.feishu.example.com'],
  ['DINGTALK_GATEWAY_URL', 'dingtalk.gatewayUrl', 'https://dingtalk.example.com/v1.0/gateway/connections/open', 'http://dingtalk.example.com/open'],
  ['ONEBOT_WS_URL', 'onebot.wsUrl', 'wss://napcat.example.com/ws', 'ws://napcat.example.com:3001'],
] as const;

const configError = (env: NodeJS.ProcessEnv): string => {
  try {
    loadConfig({ env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

const keyOf = (config: unknown, path: string): unknown => path.split('.').reduce((node, k) => (node as Record<string, unknown>)[k], config);

describe('API roots and gateway URLs from the environment', () => {
  it.each(ENDPOINTS)('%s goes through the config schema: a bad value is a one-line config error naming it', (name, key, _secure, plain) => {
    for (const value of [plain, 'not a url', 'ftp://files.example.com/']) {
      const message = configError({ [name]: value });
      expect(message).toMatch(
        new RegExp(
          `^config error: ${key.replace('.', '\\.')} = ${JSON.stringify(value).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(from env ${name}\\): expected `,
        ),
      );
      expect(message).toContain('only to a loopback host');
      expect(message).not.toContain('\n');
    }
  });

  it.each(ENDPOINTS)('%s: a secure URL anywhere, or a plain one to a loopback host, sets %s', (name, key, secure, plain) => {
    const scheme = plain.split(':')[0];
    for (const value of [secure, `${scheme}://127.0.0.1:8081/x`, `${scheme}://localhost:8081`, `${scheme}://[::1]:8081`]) {
      expect(keyOf(loadConfig({ env: { [name]: value } }), key)).toBe(value);
    }
  });

  it('FEISHU_MODE is checked like a config key, and the adapters take what the config holds', () => {
    expect(configError({ FEISHU_MODE: 'webhook' })).toMatch(
      /^config error: feishu\.mode = "webhook" \(from env FEISHU_MODE\): expected one of "websocket", "callback"/,
    );
    const env = {
      TELEGRAM_API_ROOT: 'http://127.0.0.1:8081',
      DISCORD_API_ROOT: 'http://127.0.0.1:8082/api',
      FEISHU_DOMAIN: 'lark',
      FEISHU_MODE: 'callback',
      DINGTALK_GATEWAY_URL: 'http://127.0.0.1:8083/open',
      ONEBOT_WS_URL: 'ws://127.0.0.1:3001',
    };
    const config = loadConfig({ env });
    const secrets = { TELEGRAM_BOT_TOKEN: 't', DISCORD_TOKEN: 'd', FEISHU_APP_ID: 'a', FEISHU_APP_SECRET: 's', FEISHU_VERIFICATION_TOKEN: 'v' };
    const withSecrets = { ...secrets, DINGTALK_CLIENT_ID: 'c', DINGTALK_CLIENT_SECRET: 's' };
    expect(telegramAdapter.options(config.telegram, withSecrets)?.apiRoot).toBe(env.TELEGRAM_API_ROOT);
    expect(discordAdapter.options(config.discord, withSecrets)?.apiRoot).toBe(env.DISCORD_API_ROOT);
    expect(feishuOptions(config.feishu, withSecrets)).toMatchObject({ domain: 'lark', callback: { verificationToken: 'v' } });
    expect(dingtalkAdapter.options(config.dingtalk, withSecrets)?.gatewayUrl).toBe(env.DINGTALK_GATEWAY_URL);
    expect(qqAdapter.options(config.onebot, withSecrets)?.wsUrl).toBe(env.ONEBOT_WS_URL);
  });
});
