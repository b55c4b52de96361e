import type { ModelConfig } from './config.ts';
import { gatherRows, KvArena, type RowSource } from './kv.ts';
import { sampleToken, type Rng, type SamplingParams } from './sampling.ts';
import { prefillRuns } from './prefillRuns.ts';
import type { KvCache } from './kvCache.ts';
import type { DecoderSession, StepOutput } from './session.ts';

/** One prompt to continue `rngs.length` times (one row per candidate, sharing a single prefill). */
export interface SequenceGroup {
  prompt: number[];
  rngs: Rng[];
  params: SamplingParams;
  minNewTokens: number;
  maxNewTokens: number;
}

export interface FinishedRow {
  group: SequenceGroup;
  candidate: number;
  tokens: number[];
  /** Mean log-probability of the generated tokens under the raw model distribution. */
  meanLogprob: number;
}

interface Row {
  group: SequenceGroup;
  candidate: number;
  /** Real (unpadded) tokens of this row held in the cache. */
  len: number;
  seen: Set<number>;
  tokens: number[];
  logprobSum: number;
  /** Sampled but not yet fed to the model. */
  next: number;
}

/**
 * Rows decoding together with one left-padded KV cache. Rows can join at any step boundary (`admit`) and leave
 * as soon as they finish, so the batch only ever computes live rows.
 */
export class DecodeBatch {
  private rows: Row[] = [];
  private cache: KvCache | undefined;
  /**
   * Where each row lives when rows left at the last step: compaction waits for the next step or admission, so a
   * step boundary where rows both leave and join costs one copy of the cache instead of two.
   */
  private layout: RowSource[] | undefined;
  private arena = new KvArena();
  /**
   * One per prefill run of an admission: prefill outputs live apart from the batch's cache and from each other, since
   * admission reads them all while building the merged cache.
   */
  private prefillArenas: KvArena[] = [];
  private readonly stopIds: Set<number>;

  constructor(
    private readonly session: DecoderSession,
    private readonly cfg: ModelConfig,
  ) {
    this.stopIds = new Set(cfg.stopIds);
  }

  get size(): number {
    return this.rows.length;
  }

  /**
   * Prefills the groups' prompts (in runs of similar length: prefillRuns), samples each candidate's first token and
   * merges the rows into the batch.
   */
  async admit(groups: SequenceGroup[]): Promise<FinishedRow[]> {
    const finished: FinishedRow[] = [];
    const joined: { row: Row; source: RowSource }[] = [];
    for (const [i, run] of prefillRuns(groups.map((g) => g.prompt.length)).entries()) {
      const part = run.map((k) => groups[k]!);
      this.prefillArenas[i] ??= new KvArena();
      const out = await this.prefill(part, this.prefillArenas[i]);
      const vocab = out.lastLogits.length / part.length;
      part.forEach((group, g) => {
        const logits = out.lastLogits.subarray(g * vocab, (g + 1) * vocab);
        group.rngs.forEach((_, candidate) => {
          const row: Row = {
            group,
            candidate,
            len: group.prompt.length,
            seen: new Set(group.prompt),
            tokens: [],
            logprobSum: 0,
            next: -1,
          };
          if (this.advance(row, logits)) finished.push(this.finish(row));
          else joined.push({ row, source: { cache: out.cache, row: g } });
        });
      });
    }
    if (joined.length > 0) {
      const kept = this.rows.map((row, i) => ({ row, source: this.layout?.[i] ?? { cache: this.cache!, row: i } }));
      this.reshape([...kept, ...joined]);
    }
    return finished;
  }

  /** One left-padded run over the groups' prompts. */
  private prefill(groups: SequenceGroup[], outputs: KvArena): Promise<StepOutput> {
    const width = Math.max(...groups.map((g) => g.prompt.length));
    const n = groups.length;
    const ids = new BigInt64Array(n * width).fill(BigInt(this.cfg.padId));
    const mask = new BigInt64Array(n * width);
    const pos = new BigInt64Array(n * width);
    groups.forEach((g, r) => {
      const pad = width - g.prompt.length;
      g.prompt.forEach((id, i) => {
        ids[r * width + pad + i] = BigInt(id);
        mask[r * width + pad + i] = 1n;
        pos[r * width + pad + i] = BigInt(i);
      });
    });
    return this.session.run({
      rows: n,
      seqLen: width,
      inputIds: ids,
      attentionMask: mask,
      positionIds: pos,
      cache: this.session.emptyCache(n),
      outputs,
    });
  }

  /** Feeds every row's pending token, samples the next one, and drops rows that finished. */
  async step(): Promise<FinishedRow[]> {
    if (this.layout) this.reshape(this.rows.map((row, i) => ({ row, source: this.layout![i]! })));
    const cache = this.cache;
    if (!cache || this.rows.length === 0) return [];
    const n = this.rows.length;
    const total = cache.past + 1;
    const ids = new BigInt64Array(n);
    const mask = new BigInt64Array(n * total);
    const pos = new BigInt64Array(n);
    this.rows.forEach((row, r) => {
      ids[r] = BigInt(row.next);
      pos[r] = BigInt(row.len);
      mask.fill(1n, r * total + (total - row.len - 1), (r + 1) * total);
    });
    const out = await this.session.run({
      rows: n,
      seqLen: 1,
      inputIds: ids,
      attentionMask: mask,
      positionIds: pos,
      cache,
      outputs: this.arena,
    });
    const vocab = out.lastLogits.length / n;
    const finished: FinishedRow[] = [];
    const kept: { row: Row; source: RowSource }[] = [];
    this.rows.forEach((row, r) => {
      row.len += 1;
      if (this.advance(row, out.lastLogits.subarray(r * vocab, (r + 1) * vocab))) finished.push(this.finish(row));
      else kept.push({ row, source: { cache: out.cache, row: r } });
    });
    this.rows = kept.map((k) => k.row);
    this.cache = kept.length > 0 ? out.cache : undefined;
    // An idle batch gives its buffers back.
    if (!this.cache) {
      this.arena = new KvArena();
      this.prefillArenas = [];
    }
    this.layout = finished.length > 0 && kept.length > 0 ? kept.map((k) => k.source) : undefined;
    return finished;
  }

  /** Samples the row's next token; true when the row is finished (stop token or length limit). */
  private advance(row: Row, logits: Float32Array): boolean {
    const { group } = row;
    const banned = row.tokens.length < group.minNewTokens ? this.stopIds : undefined;
    const { id, logprob } = sampleToken(logits, group.params, { seen: row.seen, banned, rng: group.rngs[row.candidate]! });
    if (this.stopIds.has(id)) return true;
    row.tokens.push(id);
    row.seen.add(id);
    row.logprobSum += logprob;
    row.next = id;
    return row.tokens.length >= group.maxNewTokens;
  }

  private finish(row: Row): FinishedRow {
    return {
      group: row.group,
      candidate: row.candidate,
      tokens: row.tokens,
      meanLogprob: row.tokens.length ? row.logprobSum / row.tokens.length : -Infinity,
    };
  }

  private reshape(entries: { row: Row; source: RowSource }[]): void {
    const past = Math.max(...entries.map((e) => e.row.len));
    this.cache = gatherRows(
      entries.map((e) => e.source),
      past,
      this.arena,
      past + this.session.spareColumns,
    );
    this.rows = entries.map((e) => e.row);
    this.layout = undefined;
  }
}
