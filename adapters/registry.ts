import type { AdapterDefinition } from '../src/adapter.ts';
import { dingtalkAdapter } from './dingtalk/definition.ts';
import { discordAdapter } from './discord/definition.ts';
import { feishuAdapter } from './feishu/definition.ts';
import { qqAdapter } from './qq/definition.ts';
import { telegramAdapter } from './telegram/definition.ts';
import { webConfig } from './web/config.ts';
import { wechatAdapter } from './wechat/definition.ts';

/** Every platform adapter the app can start, in the order they start. The web server is always on (`http:`). */
export const ADAPTERS = [telegramAdapter, discordAdapter, wechatAdapter, qqAdapter, feishuAdapter, dingtalkAdapter] as const;

type Definition = (typeof ADAPTERS)[number];

/** Each adapter's config section by its key, and the web server's `http:`. */
export type AdapterSections = { http: typeof webConfig } & { [D in Definition as D['section']]: D['config'] };

export const ADAPTER_SECTIONS = {
  http: webConfig,
  ...Object.fromEntries(ADAPTERS.map((d) => [d.section, d.config])),
} as AdapterSections;

/** The list as the app iterates it; each definition's own types are checked where it is written. */
export const DEFINITIONS: readonly AdapterDefinition[] = ADAPTERS;
