import { secretScrubber } from './logger.ts';
import { metrics } from './metrics.ts';

/**
 * In-process state of each adapter, published by its supervisor and shown in the start-up summary, /healthz, /metrics
 * (kuakua_adapter_state) and on the web page. Like loginState, only meaningful in the process that runs the adapters.
 */
export const ADAPTER_STATES = ['starting', 'running', 'retrying', 'failed'] as const;
export type AdapterState = (typeof ADAPTER_STATES)[number];

export type AdapterStatus =
  /** The first try, before anything failed. */
  | { state: 'starting'; since: number }
  | { state: 'running'; since: number; lastError?: string }
  /**
   * Not running since a network failure or a crash: waiting until `nextTryAt` to start again, or, without it, trying
   * again now (a try in progress stays `retrying`, so the state does not flap between tries).
   */
  | { state: 'retrying'; since: number; lastError: string; nextTryAt?: number }
  /** Given up: an error that retrying cannot fix, such as a rejected token. */
  | { state: 'failed'; since: number; lastError: string };

type WithoutSince<T> = T extends unknown ? Omit<T, 'since'> : never;

const statuses = new Map<string, AdapterStatus>();

/** Publishes an adapter's state; its lastError (an SDK's message may quote a token or a URL) is scrubbed like a log line first. */
export function setAdapterStatus(name: string, status: WithoutSince<AdapterStatus>): void {
  const scrubbed = 'lastError' in status && status.lastError !== undefined ? { ...status, lastError: secretScrubber()(status.lastError) } : status;
  statuses.set(name, { ...scrubbed, since: Date.now() } as AdapterStatus);
  for (const state of ADAPTER_STATES) metrics.adapterState.set({ adapter: name, state }, state === status.state ? 1 : 0);
}

export function getAdapterStatus(name: string): AdapterStatus | undefined {
  return statuses.get(name);
}

export function adapterStatuses(): Record<string, AdapterStatus> {
  return Object.fromEntries(statuses);
}

export function clearAdapterStatus(name: string): void {
  statuses.delete(name);
  for (const state of ADAPTER_STATES) metrics.adapterState.remove({ adapter: name, state });
}

/** One line for people: "telegram: retrying (ENOTFOUND api.telegram.org), next try in 8 s". */
export function describeAdapterStatus(name: string, s: AdapterStatus, now = Date.now()): string {
  switch (s.state) {
    case 'retrying':
      if (s.nextTryAt === undefined) return `${name}: retrying (${s.lastError}), trying again now`;
      return `${name}: retrying (${s.lastError}), next try in ${Math.max(0, Math.ceil((s.nextTryAt - now) / 1000))} s`;
    case 'failed':
      return `${name}: failed (${s.lastError})`;
    default:
      return `${name}: ${s.state}`;
  }
}
