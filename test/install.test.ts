import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/model.ts';

// `npm ci` must need nothing but the npm registry (README, first command), and the README's CUDA command must still
// fetch onnxruntime-node's CUDA libraries. These run the package's real installer as npm runs it, with every download
// sent to a local proxy that refuses it and records what was asked for.

const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');

/** The project .npmrc's settings as npm hands them to install scripts: `npm_config_<key>`, `-` written `_`. */
function npmrcEnv(): Record<string, string> {
  const lines = read('.npmrc')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^[#;]/.test(l));
  return Object.fromEntries(
    lines.map((l) => {
      const at = l.indexOf('=');
      return [`npm_config_${l.slice(0, at).trim().replace(/-/g, '_')}`, l.slice(at + 1).trim()];
    }),
  );
}

/** The README's CUDA 12 command, `npm ci && NAME=value node SCRIPT`, in parts. */
function gpuCommand(): { line: string; name: string; value: string; script: string } {
  const m = /`npm ci && (([A-Z_]+)=(\S+) node (\S+))`/.exec(read('README.md'));
  expect(m, 'the README names its CUDA command as `npm ci && NAME=value node SCRIPT`').not.toBeNull();
  return { line: m![1]!, name: m![2]!, value: m![3]!, script: m![4]! };
}

let proxy: Server;
let proxyUrl: string;
const tunnels: string[] = [];

beforeAll(async () => {
  proxy = createServer((_req, res) => res.writeHead(403).end());
  proxy.on('connect', (req, socket) => {
    tunnels.push(req.url ?? '');
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => proxy.close(() => done())));

/** Runs onnxruntime-node's installer with only `env` (and PATH); returns its exit code and the hosts it tried to reach. */
async function runInstaller(script: string, env: Record<string, string>): Promise<{ code: number; tunnels: string[]; output: string }> {
  tunnels.length = 0;
  return new Promise((done) => {
    execFile(
      process.execPath,
      [script],
      // global-agent, which the installer bootstraps, sends every request through GLOBAL_AGENT_HTTP_PROXY.
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', GLOBAL_AGENT_HTTP_PROXY: proxyUrl, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => done({ code: err ? Number(err.code ?? 1) : 0, tunnels: [...tunnels], output: stdout + stderr }),
    );
  });
}

describe('install: npm ci needs only the npm registry, and one command adds CUDA 12', () => {
  it('with the .npmrc as npm passes it on, onnxruntime-node installs without fetching anything', async () => {
    const { script } = gpuCommand();
    const result = await runInstaller(script, npmrcEnv());
    expect(result.tunnels).toEqual([]);
    expect(result.code, result.output).toBe(0);
  });

  // onnxruntime-node fetches a CUDA provider on linux/x64 alone; elsewhere it ships what it has.
  it.skipIf(`${process.platform}/${process.arch}` !== 'linux/x64')(
    "the README's CUDA command fetches the CUDA provider from NuGet, over the .npmrc's skip",
    async () => {
      const { name, value, script } = gpuCommand();
      expect(existsSync(join(REPO_ROOT, script)), script).toBe(true);
      const result = await runInstaller(script, { ...npmrcEnv(), [name]: value });
      expect(result.tunnels).toContain('api.nuget.org:443');
      expect(result.code).not.toBe(0);
    },
  );

  it('CI runs `npm ci` as the README does, with no install variable; the images install with the .npmrc and the same CUDA command', () => {
    expect(read('README.md')).toMatch(/^```sh\nnpm ci && npm start /m);
    const ci = read('.ci/run')
      .split('\n')
      .filter((l) => l.trim() && !l.trimStart().startsWith('#'));
    expect(ci).toContain('npm ci');
    expect(ci.filter((l) => /ONNXRUNTIME_NODE_INSTALL|onnxruntime_node_install/.test(l) && !/^unset\b/.test(l))).toEqual([]);

    const docker = read('Dockerfile').replace(/\\\n\s*/g, ' ');
    const copy = docker.indexOf('COPY package.json package-lock.json .npmrc ./');
    expect(copy).toBeGreaterThan(0);
    const installs = [...docker.matchAll(/^RUN (.*\bnpm ci\b.*)$/gm)];
    expect(installs.map((m) => m[1])).toEqual(['npm ci --omit=dev --no-audit --no-fund', `npm ci --omit=dev --no-audit --no-fund && ${gpuCommand().line}`]);
    for (const m of installs) expect(m.index).toBeGreaterThan(copy);
  });
});
