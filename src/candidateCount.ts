export interface CandidateLoad {
  /** model.candidates: what a request gets while the queue keeps up. */
  configured: number;
  /** model.minCandidates: the floor under load. */
  minimum: number;
  /** Requests waiting in the queue. */
  waiting: number;
  /** Jobs one worker runs at once (worker.concurrency). */
  concurrency: number;
}

/**
 * Candidates to sample for the next request. While no more requests wait than the worker takes at once, every
 * request gets the configured count; beyond that the count shrinks in proportion, so that the rows decoded together
 * stay about `configured × concurrency` and the queue drains instead of growing.
 */
export function candidateCount({ configured, minimum, waiting, concurrency }: CandidateLoad): number {
  const floor = Math.min(configured, Math.max(1, minimum));
  if (waiting <= concurrency) return configured;
  return Math.max(floor, Math.floor((configured * concurrency) / waiting));
}
