import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.ts';
import { ENV_KEYS } from '../../src/config.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { loadEnvFile } from '../../src/app/envFile.ts';
import { spawnKuakua, type KuakuaProcess } from '../helpers/cli.ts';
import { freePort, startRedis, type TestRedis } from '../helpers/redis.ts';
import { waitForBanner } from '../helpers/spawnStart.ts';

/** What a new user meets in the first hour: the CLI's answers, .env, the error texts and the log format. */
describe('first-hour polish', () => {
  let redis: TestRedis;
  let dir: string;
  let running: KuakuaProcess | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'kuakua-first-hour-'));
  });
  afterEach(async () => {
    await running?.kill();
    running = undefined;
  });
  afterAll(async () => {
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('kuakua --version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      running = spawnKuakua([flag], {});
      expect(await running.exited).toBe(0);
      expect(running.output()).toBe(`${version}\n`);
    }
  });

  it('a taken port is one line naming KUAKUA_HTTP_PORT, and `kuakua start` says so before it loads the model', async () => {
    const taken: Server = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const hint = `port ${port} on 127.0.0.1 is already in use (another kuakua?): stop that process, or choose another port with KUAKUA_HTTP_PORT (http.port)`;
      running = spawnKuakua(['bot'], { REDIS_URL: redis.url, KUAKUA_HTTP_PORT: String(port) });
      expect(await running.exited).toBe(1);
      expect(running.output()).toContain(`kuakua bot: ${hint}\n`);
      // A missing model would be the error if the model were loaded first.
      running = spawnKuakua(['start'], { REDIS_URL: redis.url, KUAKUA_HTTP_PORT: String(port), KUAKUA_MODEL_DIR: join(dir, 'no-such-model') });
      expect(await running.exited).toBe(1);
      expect(running.output()).toBe(`kuakua start: ${hint}\n`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('the refusal to serve 0.0.0.0 without a token is printed once', async () => {
    running = spawnKuakua(['start'], { REDIS_URL: redis.url, KUAKUA_HTTP_HOST: '0.0.0.0' });
    expect(await running.exited).toBe(1);
    expect(running.output().match(/Refusing to serve the web API on 0\.0\.0\.0/g)).toHaveLength(1);
    expect(running.output().trim().split('\n')).toHaveLength(1);
  });

  it('loads .env (KUAKUA_ENV_FILE names another file); a variable already in the environment wins', async () => {
    const port = await freePort();
    const file = join(dir, 'test.env');
    writeFileSync(file, `# copied from .env.example\nKUAKUA_HTTP_PORT=${port}\nREDIS_URL=redis://127.0.0.1:1\nKUAKUA_LOG_LEVEL=warn\n`);
    running = spawnKuakua(['bot'], { KUAKUA_ENV_FILE: file, REDIS_URL: redis.url, KUAKUA_LOG_LEVEL: undefined });
    expect(await waitForBanner(running, 60_000, /kuakua bot: (http:\/\/\S+)/)).toBe(`http://127.0.0.1:${port}/`);
    expect(running.output()).not.toContain('"level":30'); // KUAKUA_LOG_LEVEL=warn came from the file
    expect(await running.stop()).toBe(0);

    running = spawnKuakua(['bot'], { KUAKUA_ENV_FILE: join(dir, 'missing.env') });
    expect(await running.exited).toBe(2);
    expect(running.output()).toBe(`kuakua: KUAKUA_ENV_FILE names ${join(dir, 'missing.env')}, which does not exist\n`);
  });

  it('loadEnvFile reads .env from the working directory, and nothing when there is none or KUAKUA_ENV_FILE is empty', () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    const name = `KUAKUA_FIRST_HOUR_${process.pid}`;
    try {
      expect(loadEnvFile({}, cwd)).toBeUndefined();
      writeFileSync(join(cwd, '.env'), `${name}=from-dotenv\n`);
      expect(loadEnvFile({ KUAKUA_ENV_FILE: '' }, cwd)).toBeUndefined();
      expect(process.env[name]).toBeUndefined();
      expect(loadEnvFile({}, cwd)).toBe(join(cwd, '.env'));
      expect(process.env[name]).toBe('from-dotenv');
    } finally {
      delete process.env[name];
    }
  });

  it('.env.example matches the defaults (copying it changes nothing) and lists every variable', () => {
    const example = parseEnv(readFileSync(join(PROJECT_ROOT, '.env.example'), 'utf8'));
    expect(loadConfig({ env: example })).toEqual(loadConfig({ env: {} }));
    for (const name of Object.keys(ENV_KEYS)) expect(Object.keys(example), name).toContain(name);
  });

  it('a YAML error names the line and column once, with no dangling colon', () => {
    const file = join(dir, 'broken.yaml');
    for (const text of ['http:\n  port: [1, 2\n', 'a: b: c\n', 'x:\n\t- 1\n']) {
      writeFileSync(file, text);
      expect(() => loadConfig({ env: { KUAKUA_CONFIG: file } })).toThrow(
        /^config error: KUAKUA_CONFIG file \S+ is not valid YAML at line \d+, column \d+: [^\n]*[^:\n]$/,
      );
      try {
        loadConfig({ env: { KUAKUA_CONFIG: file } });
      } catch (err) {
        expect((err as Error).message.match(/at line/g)).toHaveLength(1);
      }
    }
  });

  it('logs readable lines with KUAKUA_LOG_FORMAT=pretty (the default on a terminal) and JSON otherwise, secrets masked either way', async () => {
    const token = '123456:pretty-log-secret-token';
    const env = { REDIS_URL: redis.url, TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_ROOT: `http://127.0.0.1:${await freePort()}` };
    running = spawnKuakua(['bot'], { ...env, KUAKUA_HTTP_PORT: String(await freePort()), KUAKUA_LOG_FORMAT: 'pretty' });
    await waitForBanner(running, 60_000, /kuakua bot: (http:\/\/\S+)/);
    await running.waitForOutput('telegram: could not start', 'the telegram retry line');
    const pretty = running.output();
    expect(pretty).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: web: playground and API listening /m);
    expect(pretty).toMatch(/^\[\d\d:\d\d:\d\d\] WARN: telegram: could not start \(ECONNREFUSED /m);
    expect(pretty).not.toMatch(/^\{/m);
    expect(pretty).not.toContain('pretty-log-secret-token');
    expect(await running.stop()).toBe(0);

    running = spawnKuakua(['bot'], { ...env, KUAKUA_HTTP_PORT: String(await freePort()) });
    await waitForBanner(running, 60_000, /kuakua bot: (http:\/\/\S+)/);
    expect(running.output()).toMatch(/^\{"level":30,.*"msg":"web: playground and API listening"\}$/m);
    expect(await running.stop()).toBe(0);
  });
});
