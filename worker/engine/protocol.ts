import type { Variant } from './config.ts';
import type { BatchingPolicy } from './scheduler.ts';
import type { ExecutionProvider } from './session.ts';
import type { GenerateRequest, GenerateResult } from './types.ts';

/** Messages between the Engine (main thread) and the engine thread. */
export interface ThreadConfig {
  modelDir: string;
  variant: Variant;
  judgeDir?: string;
  threads?: number;
  executionProvider: ExecutionProvider;
  spinMicros?: number;
  batching: BatchingPolicy;
  maxBatchRows: number;
  /** Intra-op threads of the second session steps use while another replica is busy (absent: one session). */
  sharedThreads?: number;
  /** The engine's BusyReplicas buffer and this replica's slot in it (engines with more than one replica). */
  busy?: { buffer: SharedArrayBuffer; index: number };
}

export type ToThread =
  | { type: 'generate'; id: number; reqs: GenerateRequest[] }
  /** Fault drill: the thread throws an uncaught error, as a native or programming fault would. */
  | { type: 'crash' };

export type FromThread =
  | { type: 'ready'; modelName: string }
  | { type: 'result'; id: number; results: GenerateResult[] }
  | { type: 'error'; id: number; message: string }
  | { type: 'warn'; message: string };
