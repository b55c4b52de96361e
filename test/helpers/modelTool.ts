import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../tools/model/main.py', import.meta.url));

export interface ToolRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tools/model/main.py` (Python + PyTorch) and returns its output without throwing. */
export function runModelTool(args: string[], input?: string): ToolRun {
  const r = spawnSync('python3', [MAIN, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like runModelTool, but throws with the tool's stderr when it fails. */
export function modelTool(args: string[], input?: string): string {
  const r = runModelTool(args, input);
  if (r.status !== 0) throw new Error(`model tool ${args[0]} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}
