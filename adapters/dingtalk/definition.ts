import type { AdapterDefinition } from '../../src/adapter.ts';
import { dingtalkConfig, type DingtalkConfig } from './config.ts';
import type { DingtalkOptions } from './options.ts';

export const dingtalkAdapter = {
  name: 'dingtalk',
  section: 'dingtalk',
  config: dingtalkConfig,
  env: 'DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET',
  optionEnv: ['DINGTALK_CLIENT_ID'],
  secretEnv: ['DINGTALK_CLIENT_SECRET'],
  configEnv: { DINGTALK_GATEWAY_URL: 'gatewayUrl' },
  options(section, env) {
    const clientId = env.DINGTALK_CLIENT_ID?.trim();
    const clientSecret = env.DINGTALK_CLIENT_SECRET?.trim();
    if (!clientId || !clientSecret) return undefined;
    return {
      clientId,
      clientSecret,
      gatewayUrl: section.gatewayUrl,
      webhookOrigins: section.webhookOrigins,
    };
  },
  sdk: /node_modules[\\/](dingtalk-stream|ws|axios)[\\/]/,
  async start(ctx, options) {
    const { startDingtalkAdapter } = await import('./index.ts');
    return startDingtalkAdapter({ ...ctx, ...options });
  },
} satisfies AdapterDefinition<DingtalkConfig, DingtalkOptions, 'dingtalk'>;
