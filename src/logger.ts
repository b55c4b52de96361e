import { pino, type DestinationStream, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger };

/**
 * Environment variables whose values must never appear in a log line: REDIS_URL's password, and every variable named
 * like a secret, which covers each adapter's `secretEnv` (TELEGRAM_BOT_TOKEN, FEISHU_APP_SECRET, …) without a list here.
 */
export const SECRET_ENV_NAME = /^REDIS_URL$|(TOKEN|SECRET|PASSWORD|ENCRYPT_KEY)$/;

const REDACT_PATHS = [
  'token',
  'password',
  'secret',
  'secrets',
  'apiToken',
  'redisUrl',
  'authorization',
  '*.token',
  '*.password',
  '*.secret',
  '*.secrets',
  '*.apiToken',
  '*.redisUrl',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
];

/** "redis://user:pass@host" -> "redis://user:***@host"; anything that is not a URL with a password is returned as is. */
export function redactUrl(url: string): string {
  return url.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^:@/\s]*):([^@/\s]+)@/gi, '$1$2:***@');
}

function secretValues(env: NodeJS.ProcessEnv): string[] {
  const values = new Set<string>();
  for (const [name, v] of Object.entries(env)) {
    if (!SECRET_ENV_NAME.test(name)) continue;
    if (!v || v.length < 4) continue;
    if (name === 'REDIS_URL') {
      const password = /:\/\/[^:@/\s]*:([^@/\s]+)@/.exec(v)?.[1];
      if (password) values.add(password).add(decodeURIComponent(password));
    } else values.add(v);
  }
  return [...values];
}

/** Secrets that live in no variable (the private Redis's generated password), masked from the moment they are added. */
const addedSecrets = new Set<string>();

/** Masks value, as a secret variable's is, in every scrubbed text from now on, of every logger made before or after. */
export function addSecret(value: string): void {
  addedSecrets.add(value).add(JSON.stringify(value).slice(1, -1));
}

/** Masks URL passwords and the value of every secret variable in `env`: for log lines, and for what the process publishes (adapter errors on /healthz). */
export function secretScrubber(env: NodeJS.ProcessEnv = process.env): (text: string) => string {
  const secrets = secretValues(env).flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]);
  return (text) => [...secrets, ...addedSecrets].reduce((out, s) => out.split(s).join('[REDACTED]'), redactUrl(text));
}

/** Wraps a destination so that known secret values and URL passwords are masked in every serialized line. */
export function scrubbingDestination(dest: DestinationStream, env: NodeJS.ProcessEnv = process.env): DestinationStream {
  const scrub = secretScrubber(env);
  return { write: (line: string) => dest.write(scrub(line)) };
}

export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** json: one JSON object a line; pretty: readable, coloured lines; auto (default): pretty on a terminal, else json. */
  format?: LogFormat;
  /** Where lines go; stdout by default. */
  destination?: DestinationStream;
  env?: NodeJS.ProcessEnv;
}

/** Readable lines for a person at a terminal; the JSON line is scrubbed of secrets before it is prettified. */
function prettyStdout(): DestinationStream {
  return PinoPretty({
    destination: 1,
    colorize: Boolean(process.stdout.isTTY),
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,name',
    singleLine: true,
    errorLikeObjectKeys: [],
    sync: true,
  });
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? 'auto';
  const pretty = !opts.destination && (format === 'pretty' || (format === 'auto' && Boolean(process.stdout.isTTY)));
  const dest = opts.destination ?? (pretty ? prettyStdout() : pino.destination(1));
  return pino(
    {
      level: opts.level ?? 'info',
      name: opts.name ?? 'kuakua',
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      // Errors are often logged as { name, message, code } summaries (no stack, secrets removed): keep those as they are.
      serializers: { err: (err: unknown) => (err instanceof Error ? pino.stdSerializers.err(err) : err) },
    },
    scrubbingDestination(dest, opts.env),
  );
}
