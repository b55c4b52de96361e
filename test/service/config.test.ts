import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.ts';
import { DEFINITIONS } from '../../adapters/registry.ts';
import { ConfigError } from '../../src/config.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { PLATFORMS } from '../../src/events.ts';
import { SECRET_ENV_NAME } from '../../src/logger.ts';
import { testConfig } from './support.ts';

const root = mkdtempSync(join(tmpdir(), 'kuakua-config-'));
mkdirSync(join(root, 'config'));
copyFileSync(join(PROJECT_ROOT, 'config/default.yaml'), join(root, 'config/default.yaml'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function withFiles(local: string | undefined, extra?: string) {
  const localFile = join(root, 'config/local.yaml');
  rmSync(localFile, { force: true });
  if (local !== undefined) writeFileSync(localFile, local);
  const extraFile = join(root, 'extra.yaml');
  if (extra !== undefined) writeFileSync(extraFile, extra);
  return extra !== undefined ? { KUAKUA_CONFIG: extraFile } : {};
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('loads the documented defaults', () => {
    const c = loadConfig({ root, env: withFiles(undefined) });
    expect(c.triggers.keywords).toEqual(['求夸', '夸我', '求表扬', '求鼓励']);
    expect(c.http).toMatchObject({ host: '127.0.0.1', port: 8787 });
    expect(c.secrets).toEqual({ redisUrl: 'redis://127.0.0.1:6379' });
    expect(c.policy.blocklist.length).toBeGreaterThan(20);
  });

  it('applies local.yaml, then KUAKUA_CONFIG, then env, merging mappings and replacing lists', () => {
    const env = {
      ...withFiles('http:\n  port: 9000\ntriggers:\n  keywords: [夸夸]\nqueue:\n  maxDepth: 5\n', 'http:\n  port: 9100\nqueue:\n  onFull: silent\n'),
      KUAKUA_HTTP_HOST: '0.0.0.0',
      KUAKUA_MODEL_VARIANT: 'q4',
      REDIS_URL: 'rediss://:pw@redis.example:6380/2',
    };
    const c = loadConfig({ root, env });
    expect(c.http).toMatchObject({ host: '0.0.0.0', port: 9100 });
    expect(c.triggers.keywords).toEqual(['夸夸']);
    expect(c.triggers.mentionRequiredInGroups).toBe(false);
    expect(c.queue).toMatchObject({ maxDepth: 5, onFull: 'silent', timeoutMs: 30000 });
    expect(c.model.variant).toBe('q4');
    expect(c.secrets).toEqual({ redisUrl: 'rediss://:pw@redis.example:6380/2' });
    expect(loadConfig({ root, env: { ...env, KUAKUA_HTTP_PORT: '9200' } }).http.port).toBe(9200);
  });

  it.each([
    ['malformed YAML', 'http:\n  port: [1, 2\n', /config\/local\.yaml is not valid YAML at line \d+/],
    ['a list at the top', '- a\n- b\n', /must be a YAML mapping/],
    ['wrong type', 'http:\n  port: "eighty"\n', /http\.port = "eighty" \(from config\/local\.yaml\): expected number/],
    ['number out of range', 'queue:\n  maxDepth: 0\n', /queue\.maxDepth = 0 .*expected a number >= 1/],
    ['unknown enum value', 'queue:\n  onTimeout: panic\n', /queue\.onTimeout = "panic" .*expected one of "fallback", "busy", "silent"/],
    ['misspelt key', 'triggers:\n  keyword: [夸]\n', /triggers.*unknown key keyword/],
    ['list of the wrong type', 'admins:\n  telegram: [12345]\n', /admins\.telegram\.0 = 12345 .*expected string/],
    ['bad chat key', 'chats:\n  nowhere:\n    enabled: true\n', /chats\.nowhere/],
    [
      'a secret in a file',
      'telegram:\n  token: "123:abc"\n',
      /telegram\.token in config\/local\.yaml: secrets are read only from the environment \(.*TELEGRAM_BOT_TOKEN/,
    ],
    ['an adapter section it does not know', 'slack:\n  apiRoot: https://slack.com\n', /unknown key slack/],
    ['a bad value in an adapter section', 'discord:\n  registerSlashCommand: "yes"\n', /discord\.registerSlashCommand = "yes" .*expected boolean/],
  ])('names the key for %s', (_name, yaml, pattern) => {
    const message = errorOf(() => loadConfig({ root, env: withFiles(yaml) }));
    expect(message).toMatch(pattern);
    expect(message).not.toContain('\n');
  });

  it('takes keys that merely contain "token" (model.maxNewTokens) from a file, but refuses one that names a secret', () => {
    expect(loadConfig({ root, env: withFiles('model:\n  maxNewTokens: 400\n') }).model.maxNewTokens).toBe(400);
    expect(errorOf(() => loadConfig({ root, env: withFiles('discord:\n  botToken: abc\n') }))).toMatch(/discord\.botToken in config\/local\.yaml: secrets/);
  });

  it.each([
    [{ KUAKUA_HTTP_PORT: 'abc' }, /http\.port = "abc" \(from env KUAKUA_HTTP_PORT\): expected number/],
    [{ KUAKUA_HTTP_PORT: '99999' }, /http\.port = 99999 \(from env KUAKUA_HTTP_PORT\): expected a number <= 65535/],
    [{ KUAKUA_MODEL_VARIANT: 'fp16' }, /model\.variant = "fp16" \(from env KUAKUA_MODEL_VARIANT\)/],
    [{ KUAKUA_LOG_LEVEL: 'loud' }, /log\.level = "loud"/],
    [{ KUAKUA_CONFIG: '/nonexistent/kuakua.yaml' }, /KUAKUA_CONFIG names \/nonexistent\/kuakua\.yaml, which does not exist/],
    [{ REDIS_URL: 'http://user:hunter2@host' }, /REDIS_URL .*expected a redis:\/\/ or rediss:\/\/ URL/],
  ])('names the variable for bad env %j', (env, pattern) => {
    withFiles(undefined);
    const message = errorOf(() => loadConfig({ root, env }));
    expect(message).toMatch(pattern);
    expect(message).not.toContain('hunter2');
  });

  it('the CLI prints the error on one line and exits non-zero', () => {
    const bad = join(root, 'bad.yaml');
    writeFileSync(bad, 'worker:\n  concurrency: lots\n');
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin/kuakua.mjs'), 'worker'], {
      env: { ...process.env, KUAKUA_CONFIG: bad, REDIS_URL: 'redis://127.0.0.1:1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`config error: worker.concurrency = "lots" (from KUAKUA_CONFIG file ${bad}): expected number`]);
  });
});

describe("testConfig (the tests' config helper)", () => {
  const url = 'redis://127.0.0.1:1';

  it('applies a patch that fits the schema', () => {
    expect(testConfig(url, { queue: { timeoutMs: 5 } }).queue.timeoutMs).toBe(5);
  });

  it('refuses a misspelt key or a wrong type, naming it', () => {
    expect(() => testConfig(url, { queue: { timeoutMss: 5 } } as never)).toThrow(/"timeoutMss"[\s\S]*at queue/);
    expect(() => testConfig(url, { queue: { timeoutMs: 'soon' } } as never)).toThrow(/queue\.timeoutMs/);
  });
});

describe('the adapter registry', () => {
  it('gives every platform but the web one definition, each with its section in config/default.yaml', () => {
    const shipped = loadConfig({ env: {} }) as Record<string, unknown>;
    expect(DEFINITIONS.map((d) => d.name).sort()).toEqual(PLATFORMS.filter((p) => p !== 'web').sort());
    for (const d of DEFINITIONS) expect(shipped[d.section], d.section).toBeTypeOf('object');
  });

  it('leaves every adapter off in an empty environment, and the logger masks every secret an adapter reads', () => {
    const shipped = loadConfig({ env: {} }) as Record<string, unknown>;
    for (const d of DEFINITIONS) {
      expect(d.options(shipped[d.section], {}), d.name).toBeUndefined();
      for (const name of d.secretEnv) expect(name).toMatch(SECRET_ENV_NAME);
    }
  });
});
