import type { AdapterDefinition } from '../../src/adapter.ts';
import { qqConfig, type QqConfig } from './config.ts';
import type { QqOptions } from './index.ts';

/**
 * QQ through a OneBot v11 implementation (NapCat, Lagrange …). On when ONEBOT_WS_URL (or onebot.wsUrl) names the
 * implementation's WebSocket server (forward), or ONEBOT_REVERSE_PORT (or onebot.reverse.port) is above 0, so that
 * the implementation connects to kuakua (reverse); both may be on.
 */
export const qqAdapter = {
  name: 'qq',
  section: 'onebot',
  config: qqConfig,
  env: 'ONEBOT_WS_URL or ONEBOT_REVERSE_PORT',
  optionEnv: ['ONEBOT_REVERSE_PORT'],
  secretEnv: ['ONEBOT_ACCESS_TOKEN'],
  configEnv: { ONEBOT_WS_URL: 'wsUrl', ONEBOT_REVERSE_HOST: 'reverse.host' },
  options(section, env) {
    const { wsUrl } = section;
    const portText = env.ONEBOT_REVERSE_PORT?.trim();
    const port = portText ? Number(portText) : section.reverse.port;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('ONEBOT_REVERSE_PORT must be a port number (0 = no reverse WebSocket)');
    if (!wsUrl && port === 0) return undefined;
    return {
      ...(wsUrl ? { wsUrl } : {}),
      ...(port > 0 ? { reverse: { ...section.reverse, port } } : {}),
      accessToken: env.ONEBOT_ACCESS_TOKEN?.trim() || undefined,
      actionTimeoutMs: section.actionTimeoutMs,
      sendAttempts: section.sendAttempts,
      sendFormat: section.sendFormat,
    };
  },
  sdk: /node_modules[\\/]ws[\\/]/,
  async start(ctx, options) {
    const { startQqAdapter } = await import('./index.ts');
    return startQqAdapter({ ...ctx, ...options });
  },
} satisfies AdapterDefinition<QqConfig, QqOptions, 'onebot'>;
