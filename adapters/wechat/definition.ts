import type { AdapterDefinition } from '../../src/adapter.ts';
import { wechatConfig, type WechatConfig } from './config.ts';
import type { WechatOptions } from './index.ts';

const SERVICE_PUPPET = 'wechaty-puppet-service';

export const wechatAdapter = {
  name: 'wechat',
  section: 'wechat',
  config: wechatConfig,
  env: 'WECHATY_PUPPET (or wechat.puppet) or WECHATY_PUPPET_SERVICE_TOKEN',
  optionEnv: ['WECHATY_PUPPET'],
  secretEnv: ['WECHATY_PUPPET_SERVICE_TOKEN'],
  /** WECHATY_PUPPET wins over wechat.puppet, and a service token alone selects the service puppet. */
  options(section, env) {
    const puppetToken = env.WECHATY_PUPPET_SERVICE_TOKEN?.trim() || undefined;
    const puppet = env.WECHATY_PUPPET?.trim() || section.puppet || (puppetToken ? SERVICE_PUPPET : undefined);
    if (!puppet) return undefined;
    return { puppet, puppetToken, name: section.name, memoryDir: section.memoryDir };
  },
  sdk: /node_modules[\\/](wechaty[^\\/]*|wechat4u|@grpc|@juzi[^\\/]*|brolog|gerror|state-switch|watchdog|memory-card|flash-store|file-box)[\\/]/,
  async start(ctx, options) {
    const { startWechatAdapter } = await import('./index.ts');
    return startWechatAdapter({ ...ctx, ...options });
  },
} satisfies AdapterDefinition<WechatConfig, WechatOptions, 'wechat'>;
