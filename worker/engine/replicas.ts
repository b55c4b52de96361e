import { EventEmitter } from 'node:events';
import type { Engine, GenerateRequest, GenerateResult } from './types.ts';

export interface Replica extends Engine {
  readonly down: Error | undefined;
  /** Loaded and taking requests (false while its thread restarts). */
  readonly live: boolean;
  on(event: 'crash' | 'restart', listener: (info: { error?: Error }) => void): this;
}

/**
 * Several engine threads over the same model, each with its own session and batch. A request goes to the live
 * replica with the fewest requests in flight, so on a CPU one replica's sampling, cache copies and garbage
 * collection overlap another's matrix work instead of leaving a core idle (see BENCHMARKS.md).
 */
export class ReplicaSet extends EventEmitter implements Engine {
  private readonly inFlight: number[];

  constructor(private readonly replicas: Replica[]) {
    super();
    this.inFlight = replicas.map(() => 0);
    for (const r of replicas) {
      r.on('crash', (info) => this.emit('crash', info));
      r.on('restart', (info) => this.emit('restart', info));
    }
  }

  get modelName(): string {
    return this.replicas[0]!.modelName;
  }

  async generate(reqs: GenerateRequest[]): Promise<GenerateResult[]> {
    if (reqs.length === 0) return this.replicas[0]!.generate(reqs);
    const parts = new Map<number, number[]>();
    reqs.forEach((_, i) => {
      const r = this.leastLoaded();
      this.inFlight[r]! += 1;
      if (!parts.has(r)) parts.set(r, []);
      parts.get(r)!.push(i);
    });
    const out: GenerateResult[] = new Array(reqs.length);
    await Promise.all(
      [...parts].map(async ([r, idx]) => {
        try {
          const results = await this.replicas[r]!.generate(idx.map((i) => reqs[i]!));
          for (const [k, i] of idx.entries()) out[i] = results[k]!;
        } finally {
          this.inFlight[r]! -= idx.length;
        }
      }),
    );
    return out;
  }

  /**
   * Live replicas first, then restarting ones (the request waits for the restart); a replica that is down takes no
   * work while another is not, and when all are down the first one reports why.
   */
  private leastLoaded(): number {
    const rank = (r: Replica) => (r.live ? 0 : r.down ? 2 : 1);
    let best = 0;
    this.replicas.forEach((rep, i) => {
      const a = rank(rep);
      const b = rank(this.replicas[best]!);
      if (a < b || (a === b && this.inFlight[i]! < this.inFlight[best]!)) best = i;
    });
    return best;
  }

  /** Fault drill for tests: crashes the first replica's thread. */
  simulateCrash(): void {
    (this.replicas[0] as Replica & { simulateCrash(): void }).simulateCrash();
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.close()));
  }
}
