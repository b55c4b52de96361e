import type { Config } from './config.ts';
import type { ChorusReply, Platform, Voice } from './events.ts';
import type { Intent } from './intents.ts';
import { toneOf } from './tone.ts';

/** The chat's chorus: what its admins set (/kuakua_chorus), else the config's entry for the chat, else the platform's. */
export function chatChorus(config: Config, platform: Platform, chatId: string, stored?: number): number {
  return stored ?? config.chats[`${platform}:${chatId}`]?.chorus ?? config.chorus.byPlatform[platform] ?? config.chorus.default;
}

export interface ChorusAsk {
  /** The chat's chorus (`chatChorus`). */
  chat: number;
  /** What the ask asked for (the web API's `chorus`): never more than the chat's. */
  requested?: number;
  post: string;
  intent?: Intent;
  /** Requests waiting, and how many may wait before the queue is full (the platform's share of queue.maxDepth). */
  depth: number;
  limit: number;
}

/**
 * How many replies one ask gets. A post that calls for comfort gets at most `gentleMax` (a cheering crowd does not
 * fit a sad day), and a queue filling up shrinks the chorus in proportion to the room left, down to one, so that
 * nobody is refused while a chorus could still be cut.
 */
export function chorusSize(ask: ChorusAsk, gentleMax: number): number {
  let n = Math.min(ask.chat, ask.requested ?? ask.chat);
  const tone = toneOf(ask.post, ask.intent);
  if (tone === 'sad' || tone === 'anxious') n = Math.min(n, gentleMax);
  const room = Math.max(0, ask.limit - ask.depth) / ask.limit;
  return Math.max(1, Math.ceil(n * room));
}

/** The voices of `count` replies: the bot itself for one, else members in turn from a random one, none twice. */
export function chorusVoices(chorus: Config['chorus'], count: number, random: () => number = Math.random): Voice[] {
  if (count <= 1) return [chorus.host];
  const start = Math.floor(random() * chorus.voices.length);
  return Array.from({ length: count }, (_, i) => chorus.voices[(start + i) % chorus.voices.length]!);
}

/** A chorus reply as a platform message: its voice named by chorus.label. */
export function labelled(label: string, reply: ChorusReply): string {
  return label.replace('{voice}', reply.voice.name).replace('{text}', reply.text);
}
