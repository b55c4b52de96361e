import { randomInt } from 'node:crypto';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { DecodeBatch, type FinishedRow, type SequenceGroup } from './batch.ts';
import type { BusyReplicas } from './busyReplicas.ts';
import { chooseReply } from './choose.ts';
import type { ModelConfig } from './config.ts';
import type { JudgeSession } from './judge.ts';
import { replyFromDecoded } from './postprocess.ts';
import { buildPrompt } from './prompt.ts';
import { createRng } from './sampling.ts';
import type { DecoderSession } from './session.ts';
import type { TextTokenizer } from './tokenizer.ts';
import type { GenerateRequest, GenerateResult } from './types.ts';

/**
 * continuous: waiting requests join the running batch at the next step boundary.
 * wave: they wait until the running batch has drained.
 */
export type BatchingPolicy = 'continuous' | 'wave';

export const DEFAULT_CANDIDATES = 3;

interface Job {
  req: GenerateRequest;
  done: FinishedRow[];
  started: number;
  resolve: (r: GenerateResult) => void;
  reject: (e: Error) => void;
}

/** Turns generate requests into decode rows, runs the batch loop, and answers each request as soon as it is complete. */
export class Scheduler {
  private batch: DecodeBatch;
  private queue: SequenceGroup[] = [];
  private readonly jobs = new Map<SequenceGroup, Job>();
  private running = false;

  constructor(
    private readonly session: DecoderSession,
    private readonly cfg: ModelConfig,
    private readonly tok: TextTokenizer,
    private readonly opts: { policy: BatchingPolicy; maxRows: number; busy?: BusyReplicas; judge?: JudgeSession },
  ) {
    this.batch = new DecodeBatch(session, cfg);
  }

  generate(reqs: GenerateRequest[]): Promise<GenerateResult[]> {
    return Promise.all(reqs.map((req) => this.enqueue(req)));
  }

  private enqueue(req: GenerateRequest): Promise<GenerateResult> {
    return new Promise((resolve, reject) => {
      const prompt = buildPrompt(req.post, this.cfg, this.tok, req.maxNewTokens, req);
      const n = Math.max(1, Math.floor(req.n ?? DEFAULT_CANDIDATES)) || 1;
      const seed = req.seed ?? randomInt(2 ** 31);
      const gen = this.cfg.generation;
      const group: SequenceGroup = {
        prompt: prompt.ids,
        rngs: Array.from({ length: n }, (_, i) => createRng((seed ^ Math.imul(i + 1, 0x9e3779b9)) >>> 0)),
        params: gen,
        minNewTokens: Math.min(gen.min_new_tokens, prompt.maxNewTokens),
        maxNewTokens: prompt.maxNewTokens,
      };
      this.jobs.set(group, { req, done: [], started: performance.now(), resolve, reject });
      this.queue.push(group);
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.opts.busy?.mark(true);
    try {
      while (this.queue.length > 0 || this.batch.size > 0) {
        // Lets requests posted meanwhile reach the queue before the step boundary, so a burst is prefilled at once.
        await yieldToEvents();
        if (this.queue.length > 0 && (this.opts.policy === 'continuous' || this.batch.size === 0)) {
          await this.answer(this.collect(await this.batch.admit(this.takeAdmissible())));
        }
        if (this.batch.size > 0) await this.answer(this.collect(await this.batch.step()));
      }
    } catch (err) {
      // A failed run poisons the shared batch: fail everything in flight and start clean.
      const error = new Error(`generation failed: ${err instanceof Error ? err.message : String(err)}`);
      for (const job of this.jobs.values()) job.reject(error);
      this.jobs.clear();
      this.queue = [];
      this.batch = new DecodeBatch(this.session, this.cfg);
    } finally {
      this.running = false;
      this.opts.busy?.mark(false);
    }
  }

  private takeAdmissible(): SequenceGroup[] {
    const taken: SequenceGroup[] = [];
    let rows = this.batch.size;
    while (this.queue.length > 0) {
      const need = this.queue[0]!.rngs.length;
      if (rows + need > this.opts.maxRows && rows > 0) break;
      taken.push(this.queue.shift()!);
      rows += need;
    }
    return taken;
  }

  /** Finished rows into their jobs; returns the jobs whose every candidate is now done. */
  private collect(rows: FinishedRow[]): Job[] {
    const complete: Job[] = [];
    for (const row of rows) {
      const job = this.jobs.get(row.group)!;
      job.done.push(row);
      if (job.done.length < row.group.rngs.length) continue;
      this.jobs.delete(row.group);
      complete.push(job);
    }
    return complete;
  }

  /** Scores the complete jobs' candidates with the judge (all of them in one run) and resolves each job. */
  private async answer(jobs: Job[]): Promise<void> {
    if (jobs.length === 0) return;
    const texts = jobs.map((job) => job.done.map((r) => replyFromDecoded(this.tok.decode(r.tokens), this.cfg.separator)));
    const pairs = jobs.flatMap((job, j) => [...texts[j]!, ...(job.req.judgeAlso ?? [])].map((reply) => ({ post: job.req.post, reply })));
    const judged = this.opts.judge ? await this.opts.judge.score(pairs) : undefined;
    let at = 0;
    jobs.forEach((job, j) => {
      const cands = job.done.map((r, c) => ({ text: texts[j]![c]!, logprob: r.meanLogprob, judge: judged?.[at + c] }));
      at += cands.length;
      const alsoJudged = (job.req.judgeAlso ?? []).map((text, c) => ({ text, judge: judged?.[at + c] }));
      at += alsoJudged.length;
      const { reply, candidates, scored } = chooseReply(cands, job.req.avoid ?? [], job.req.post);
      job.resolve({
        reply,
        candidates,
        scored,
        alsoJudged,
        newTokens: job.done.reduce((s, r) => s + r.tokens.length, 0),
        ms: Math.round(performance.now() - job.started),
      });
    });
  }
}
