import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { qqAdapter } from '../adapters/qq/definition.ts';
import { DEFINITIONS } from '../adapters/registry.ts';
import type { AdapterDefinition } from '../src/adapter.ts';
import { loadConfig } from '../src/app/config.ts';
import { ENV_KEYS } from '../src/config.ts';
import { REPO_ROOT } from './helpers/model.ts';

// There is no Docker here: these read the Dockerfile and docker-compose.yml and check what they say.

interface Service {
  profiles?: string[];
  hostname?: string;
  command?: string | string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string | string[] };
}
const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const text = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(' ') : (v ?? ''));

/** Each `FROM … AS name` stage of the Dockerfile as its instructions, continuation lines joined. */
function stages(): Map<string, string[]> {
  const lines = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => l.trim() && !l.trimStart().startsWith('#'));
  const out = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of lines) {
    const from = /^FROM\s+\S+\s+AS\s+(\S+)/i.exec(line);
    if (from) {
      current = [];
      out.set(from[1]!, current);
    }
    current.push(line.trim());
  }
  return out;
}

const BUNDLE = '/app/.build';

describe('Docker: the CLI bundle', () => {
  it.each(['bot', 'worker'])('the %s image builds the bundle into /app/.build as root, outside any volume, and runs it from there', (name) => {
    const stage = stages().get(name)!;
    expect(stage).toBeDefined();
    const user = stage.findIndex((l) => /^USER\s+/.test(l));
    expect(user).toBeGreaterThan(0);
    expect(stage[user]).not.toMatch(/^USER\s+(root|0)\b/);
    const built = stage.findIndex((l) => /^RUN\b/.test(l) && l.includes(`node bin/bundle.mjs ${BUNDLE}`));
    expect(built, 'RUN node bin/bundle.mjs /app/.build').toBeGreaterThan(0);
    expect(built).toBeLessThan(user);
    expect(stage.some((l) => /^ENV\b/.test(l) && l.includes(`KUAKUA_BUNDLE_DIR=${BUNDLE}`))).toBe(true);
    // Nothing gives the bundle (or all of /app) to the runtime user, and no `kuakua` run builds one under .kuakua.
    for (const line of stage.filter((l) => /^RUN\b/.test(l))) {
      for (const chown of line.split(/&&|;/).filter((c) => /\bch(own|mod)\b/.test(c))) expect(chown).not.toMatch(/\.build|\s\/app\/?(\s|$)|\s\.\/?(\s|$)/);
      expect(line).not.toMatch(/bin\/kuakua\.mjs/);
    }
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const target = volume.split(':')[1]!;
        expect(BUNDLE === target || BUNDLE.startsWith(`${target.replace(/\/$/, '')}/`), volume).toBe(false);
      }
    }
  });

  it('the images carry the praise corpus (retrieval.dir) and the frames (frames.dir), which .dockerignore lets through', () => {
    const config = loadConfig({ env: {} });
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const dir of [config.retrieval.dir, config.frames.dir]) {
      expect(stages().get('app')).toContain(`COPY ${dir} /app/${dir}`);
      expect(ignored.filter((l) => l && (dir === l || dir.startsWith(`${l}/`)))).toEqual([]);
    }
  });

  it('the bot writes to its volume only on the WeChat sessions folder (wechat.memoryDir), which the image gives to its user, and reads the models (its post reader) read-only', () => {
    const config = loadConfig({ env: {} });
    const sessions = posix.join('/app', config.wechat.memoryDir);
    expect(config.reader.dir.startsWith('models/')).toBe(true);
    expect(compose.services.bot!.volumes).toEqual([`bot-sessions:${sessions}`, './models:/app/models:ro']);
    const bot = stages().get('bot')!;
    const run = bot.filter((l) => /^RUN\b/.test(l)).join(' && ');
    expect(run).toContain(`mkdir -p ${posix.relative('/app', sessions)}`);
    expect(run).toMatch(/chown -R node:node \.kuakua\b/);
  });
});

describe('Docker: Redis', () => {
  const redis = compose.services.redis!;

  it('publishes no port on the host', () => {
    expect(redis.ports).toBeUndefined();
  });

  it('requires a password, REDIS_PASSWORD, which compose refuses to run without, kept off the command line', () => {
    expect(redis.environment?.REDIS_PASSWORD).toMatch(/^\$\{REDIS_PASSWORD:\?[^}]+\}$/);
    const command = text(redis.command);
    expect(command).toContain('requirepass');
    expect(command).toContain('$$REDIS_PASSWORD');
    expect(command).not.toMatch(/--requirepass/);
    expect(text(redis.healthcheck?.test)).toContain('REDISCLI_AUTH="$$REDIS_PASSWORD"');
  });

  it('every service that uses Redis has the password in REDIS_URL', () => {
    const users = Object.entries(compose.services).filter(([, s]) => s.environment?.REDIS_URL !== undefined);
    expect(users.map(([name]) => name).sort()).toEqual(['bot', 'worker', 'worker-cpu']);
    for (const [, s] of users) expect(s.environment!.REDIS_URL).toMatch(/^redis:\/\/:\$\{REDIS_PASSWORD:\?[^}]+\}@redis:6379$/);
  });
});

/** Every variable an adapter reads: its definition's optionEnv, secretEnv and configEnv. */
const adapterEnv = (d: AdapterDefinition) => [...d.optionEnv, ...d.secretEnv, ...Object.keys(d.configEnv ?? {})];
const example = parseEnv(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8'));
/** Redis's variables: those of .env.example named REDIS_*, and any variable that sets a key of the `redis:` section. */
const redisEnv = [
  ...new Set([
    ...Object.keys(example).filter((name) => name.startsWith('REDIS_')),
    ...Object.keys(ENV_KEYS).filter((name) => ENV_KEYS[name]!.path.startsWith('redis.')),
  ]),
];
/** Which services need which variables: the bot runs every adapter, and every kuakua process reaches Redis. */
const needs: Record<string, string[]> = {
  bot: [...DEFINITIONS.flatMap(adapterEnv), ...redisEnv],
  worker: redisEnv,
  'worker-cpu': redisEnv,
};

/**
 * Whether `service` gets `name` from .env: passed as `${NAME}`, `${NAME:-…}` or `${NAME:?…}`, or set to a value of
 * compose's own that names no variable (ONEBOT_REVERSE_HOST: 0.0.0.0). REDIS_URL is compose's own Redis (above).
 */
function reaches(service: Service, name: string): boolean {
  const value = service.environment?.[name];
  if (value === undefined) return false;
  if (name === 'REDIS_URL') return true;
  return new RegExp(`^\\$\\{${name}(:?[-?][^}]*)?\\}$`).test(value) || !value.includes('$');
}

/** The environment variables a source text reads by name (`env.NAME`, `env?.NAME`, `env['NAME']`). */
const envReads = (text: string) => [...text.matchAll(/\benv(?:\?\.|\.|\[['"])([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!);

describe('Docker Compose: every variable reaches the service that needs it', () => {
  it.each(DEFINITIONS.map((d) => [d.name, d] as const))('the %s definition names every variable its code reads', (name, d) => {
    const dir = join(REPO_ROOT, 'adapters', name);
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const read = files.flatMap((f) => envReads(readFileSync(join(dir, f), 'utf8')));
    expect(read.length, `${name} reads its settings from the environment`).toBeGreaterThan(0);
    for (const variable of read) expect(adapterEnv(d), `${variable}, read in adapters/${name}`).toContain(variable);
  });

  it('.env.example lists every variable of every adapter', () => {
    for (const name of DEFINITIONS.flatMap(adapterEnv)) expect(Object.keys(example), name).toContain(name);
  });

  it.each(Object.keys(needs))('the %s service gets each variable it needs', (service) => {
    expect(needs[service]!.length).toBeGreaterThan(0);
    const missing = needs[service]!.filter((name) => !reaches(compose.services[service]!, name));
    expect(missing).toEqual([]);
  });

  it("publishes the OneBot reverse port on the host's loopback like the web port, where the bot's QQ adapter listens", () => {
    const bot = compose.services.bot!;
    for (const port of bot.ports!) expect(port).toMatch(/^127\.0\.0\.1:/);
    const published = bot.ports!.find((p) => p.includes('ONEBOT_REVERSE_PORT'));
    expect(published).toMatch(/^127\.0\.0\.1:\$\{ONEBOT_REVERSE_PORT:-6700\}:\$\{ONEBOT_REVERSE_PORT:-6700\}$/);
    const env = { ONEBOT_REVERSE_HOST: bot.environment!.ONEBOT_REVERSE_HOST!, ONEBOT_REVERSE_PORT: '6700', ONEBOT_ACCESS_TOKEN: 'token' };
    const options = qqAdapter.options(loadConfig({ env }).onebot, env);
    expect(options?.reverse).toMatchObject({ host: '0.0.0.0', port: 6700 });
  });
});

describe('Docker Compose: the sentinel profile', () => {
  const inProfile = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes('sentinel'));
  const sentinels = inProfile.filter(([, s]) => text(s.command).includes('--sentinel'));

  it('adds one replica of redis and three sentinels that watch it, none published on the host, passwords off the command line', () => {
    expect(inProfile.map(([name]) => name).sort()).toEqual(['redis-replica', 'sentinel-1', 'sentinel-2', 'sentinel-3']);
    expect(sentinels.map(([name, s]) => s.hostname ?? name)).toEqual(['sentinel-1', 'sentinel-2', 'sentinel-3']);
    expect(text(compose.services['redis-replica']!.command)).toContain('replicaof redis 6379');
    for (const [, s] of sentinels) expect(text(s.command)).toMatch(/sentinel monitor %s redis 6379 2\b/);
    for (const [name, s] of [['redis', compose.services.redis!] as const, ...inProfile]) {
      expect(s.ports, name).toBeUndefined();
      const command = text(s.command);
      expect(command, name).toContain('$$REDIS_PASSWORD');
      expect(command, name).not.toMatch(/--(requirepass|masterauth)\b|\s-a\s/);
    }
  });

  it('the bot and the workers reach it with the REDIS_SENTINELS the header and .env.example give, and the same master name', () => {
    const header = /REDIS_SENTINELS=(\S+)/.exec(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'))![1]!;
    expect(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8')).toContain(`\n# REDIS_SENTINELS=${header}\n`);
    const addresses = loadConfig({ env: { REDIS_SENTINELS: header } }).redis.sentinels.addresses;
    expect(addresses).toEqual(sentinels.map(([name]) => `${name}:26379`));
    for (const [, s] of sentinels) {
      expect(text(s.command)).toContain("printf 'port 26379");
      for (const service of Object.keys(needs)) expect(compose.services[service]!.environment!.REDIS_SENTINEL_NAME).toBe(s.environment!.REDIS_SENTINEL_NAME);
    }
  });
});
