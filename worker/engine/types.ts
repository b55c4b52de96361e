import type { Logger } from 'pino';
import type { ScoredCandidate } from './choose.ts';
import type { Variant } from './config.ts';
import type { ExecutionProvider } from './session.ts';

export interface GenerateRequest {
  post: string;
  /** Candidates to sample (default 3); the reply is the best one not in `avoid`. */
  n?: number;
  /** Recent replies not to repeat (compared after normalization). */
  avoid?: string[];
  seed?: number;
  maxNewTokens?: number;
  /** The post reader's intent and subject, for a model whose prompt template conditions on them. */
  intent?: string;
  subject?: string;
  /** Replies from elsewhere (retrieved praises) for the judge to score beside the samples; not sampled, not chosen here. */
  judgeAlso?: string[];
}

export interface GenerateResult {
  /** Best candidate not in `avoid`; '' when the model produced nothing usable. */
  reply: string;
  /** Distinct non-empty candidates, best first. */
  candidates: string[];
  /** The same candidates with their scores, in the same order. */
  scored: ScoredCandidate[];
  /** `judgeAlso`, in its order, each with the judge's logit (absent without a judge). */
  alsoJudged: { text: string; judge?: number }[];
  /** Tokens generated for this request, over all candidates. */
  newTokens: number;
  /** Time in the engine thread, from arrival to answer. */
  ms: number;
}

export interface EngineOptions {
  modelDir: string;
  variant?: Variant;
  /** A reply judge directory (`tools/model/main.py judge-train`): every candidate then also gets a judge score. */
  judgeDir?: string;
  /** onnxruntime intra-op threads (default: one per core; one for models narrower than 512, see session.ts). */
  threads?: number;
  /**
   * Engine threads, each with its own session and batch; requests go to the least busy one
   * (default: see `defaultReplicas` in session.ts).
   */
  replicas?: number;
  /**
   * With more than one replica on CPU: intra-op threads a replica uses while another one is busy, through a second
   * session over the same file (one more copy of the weights per replica); default cores ÷ replicas. No second
   * session when it is not fewer than `threads`.
   */
  sharedThreads?: number;
  executionProvider?: ExecutionProvider;
  /**
   * Microseconds onnxruntime's intra-op threads busy-wait for the next op before they sleep; 0 never spins
   * (default: DEFAULT_SPIN_MICROS in session.ts).
   */
  spinMicros?: number;
  logger?: Logger;
  /** Step-boundary joining (default) or drain-then-admit; see BENCHMARKS.md for the measurement. */
  batching?: 'continuous' | 'wave';
  /** Upper bound on rows (request candidates) decoded together. */
  maxBatchRows?: number;
}

export type EngineEvent = 'crash' | 'restart';

export interface Engine {
  readonly modelName: string;
  generate(reqs: GenerateRequest[]): Promise<GenerateResult[]>;
  close(): Promise<void>;
  on?(event: EngineEvent, listener: (info: { error?: Error }) => void): void;
}
