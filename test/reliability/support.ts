import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { stringify } from 'yaml';
import { loadConfig, type AppConfig } from '../../src/app/config.ts';
import { pingRedis } from '../../src/redis.ts';
import { makeRandomModel, TEST_MODELS } from '../helpers/model.ts';
import { freePort } from '../helpers/redis.ts';
import { spawnKuakua, type KuakuaProcess } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';

const temps: string[] = [];
process.once('exit', () => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'kuakua-rel-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

/**
 * A KUAKUA_CONFIG file with the given settings, and the config it gives for redisUrl: the test's in-process
 * parts and the spawned processes read the same file, so they agree on queue names, timings and the model.
 */
export function configFile(redisUrl: string, settings: Record<string, unknown>): { path: string; config: AppConfig } {
  const path = join(tempDir(), 'kuakua.yaml');
  writeFileSync(path, stringify(settings));
  return { path, config: loadConfig({ env: { REDIS_URL: redisUrl, KUAKUA_CONFIG: path } }) };
}

/**
 * A random model that always generates maxNewTokens tokens (no early stop), so one generation lasts long enough
 * to kill a worker in the middle of it (≈2 s for 400 tokens × 4 candidates in fp32 on one thread).
 */
export async function slowModel(): Promise<string> {
  const src = await makeRandomModel(TEST_MODELS.large);
  const dir = join(tempDir('kuakua-slow-model-'), 'model');
  cpSync(src, dir, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  cfg.kuakua.generation.min_new_tokens = 1000;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}

/** `kuakua worker` against redisUrl with the config file, logging at info so "worker ready" shows. */
export async function startWorkerProcess(redisUrl: string, configPath: string, extraEnv: Record<string, string> = {}): Promise<KuakuaProcess> {
  const p = spawnKuakua(['worker'], { REDIS_URL: redisUrl, KUAKUA_CONFIG: configPath, ...extraEnv });
  await p.waitForOutput('worker ready', 'the worker to start', 90_000);
  return p;
}

/** The request queue as the bots and workers see it, for looking at job states. */
export function requestQueue(config: AppConfig, redisUrl: string): Queue {
  return new Queue(config.queue.name, { connection: { url: redisUrl }, prefix: config.redis.prefix });
}

export interface TlsRedis {
  /** rediss://:password@127.0.0.1:port */
  url: string;
  /** PEM file of the throwaway CA that signed the server certificate (for REDIS_TLS_CA). */
  caFile: string;
  close(): Promise<void>;
}

/** redis-server listening only on a TLS port, with a password and a certificate for 127.0.0.1 from a throwaway CA made with openssl. */
export async function startTlsRedis(password: string): Promise<TlsRedis> {
  const dir = tempDir('kuakua-tls-');
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=kuakua test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
  );
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--tls-cert-file',
      f('server.crt'),
      '--tls-key-file',
      f('server.key'),
      '--tls-ca-cert-file',
      f('ca.crt'),
      '--tls-auth-clients',
      'no',
      '--requirepass',
      password,
    ],
    { stdio: 'ignore' },
  );
  const url = `rediss://:${password}@127.0.0.1:${port}`;
  await waitFor(() => pingRedis(url, 500, { REDIS_TLS_CA: f('ca.crt') }), 'the TLS redis-server', 10_000);
  return {
    url,
    caFile: f('ca.crt'),
    close: async () => {
      if (proc.exitCode === null) {
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}
