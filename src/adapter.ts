import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Delivery, DeliveryOptions, IncomingMessage, Platform } from './events.ts';
import type { LoginStore } from './loginState.ts';
import type { TriggerDecision } from './triggers.ts';

/** Why the core did not answer: a trigger rule, or one of its own checks. */
export type IgnoredReason =
  | Extract<TriggerDecision, { triggered: false }>['reason']
  /** Sent by a bot, this one included: dropped before anything else, so it costs no Redis command. */
  | 'from-bot'
  | 'invalid'
  | 'duplicate'
  | 'cooldown'
  | 'rate-limited'
  | 'busy'
  | 'unavailable'
  /** A distress post inside distress.repeatSeconds that asked for praise: it gets neither praise nor a second care reply. */
  | 'distress-repeat'
  /** No worker online, `noWorker: 'answer'` and `queue.onTimeout: silent`. */
  | 'no-worker';

export type HandleResult =
  | { action: 'ignored'; reason: IgnoredReason }
  | { action: 'queued'; jobId: string }
  /** Answered at once without the model: admin command, refusal, cooldown notice, busy reply, care reply. */
  | { action: 'replied'; delivery: Delivery };

export interface CoreStatus {
  redis: boolean;
  /** Which Redis the core uses (or waits for): the URL without its password, or the sentinels and the master's group. */
  redisAt: string;
  queueDepth: number;
  workers: number;
  model: string | null;
}

/** What an adapter sees of the core: hand in messages, get deliveries back. */
export interface Core {
  /** Names this process's reply queue: replies for chats it owns come back to it. */
  readonly instanceId: string;
  /** Applies triggers, cooldowns, idempotency and back-pressure, then enqueues. Never waits for the model. */
  handle(msg: IncomingMessage): Promise<HandleResult>;
  /** Registers this process's sender for a platform; replies for chats it owns are routed back to it. */
  onDelivery(platform: Platform, deliver: (d: Delivery) => Promise<void>, options?: DeliveryOptions): void;
  status(): Promise<CoreStatus>;
  close(): Promise<void>;
}

export interface RunningAdapter {
  name: string;
  stop(): Promise<void>;
}

/** How an adapter tells its supervisor (adapters/shared/supervise.ts) about trouble. */
export interface FaultReporter {
  /** A failure the adapter cannot recover from by itself: it is stopped and started again with backoff. */
  fault(err: unknown): void;
  /** An error the adapter survives: logged once per distinct message, with a repeat count. */
  warn(err: unknown, msg: string, fields?: Record<string, unknown>): void;
}

export interface AdapterContext {
  core: Core;
  logger: Logger;
  /** Set by the supervisor; an adapter started on its own logs faults instead. */
  faults?: FaultReporter;
  /** Where an adapter that logs in by QR code publishes its state for the web page; absent when nobody shows it. */
  login?: LoginStore;
}

/**
 * A platform adapter as the app sees it (satori style): its own config section, what switches it on, and a lazy
 * start, so that an SDK is imported only when its platform is configured. Each lives in `adapters/<name>/definition.ts`
 * and is listed once in `adapters/registry.ts`.
 */
export interface AdapterDefinition<Section = unknown, Options = unknown, Key extends string = string> {
  name: Exclude<Platform, 'web'>;
  /** The key of its config section: usually its name; QQ's is `onebot`, after the protocol. */
  section: Key;
  /** Its section of the config (`<section>:` in config/default.yaml), validated with the rest. */
  config: z.ZodType<Section>;
  /** The environment variables that switch it on, for "adapter off (set … to enable)". */
  env: string;
  /**
   * Environment variables its `options` reads that are neither secrets nor in `configEnv` (ids, switches). With those
   * two, every variable it reads: docker-compose.yml passes each to the bot, and .env.example lists each.
   */
  optionEnv: readonly string[];
  /** Environment variables that hold its secrets: a config file may not set them. */
  secretEnv: readonly string[];
  /**
   * Environment variables that set keys of its section (variable → key, e.g. TELEGRAM_API_ROOT → apiRoot, or a dotted
   * path, ONEBOT_REVERSE_HOST → reverse.host): validated with the config, so a bad value is a config error naming the
   * variable. `options` reads those keys from its section.
   */
  configEnv?: Readonly<Record<string, string>>;
  /** Its options from its section and the environment, or undefined when it is not configured (it stays off). */
  options(section: Section, env: NodeJS.ProcessEnv): Options | undefined;
  /** Stack frames of its SDK: an uncaught error that passes through them is the adapter's to handle. */
  sdk: RegExp;
  start(ctx: AdapterContext, options: Options): Promise<RunningAdapter>;
}

/** A start-up failure that retrying cannot fix (a rejected token, a missing puppet): the adapter is shown as failed. */
export class PermanentAdapterError extends Error {
  override name = 'PermanentAdapterError';
}
