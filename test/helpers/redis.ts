import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  /** Stop the server (SIGTERM; with AOF on, data written so far survives). */
  stop(): Promise<void>;
  /** Kill the server at once (SIGKILL): nothing more is written or sent to its replicas. */
  kill(): Promise<void>;
  /** Start it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stop and delete its data directory. */
  close(): Promise<void>;
}

/** A private redis-server on a free loopback port, so tests never touch a shared Redis. */
export async function startRedis(opts: { aof?: boolean; password?: string; args?: string[] } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kuakua-redis-'));
  let proc: ChildProcess | undefined;
  const url = opts.password ? `redis://:${opts.password}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`;

  const start = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', opts.aof ? 'yes' : 'no'];
    if (opts.password) args.push('--requirepass', opts.password);
    if (opts.args) args.push(...opts.args);
    proc = spawn('redis-server', args, { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.ping();
        client.disconnect();
        return;
      } catch {
        client.disconnect();
        await sleep(50);
      }
    }
    throw new Error(`redis-server did not start on port ${port}`);
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const p = proc;
    proc = undefined;
    // A process that already ended, by exiting or by a signal, fires no more 'exit': waiting for one would never end.
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  };

  await start();
  return {
    url,
    port,
    dir,
    start,
    stop: () => stop(),
    kill: () => stop('SIGKILL'),
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * How many clients wait on Redis in BZPOPMIN, as BullMQ workers do once their blocking connection is made (CLIENT
 * LIST); 0 when Redis does not answer.
 */
export async function blockedWorkers(url: string): Promise<number> {
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  admin.on('error', () => {});
  try {
    await admin.connect();
    return (String(await admin.client('LIST')).match(/cmd=bzpopmin/g) ?? []).length;
  } catch {
    return 0;
  } finally {
    admin.disconnect();
  }
}
