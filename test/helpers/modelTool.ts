import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const TOOLS = fileURLToPath(new URL('../../tools/model', import.meta.url));
const SERVER = fileURLToPath(new URL('./modelToolServer.py', import.meta.url));

export interface ToolRun {
  /** The exit code, or null when a signal ended the command. */
  status: number | null;
  stdout: string;
  stderr: string;
}

interface Request {
  args: string[];
  stdin: string;
  stdout: string;
  stderr: string;
}

type Send = (req: Request) => Promise<number | null>;
let send: Send | undefined;

/** modelToolServer.py for this test file: one process that imports PyTorch once and forks a child per command. */
function startServer(): Send {
  const proc = spawn('python3', [SERVER, TOOLS], { stdio: ['pipe', 'pipe', 'inherit'] });
  // The server ends when this test file's process does, and must not keep it alive.
  proc.unref();
  for (const pipe of [proc.stdin, proc.stdout]) (pipe as Socket).unref();
  const waiting: { resolve: (status: number | null) => void; reject: (err: Error) => void }[] = [];
  createInterface({ input: proc.stdout }).on('line', (line) => waiting.shift()?.resolve(JSON.parse(line).status));
  proc.on('exit', (code, signal) => {
    send = undefined;
    for (const w of waiting.splice(0)) w.reject(new Error(`the model tool server exited (${code ?? signal}); its stderr is above`));
  });
  let last: Promise<unknown> = Promise.resolve();
  return (req) => {
    // One command at a time, in the order asked.
    const reply = last.then(
      () =>
        new Promise<number | null>((resolve, reject) => {
          waiting.push({ resolve, reject });
          proc.stdin.write(`${JSON.stringify(req)}\n`);
        }),
    );
    last = reply.catch(() => undefined);
    return reply;
  };
}

/**
 * Runs `python3 tools/model/main.py ...args` with `input` on stdin and returns its exit status and output, without
 * throwing. The command runs in a child of a server that has already imported PyTorch (modelToolServer.py), with the
 * arguments, stdin, stdout, stderr and exit status of the command line.
 */
export async function runModelTool(args: string[], input = ''): Promise<ToolRun> {
  send ??= startServer();
  const dir = mkdtempSync(join(tmpdir(), 'kuakua-tool-'));
  try {
    const req = { args, stdin: join(dir, 'stdin'), stdout: join(dir, 'stdout'), stderr: join(dir, 'stderr') };
    writeFileSync(req.stdin, input);
    writeFileSync(req.stdout, '');
    writeFileSync(req.stderr, '');
    const status = await send(req);
    return { status, stdout: readFileSync(req.stdout, 'utf8'), stderr: readFileSync(req.stderr, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Like runModelTool, but throws with the tool's stderr when it fails. */
export async function modelTool(args: string[], input?: string): Promise<string> {
  const r = await runModelTool(args, input);
  if (r.status !== 0) throw new Error(`model tool ${args[0]} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}
