import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { MAX_CHORUS } from '../common/limits.ts';
import { PLATFORMS } from './events.ts';
import { PROJECT_ROOT } from './projectRoot.ts';

const strings = z.array(z.string().min(1));
const count = z.number().int().min(0);
const positive = z.number().int().min(1);

/** "host:port" or "[v6 address]:port". */
const hostPort = z
  .string()
  .regex(/^(\[[\da-fA-F:.]+\]|[\w.-]+):\d{1,5}$/, { message: 'host:port', abort: true })
  .refine((s) => {
    const port = Number(s.slice(s.lastIndexOf(':') + 1));
    return port >= 1 && port <= 65535;
  }, 'a port from 1 to 65535');

const chatOverrideSchema = z.strictObject({
  enabled: z.boolean().optional(),
  extraKeywords: strings.optional(),
  mentionRequired: z.boolean().optional(),
  chorus: z.number().int().min(1).max(MAX_CHORUS).optional(),
});

const voiceSchema = z.strictObject({ name: z.string().min(1).max(16), avatar: z.string().min(1).max(4) });

const distressSchema = z.strictObject({
  patterns: strings,
  exceptions: strings,
  reply: z.string().min(1),
  replyTraditional: z.string(),
  repeatSeconds: count,
});

/** The core's sections of the config; the app adds each adapter's own section (`src/app/config.ts`). */
export const coreConfigSchema = z.strictObject({
  log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']), format: z.enum(['auto', 'json', 'pretty']) }),
  instance: z.strictObject({ id: z.string().regex(/^[\w.-]*$/, 'letters, digits, "_", "-" or "."') }),
  redis: z.strictObject({
    // Braced, the prefix is one Redis Cluster hash tag: every key kuakua writes lands in the same slot.
    prefix: z
      .string()
      .regex(/^([\w-]+|\{[\w-]+\})$/, 'letters, digits, "_" or "-"')
      .transform((name) => (name.startsWith('{') ? name : `{${name}}`)),
    autoStart: z.boolean(),
    dataDir: z.string().min(1),
    sentinels: z.strictObject({ addresses: z.array(hostPort), name: z.string().regex(/^[\w.-]+$/, 'letters, digits, "_", "-" or "."') }),
    tls: z.boolean(),
  }),
  triggers: z.strictObject({
    keywords: strings,
    friendKeywords: strings,
    mentionRequiredInGroups: z.boolean(),
    privateChats: z.boolean(),
    genericPost: z.string().min(1),
  }),
  chats: z.record(z.string().regex(new RegExp(`^(${PLATFORMS.join('|')}):.+$`), '"<platform>:<chatId>"'), chatOverrideSchema),
  cooldown: z.strictObject({
    userSeconds: count,
    byPlatform: z.partialRecord(z.enum(PLATFORMS), count),
    notify: z.boolean(),
  }),
  rateLimit: z.strictObject({ chatPerMinute: count }),
  distress: distressSchema,
  reader: z.strictObject({ dir: z.string(), timeoutMs: positive }),
  queue: z.strictObject({
    name: z.string().regex(/^[\w-]+$/, 'letters, digits, "_" or "-"'),
    maxDepth: positive,
    shareByPlatform: z.partialRecord(z.enum(PLATFORMS), z.number().gt(0).max(1)),
    onFull: z.enum(['busy', 'silent']),
    timeoutMs: positive,
    onTimeout: z.enum(['fallback', 'busy', 'silent']),
    attempts: positive,
    backoff: z.strictObject({ type: z.enum(['fixed', 'exponential']), delayMs: count }),
    lockDurationMs: z.number().int().min(1000),
    stalledIntervalMs: z.number().int().min(1000),
    redisWaitMs: positive,
    retention: z.strictObject({ completed: count, failed: count, ageSeconds: positive, orphanSeconds: positive, dedupeSeconds: positive }),
  }),
  worker: z.strictObject({
    concurrency: positive,
    heartbeatSeconds: positive,
    shutdownTimeoutMs: positive,
  }),
  model: z.strictObject({
    dir: z.string().min(1),
    variant: z.enum(['fp32', 'int8', 'q4']),
    threads: count,
    replicas: count,
    executionProvider: z.enum(['cpu', 'cuda']),
    candidates: positive,
    minCandidates: positive,
    maxNewTokens: positive,
    judgeDir: z.string(),
  }),
  retrieval: z.strictObject({ dir: z.string(), posts: count, minSimilarity: z.number().min(0).max(1) }),
  frames: z.strictObject({ dir: z.string() }),
  policy: z.strictObject({
    historySize: count,
    maxReplyChars: positive,
    minReplyChars: count,
    resampleAttempts: count,
    score: z.strictObject({ bias: z.number(), logprob: z.number(), judge: z.number(), chars: z.number() }),
    retrievedScore: z.strictObject({ bias: z.number(), judge: z.number(), similarity: z.number(), chars: z.number() }),
    minScore: z.number(),
    minScoreOverFrame: z.number(),
    maxSendsPerDay: count,
    blocklist: strings,
  }),
  chorus: z.strictObject({
    default: z.number().int().min(1).max(MAX_CHORUS),
    byPlatform: z.partialRecord(z.enum(PLATFORMS), z.number().int().min(1).max(MAX_CHORUS)),
    gentleMax: z.number().int().min(1).max(MAX_CHORUS),
    gapMs: count,
    voices: z.array(voiceSchema).min(MAX_CHORUS),
    host: voiceSchema,
    label: z.string().includes('{voice}').includes('{text}'),
  }),
  admins: z.partialRecord(z.enum(PLATFORMS), strings),
  messages: z.strictObject({
    busy: z.string().min(1),
    cooldown: z.string().min(1),
    help: z.string().min(1),
    notAdmin: z.string().min(1),
    enabled: z.string().min(1),
    disabled: z.string().min(1),
    keywordsSet: z.string().min(1),
    chorusSet: z.string().includes('{count}'),
    optedOut: z.string().min(1),
    optedIn: z.string().min(1),
    friendIsBot: z.string().min(1),
    friendNotInChat: z.string().min(1),
    friendOptedOut: z.string().min(1),
  }),
});

/** The core's secrets; each adapter reads its own from the environment (`secretEnv` of its definition). */
export interface Secrets {
  redisUrl: string;
  /** REDIS_PASSWORD: the data nodes' password when connecting through Sentinel (a URL carries its own). */
  redisPassword?: string;
  /** REDIS_SENTINEL_PASSWORD: the sentinels' own password, when they require one. */
  redisSentinelPassword?: string;
  /** KUAKUA_API_TOKEN: guards the HTTP API. */
  apiToken?: string;
  /** KUAKUA_OPERATOR_TOKEN: a web request carrying it is the web admin, and may read the full /healthz and /api/login. */
  operatorToken?: string;
}

/** What the core sees of the config. */
export type Config = z.infer<typeof coreConfigSchema> & { secrets: Secrets };
export type ChatOverride = z.infer<typeof chatOverrideSchema>;
export type DistressConfig = z.infer<typeof distressSchema>;

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** How an environment variable's text becomes a value: `list` splits at commas, `boolean` takes 1/0, true/false, yes/no. */
export type EnvKind = 'string' | 'number' | 'list' | 'boolean';

/** Environment variables that override config keys (secrets are separate, see SECRET_ENV). */
export const ENV_KEYS: Record<string, { path: string; kind: EnvKind }> = {
  REDIS_SENTINELS: { path: 'redis.sentinels.addresses', kind: 'list' },
  REDIS_SENTINEL_NAME: { path: 'redis.sentinels.name', kind: 'string' },
  REDIS_TLS: { path: 'redis.tls', kind: 'boolean' },
  KUAKUA_LOG_LEVEL: { path: 'log.level', kind: 'string' },
  KUAKUA_LOG_FORMAT: { path: 'log.format', kind: 'string' },
  KUAKUA_INSTANCE_ID: { path: 'instance.id', kind: 'string' },
  KUAKUA_HTTP_HOST: { path: 'http.host', kind: 'string' },
  KUAKUA_HTTP_PORT: { path: 'http.port', kind: 'number' },
  KUAKUA_MODEL_DIR: { path: 'model.dir', kind: 'string' },
  KUAKUA_JUDGE_DIR: { path: 'model.judgeDir', kind: 'string' },
  KUAKUA_READER_DIR: { path: 'reader.dir', kind: 'string' },
  KUAKUA_RETRIEVAL_DIR: { path: 'retrieval.dir', kind: 'string' },
  KUAKUA_FRAMES_DIR: { path: 'frames.dir', kind: 'string' },
  KUAKUA_MODEL_VARIANT: { path: 'model.variant', kind: 'string' },
  KUAKUA_MODEL_THREADS: { path: 'model.threads', kind: 'number' },
  KUAKUA_MODEL_REPLICAS: { path: 'model.replicas', kind: 'number' },
  KUAKUA_EXECUTION_PROVIDER: { path: 'model.executionProvider', kind: 'string' },
  KUAKUA_WORKER_CONCURRENCY: { path: 'worker.concurrency', kind: 'number' },
  KUAKUA_QUEUE_MAX_DEPTH: { path: 'queue.maxDepth', kind: 'number' },
  KUAKUA_QUEUE_TIMEOUT_MS: { path: 'queue.timeoutMs', kind: 'number' },
};

const SECRET_ENV: Record<keyof Secrets, string> = {
  redisUrl: 'REDIS_URL',
  redisPassword: 'REDIS_PASSWORD',
  redisSentinelPassword: 'REDIS_SENTINEL_PASSWORD',
  apiToken: 'KUAKUA_API_TOKEN',
  operatorToken: 'KUAKUA_OPERATOR_TOKEN',
};

/** Keys that look like secrets; a config file containing them is refused so tokens live only in the environment. */
// Matched at the end of a key, so "botToken" or "password" is refused but "maxNewTokens" is an ordinary setting.
const SECRET_KEY = /(token|password|passwd|secrets?|redisUrl)$/i;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadConfigOptions {
  /** Project root holding config/default.yaml; defaults to this package's root. */
  root?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ReadConfigOptions<Schema extends typeof coreConfigSchema> extends LoadConfigOptions {
  /** The core's schema, extended with the sections beside it (the adapters' `<name>:` sections). */
  schema: Schema;
  /** Environment variables that hold the adapters' secrets, named when a config file tries to set one. */
  secretEnv: readonly string[];
  /** Environment variables that set the adapters' keys, beside ENV_KEYS. */
  envKeys?: Readonly<Record<string, { path: string; kind: EnvKind }>>;
}

type Tree = Record<string, unknown>;
const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

function readYaml(file: string, label: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config error: cannot read ${label}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
    // The parser's first line repeats the position and ends in a colon that introduced its code excerpt.
    const reason = (err as Error).message
      .split('\n')[0]!
      .replace(/\s*at line \d+, column \d+:?\s*$/, '')
      .replace(/:\s*$/, '');
    throw new ConfigError(`config error: ${label} is not valid YAML${where}: ${reason}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isTree(doc)) throw new ConfigError(`config error: ${label} must be a YAML mapping of keys, got ${describe(doc)}`);
  return doc;
}

function findSecretKey(tree: Tree, prefix = ''): string | undefined {
  for (const [k, v] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (SECRET_KEY.test(k)) return path;
    if (isTree(v) && path !== 'messages' && path !== 'chats') {
      const found = findSecretKey(v, path);
      if (found) return found;
    }
  }
  return undefined;
}

function merge(base: Tree, over: Tree, sources: Map<string, string>, label: string, prefix = ''): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (isTree(v) && isTree(out[k])) out[k] = merge(out[k] as Tree, v, sources, label, path);
    else {
      out[k] = v;
      sources.set(path, label);
    }
  }
  return out;
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const k of keys.slice(0, -1)) {
    if (!isTree(node[k])) node[k] = {};
    node = node[k] as Tree;
  }
  node[keys.at(-1)!] = value;
}

function getPath(tree: unknown, path: PropertyKey[]): unknown {
  let node = tree;
  for (const k of path) node = isTree(node) || Array.isArray(node) ? (node as Tree)[k as string] : undefined;
  return node;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function sourceOf(path: string, sources: Map<string, string>): string {
  for (let p = path; p; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
    const s = sources.get(p);
    if (s) return s;
  }
  return 'config/default.yaml';
}

function expectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    case 'too_small':
      return issue.origin === 'string' || issue.origin === 'array'
        ? `expected at least ${issue.minimum} ${issue.origin === 'string' ? 'characters' : 'items'}`
        : `expected a number >= ${issue.minimum}`;
    case 'too_big':
      return `expected a number <= ${issue.maximum}`;
    default:
      return `expected ${issue.message.replace(/^Invalid (string: )?/i, '').replace(/^must match pattern .*$/, 'a valid value')}`;
  }
}

/** A variable's text as the kind of value its key takes; text that is no such value is kept, for the schema to name. */
function envValue(raw: string, kind: EnvKind): unknown {
  if (kind === 'number' && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (kind === 'list') return raw.split(',').flatMap((item) => item.trim() || []);
  if (kind === 'boolean' && /^(1|true|yes|on)$/i.test(raw)) return true;
  if (kind === 'boolean' && /^(0|false|no|off)$/i.test(raw)) return false;
  return raw;
}

/**
 * Loads config/default.yaml, config/local.yaml, the KUAKUA_CONFIG file and the environment, merged in that order, and
 * validates them with `schema` (the core's sections and the adapters'); throws ConfigError with a one-line message naming the key.
 */
export function readConfig<Schema extends typeof coreConfigSchema>(opts: ReadConfigOptions<Schema>): z.infer<Schema> & { secrets: Secrets } {
  const root = opts.root ?? PROJECT_ROOT;
  const env = opts.env ?? process.env;
  const sources = new Map<string, string>();
  let tree = readYaml(join(root, 'config/default.yaml'), 'config/default.yaml');

  const overrides: [string, string][] = [[join(root, 'config/local.yaml'), 'config/local.yaml']];
  if (env.KUAKUA_CONFIG) {
    const file = isAbsolute(env.KUAKUA_CONFIG) ? env.KUAKUA_CONFIG : resolve(env.KUAKUA_CONFIG);
    if (!existsSync(file)) throw new ConfigError(`config error: KUAKUA_CONFIG names ${env.KUAKUA_CONFIG}, which does not exist`);
    overrides.push([file, `KUAKUA_CONFIG file ${env.KUAKUA_CONFIG}`]);
  }
  for (const [file, label] of overrides) {
    if (!existsSync(file)) continue;
    const over = readYaml(file, label);
    const secretKey = findSecretKey(over);
    if (secretKey) {
      const names = [...Object.values(SECRET_ENV), ...opts.secretEnv].join(', ');
      throw new ConfigError(`config error: ${secretKey} in ${label}: secrets are read only from the environment (${names})`);
    }
    tree = merge(tree, over, sources, label);
  }

  for (const [name, { path, kind }] of Object.entries({ ...ENV_KEYS, ...opts.envKeys })) {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') continue;
    setPath(tree, path, envValue(raw, kind));
    sources.set(path, `env ${name}`);
  }

  const result = opts.schema.safeParse(tree);
  if (!result.success) {
    const problems = result.error.issues.slice(0, 3).map((issue) => {
      const path = issue.path.map(String).join('.') || '(top level)';
      const value = issue.code === 'unrecognized_keys' ? '' : ` = ${describe(getPath(tree, issue.path))}`;
      return `${path}${value} (from ${sourceOf(path, sources)}): ${expectation(issue)}`;
    });
    const more = result.error.issues.length > 3 ? ` (and ${result.error.issues.length - 3} more)` : '';
    throw new ConfigError(`config error: ${problems.join('; ')}${more}`);
  }

  const secrets: Secrets = { redisUrl: env.REDIS_URL || DEFAULT_REDIS_URL };
  for (const [key, name] of Object.entries(SECRET_ENV) as [keyof Secrets, string][]) {
    if (key !== 'redisUrl' && env[name]) secrets[key] = env[name];
  }
  if (!/^rediss?:\/\//.test(secrets.redisUrl)) {
    throw new ConfigError('config error: REDIS_URL (from env REDIS_URL): expected a redis:// or rediss:// URL');
  }
  // redis.tls (REDIS_TLS) asks for TLS to the URL's server too, as rediss:// does.
  if ((result.data as z.infer<typeof coreConfigSchema>).redis.tls) secrets.redisUrl = secrets.redisUrl.replace(/^redis:\/\//, 'rediss://');
  return { ...(result.data as z.infer<Schema>), secrets };
}

/** The core's sections of config/default.yaml alone, for commands that read no other config (`kuakua praise`). */
export function shippedConfig(root = PROJECT_ROOT): z.infer<typeof coreConfigSchema> {
  return coreConfigSchema.strip().parse(readYaml(join(root, 'config/default.yaml'), 'config/default.yaml'));
}

/** The `distress` section as shipped in config/default.yaml. */
export function defaultDistressConfig(root = PROJECT_ROOT): DistressConfig {
  return shippedConfig(root).distress;
}
