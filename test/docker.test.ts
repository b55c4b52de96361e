import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../src/app/config.ts';
import { REPO_ROOT } from './helpers/model.ts';

// There is no Docker here: these read the Dockerfile and docker-compose.yml and check what they say.

interface Service {
  command?: string | string[];
  environment?: Record<string, string>;
  ports?: unknown[];
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

  it('the bot mounts its volume only on the WeChat sessions folder (wechat.memoryDir), which the image gives to its user', () => {
    const sessions = posix.join('/app', loadConfig({ env: {} }).wechat.memoryDir);
    expect(compose.services.bot!.volumes).toEqual([`bot-sessions:${sessions}`]);
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
