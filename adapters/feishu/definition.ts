import type { AdapterDefinition } from '../../src/adapter.ts';
import { feishuConfig, type FeishuConfig } from './config.ts';

export interface FeishuCallbackOptions {
  host: string;
  port: number;
  path: string;
  /** Checked on every callback (and the URL verification challenge). */
  verificationToken: string;
  /** Set when the app encrypts its callbacks: bodies are decrypted and their signatures checked. */
  encryptKey?: string;
}

export interface FeishuOptions {
  appId: string;
  appSecret: string;
  /** 'feishu', 'lark' or a base URL. */
  domain: string;
  /** HTTP event callbacks instead of the long connection. */
  callback?: FeishuCallbackOptions;
  /** Attempts per reply before giving up (rate limits, 5xx and network errors are retried). */
  maxSendAttempts?: number;
  /** How long the first long connection may take to open before the start counts as failed. */
  connectTimeoutMs?: number;
}

const SECRET_ENV = ['FEISHU_APP_SECRET', 'FEISHU_VERIFICATION_TOKEN', 'FEISHU_ENCRYPT_KEY'] as const;

/** Options from the `feishu:` section and the environment, or undefined without FEISHU_APP_ID and FEISHU_APP_SECRET. */
export function feishuOptions(section: FeishuConfig, env: NodeJS.ProcessEnv): FeishuOptions | undefined {
  const appId = env.FEISHU_APP_ID?.trim();
  const appSecret = env.FEISHU_APP_SECRET?.trim();
  if (!appId || !appSecret) return undefined;
  const encryptKey = env.FEISHU_ENCRYPT_KEY?.trim() || undefined;
  const verificationToken = env.FEISHU_VERIFICATION_TOKEN?.trim();
  if (section.mode === 'callback' && !verificationToken) {
    throw new Error('feishu.mode callback needs FEISHU_VERIFICATION_TOKEN (Events and Callbacks → Encryption Strategy in the developer console)');
  }
  return {
    appId,
    appSecret,
    domain: section.domain,
    ...(section.mode === 'callback' ? { callback: { ...section.callback, verificationToken: verificationToken!, encryptKey } } : {}),
  };
}

export const feishuAdapter = {
  name: 'feishu',
  section: 'feishu',
  config: feishuConfig,
  configEnv: { FEISHU_DOMAIN: 'domain', FEISHU_MODE: 'mode' },
  env: 'FEISHU_APP_ID and FEISHU_APP_SECRET',
  optionEnv: ['FEISHU_APP_ID'],
  secretEnv: SECRET_ENV,
  options: feishuOptions,
  sdk: /node_modules[\\/](@larksuiteoapi[\\/]node-sdk|axios|follow-redirects|form-data|ws|protobufjs|@protobufjs|qs)[\\/]/,
  async start(ctx, options) {
    const { startFeishuAdapter } = await import('./index.ts');
    return startFeishuAdapter({ ...ctx, ...options });
  },
} satisfies AdapterDefinition<FeishuConfig, FeishuOptions, 'feishu'>;
