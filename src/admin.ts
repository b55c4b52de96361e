import { MAX_CHORUS } from '../common/limits.ts';
import type { CoreStatus } from './adapter.ts';
import type { ChatSettingsStore } from './chatSettings.ts';
import type { Config } from './config.ts';
import type { Delivery, DeliveryKind, IncomingMessage } from './events.ts';
import { normalizeText } from './triggers.ts';

export type AdminCommandName = 'on' | 'off' | 'keywords' | 'chorus' | 'status' | 'help' | 'optout' | 'optin';
export interface AdminCommand {
  name: AdminCommandName;
  args: string[];
}

const COMMAND = /^\/kuakua_(on|off|keywords|chorus|status|help|optout|optin)(?:@\S+)?(?:\s+([\s\S]*))?$/i;
const MAX_KEYWORDS = 20;
const MAX_KEYWORD_CHARS = 20;

/** "/kuakua_keywords@my_bot 加油 冲" -> { name: 'keywords', args: ['加油', '冲'] }; anything else -> null. */
export function parseAdminCommand(text: string): AdminCommand | null {
  const m = COMMAND.exec(normalizeText(text).trim());
  if (!m) return null;
  const args = (m[2] ?? '').split(/[\s,，、]+/).filter(Boolean);
  return { name: m[1]!.toLowerCase() as AdminCommandName, args };
}

export function isAdmin(config: Config, msg: IncomingMessage): boolean {
  return msg.adminByCredential ?? (config.admins[msg.platform] ?? []).includes(msg.userId);
}

export interface AdminDeps {
  config: Config;
  settings: ChatSettingsStore;
  /** Marks the asker as not to be praised by name by others on this platform (true), or as open to it again. */
  optOut: (out: boolean) => Promise<void>;
  status: () => Promise<CoreStatus>;
}

/**
 * Runs a chat command; only admins (ids in admins.<platform>, or proved by a credential) may change settings,
 * everybody may ask for help and opt out of (or back into) being praised by name.
 */
export async function runAdminCommand(cmd: AdminCommand, msg: IncomingMessage, deps: AdminDeps): Promise<Delivery> {
  const { config, settings } = deps;
  const reply = (text: string, kind: DeliveryKind = 'admin'): Delivery => ({
    platform: msg.platform,
    chatId: msg.chatId,
    replyToMessageId: msg.messageId,
    userId: msg.userId,
    userName: msg.userName,
    text,
    kind,
    voice: config.chorus.host,
  });

  if (cmd.name === 'help') return reply(config.messages.help, 'help');
  if (cmd.name === 'optout' || cmd.name === 'optin') {
    await deps.optOut(cmd.name === 'optout');
    return reply(cmd.name === 'optout' ? config.messages.optedOut : config.messages.optedIn);
  }
  if (!isAdmin(config, msg)) return reply(config.messages.notAdmin, 'refusal');

  switch (cmd.name) {
    case 'on':
      await settings.setEnabled(msg.platform, msg.chatId, true);
      return reply(config.messages.enabled);
    case 'off':
      await settings.setEnabled(msg.platform, msg.chatId, false);
      return reply(config.messages.disabled);
    case 'keywords': {
      const keywords = [...new Set(cmd.args)].slice(0, MAX_KEYWORDS).map((k) => Array.from(k).slice(0, MAX_KEYWORD_CHARS).join(''));
      await settings.setExtraKeywords(msg.platform, msg.chatId, keywords);
      return reply(config.messages.keywordsSet.replace('{keywords}', keywords.length ? keywords.join('、') : '无'));
    }
    case 'chorus': {
      const count = Number(cmd.args[0]);
      if (!Number.isInteger(count) || count < 1 || count > MAX_CHORUS) return reply(`用法：/kuakua_chorus 1-${MAX_CHORUS}`, 'refusal');
      await settings.setChorus(msg.platform, msg.chatId, count);
      return reply(config.messages.chorusSet.replace('{count}', String(count)));
    }
    case 'status': {
      const s = await deps.status();
      const chat = await settings.get(msg.platform, msg.chatId);
      return reply(
        `夸夸状态：本群${chat.enabled === false ? '已关闭' : '已开启'}；排队 ${s.queueDepth} 条；在线 worker ${s.workers} 个；模型 ${s.model ?? '无'}；Redis ${s.redis ? '正常' : '不可用'}`,
      );
    }
  }
}
