import { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { pino, type Logger } from 'pino';
import { MAX_SUBJECT_CHARS } from '../../common/limits.ts';
import { checkModelDir, loadModelConfig, onnxPath, type Variant } from './config.ts';
import { loadJudgeConfig } from './judge.ts';
import { BusyReplicas } from './busyReplicas.ts';
import type { FromThread, ThreadConfig, ToThread } from './protocol.ts';
import { ReplicaSet } from './replicas.ts';
import { defaultReplicas } from './session.ts';
import type { Engine, EngineOptions, GenerateRequest, GenerateResult } from './types.ts';

export type { Engine, EngineEvent, EngineOptions, GenerateRequest, GenerateResult } from './types.ts';
export { checkModelDir, VARIANTS, isVariant, type Variant } from './config.ts';
export { loadJudgeConfig } from './judge.ts';
export type { ScoredCandidate } from './choose.ts';

const MAX_CANDIDATES = 16;
/** Retrieved praises the judge scores beside one request's samples. */
const MAX_JUDGED_ALSO = 32;
/** More crashes than this within CRASH_WINDOW_MS stops the restarts: the fault is not transient. */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 60_000;

interface Pending {
  resolve: (r: GenerateResult[]) => void;
  reject: (e: Error) => void;
}

/** Main-thread handle on the engine thread: forwards requests, detects crashes, restarts the thread. */
class ThreadedEngine extends EventEmitter implements Engine {
  private worker: Worker | undefined;
  private ready!: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private downError: Error | undefined;
  private isLive = false;
  private crashes: number[] = [];
  private loadedModel = '';

  /** Set when the engine gave up restarting its thread; every call then fails with it. */
  get down(): Error | undefined {
    return this.downError;
  }

  /** The thread is loaded and taking requests (false while it starts or restarts). */
  get live(): boolean {
    return this.isLive;
  }

  get modelName(): string {
    return this.loadedModel;
  }

  constructor(
    private readonly cfg: ThreadConfig,
    private readonly maxPostChars: number,
    private readonly log: Logger,
    /** Shared by the replicas of one engine, so a warning every thread hits (CUDA missing) is logged once. */
    private readonly warned: Set<string>,
  ) {
    super();
  }

  start(): Promise<void> {
    // Beside this module: in the CLI's bundle, the bundled thread; in the sources, a shim that loads it.
    const worker = new Worker(new URL('./thread.mjs', import.meta.url), { workerData: this.cfg, execArgv: [] });
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      const onStartFailure = (err: Error) => reject(err);
      worker.once('error', onStartFailure);
      worker.once('exit', (code) => onStartFailure(new Error(`engine thread exited with code ${code} while loading`)));
      worker.on('message', (msg: FromThread) => {
        if (msg.type === 'ready') {
          this.loadedModel = msg.modelName;
          worker.off('error', onStartFailure);
          worker.removeAllListeners('exit');
          worker.on('error', (err) => this.onCrash(worker, err as Error));
          worker.on('exit', (code) => this.onCrash(worker, new Error(`engine thread exited with code ${code}`)));
          this.isLive = true;
          resolve();
        } else this.onMessage(msg);
      });
    });
    return this.ready;
  }

  private onMessage(msg: FromThread): void {
    if (msg.type === 'warn') {
      if (!this.warned.has(msg.message)) this.log.warn(msg.message);
      this.warned.add(msg.message);
      return;
    }
    if (msg.type !== 'result' && msg.type !== 'error') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.type === 'result') p.resolve(msg.results);
    else p.reject(new Error(msg.message));
  }

  private onCrash(worker: Worker, err: Error): void {
    if (this.closed || worker !== this.worker) return;
    this.worker = undefined;
    this.isLive = false;
    worker.removeAllListeners();
    void worker.terminate();
    // It may have died while decoding: the other replicas must not keep making room for it.
    if (this.cfg.busy) new BusyReplicas(this.cfg.busy.buffer, this.cfg.busy.index).mark(false);
    const error = new Error(`engine thread crashed: ${err.message}`);
    this.log.error({ err }, 'engine thread crashed');
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.emit('crash', { error });

    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    if (this.crashes.length > MAX_CRASHES) {
      this.downError = new Error(`engine is down after ${this.crashes.length} crashes in a minute: ${err.message}`);
      this.log.error(this.downError.message);
      return;
    }
    this.start().then(
      () => {
        this.log.info('engine thread restarted');
        this.emit('restart', {});
      },
      (startErr: Error) => {
        this.downError = new Error(`engine restart failed: ${startErr.message}`);
        this.log.error(this.downError.message);
      },
    );
  }

  async generate(reqs: GenerateRequest[]): Promise<GenerateResult[]> {
    if (this.closed) throw new Error('engine is closed');
    if (this.downError) throw this.downError;
    const clean = reqs.map((r) => this.validate(r));
    if (clean.length === 0) return [];
    await this.ready;
    if (this.downError) throw this.downError;
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.post({ type: 'generate', id, reqs: clean });
    });
  }

  private validate(r: GenerateRequest): GenerateRequest {
    if (typeof r?.post !== 'string' || r.post.trim() === '') throw new Error('post must be a non-empty string');
    const n = Number.isFinite(r.n) ? Math.min(MAX_CANDIDATES, Math.max(1, Math.floor(r.n!))) : undefined;
    return {
      post: r.post.length > this.maxPostChars ? r.post.slice(-this.maxPostChars) : r.post,
      n,
      avoid: (r.avoid ?? []).filter((a) => typeof a === 'string'),
      seed: Number.isFinite(r.seed) ? r.seed : undefined,
      maxNewTokens: Number.isFinite(r.maxNewTokens) ? Math.max(1, Math.floor(r.maxNewTokens!)) : undefined,
      intent: typeof r.intent === 'string' ? r.intent : undefined,
      subject: typeof r.subject === 'string' ? r.subject.slice(0, MAX_SUBJECT_CHARS) : undefined,
      judgeAlso: (r.judgeAlso ?? []).filter((t) => typeof t === 'string' && t.trim() !== '').slice(0, MAX_JUDGED_ALSO),
    };
  }

  private post(msg: ToThread): void {
    this.worker?.postMessage(msg);
  }

  /** Fault drill: makes the engine thread throw an uncaught error (tests use it to check crash handling). */
  simulateCrash(): void {
    this.post({ type: 'crash' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new Error('engine is closed');
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    await this.worker?.terminate();
  }
}

/** The engine threads createEngine starts for these options (`replicas`, else the default for the model file). */
export function replicaCount(opts: EngineOptions): number {
  if (opts.replicas !== undefined) return Math.max(1, Math.floor(opts.replicas));
  const modelBytes = statSync(onnxPath(opts.modelDir, opts.variant ?? 'fp32')).size;
  return defaultReplicas(opts.executionProvider ?? 'cpu', modelBytes);
}

export async function createEngine(opts: EngineOptions): Promise<Engine> {
  const variant: Variant = opts.variant ?? 'fp32';
  checkModelDir(opts.modelDir, variant);
  if (opts.judgeDir) loadJudgeConfig(opts.judgeDir);
  const model = loadModelConfig(opts.modelDir);
  const log = opts.logger ?? pino({ name: 'kuakua-engine' }, pino.destination(2));
  const executionProvider = opts.executionProvider ?? 'cpu';
  const warned = new Set<string>();
  const count = replicaCount(opts);
  const busy = count > 1 && executionProvider === 'cpu' ? BusyReplicas.create(count) : undefined;
  const sharedThreads = opts.sharedThreads ?? Math.max(1, Math.floor(availableParallelism() / count));
  const replicas = Array.from(
    { length: count },
    (_, index) =>
      new ThreadedEngine(
        {
          modelDir: opts.modelDir,
          variant,
          judgeDir: opts.judgeDir,
          threads: opts.threads,
          executionProvider,
          spinMicros: opts.spinMicros,
          batching: opts.batching ?? 'continuous',
          maxBatchRows: opts.maxBatchRows ?? 64,
          ...(busy && { sharedThreads, busy: { buffer: busy, index } }),
        },
        model.nPositions * 16,
        log,
        warned,
      ),
  );
  try {
    await Promise.all(replicas.map((r) => r.start()));
  } catch (err) {
    await Promise.all(replicas.map((r) => r.close()));
    throw new Error(`cannot start engine for ${opts.modelDir}: ${(err as Error).message}`);
  }
  return count === 1 ? replicas[0]! : new ReplicaSet(replicas);
}
