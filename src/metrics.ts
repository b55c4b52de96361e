import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry for the whole process: bots, workers and the web server all record here; GET /metrics serves it. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'kuakua_' });

const latencyBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60];

export const metrics = {
  /** Messages handed to a Core, by what became of them (queued, replied:<kind>, ignored:<reason>). */
  requests: new Counter({
    name: 'kuakua_requests_total',
    help: 'Messages handled by the bot core',
    labelNames: ['platform', 'outcome'],
    registers: [registry],
  }),
  /** Answers delivered to a chat, by kind (praise, fallback, busy, admin, refusal, help, care). */
  replies: new Counter({ name: 'kuakua_replies_total', help: 'Answers delivered to chats', labelNames: ['platform', 'kind'], registers: [registry] }),
  /**
   * Messages that spoke of self-harm or suicide, by what caught them (`pattern`: distress.patterns, `reader`: the post
   * reader alone): answered with the care reply, or a repeat inside distress.repeatSeconds.
   */
  distress: new Counter({
    name: 'kuakua_distress_total',
    help: 'Messages that spoke of self-harm or suicide',
    labelNames: ['platform', 'outcome', 'by'],
    registers: [registry],
  }),
  /** Posts decided without the post reader because it failed or was slower than reader.timeoutMs. */
  readerMisses: new Counter({
    name: 'kuakua_reader_misses_total',
    help: 'Posts the post reader did not read in time',
    labelNames: ['why'],
    registers: [registry],
  }),
  /** Tone replies sent because no generated candidate was good enough, by why, by the post's tone and by form (topical, framed, template). */
  fallbacks: new Counter({
    name: 'kuakua_praise_fallbacks_total',
    help: 'Tone replies used instead of a generated one',
    labelNames: ['reason', 'tone', 'form'],
    registers: [registry],
  }),
  errors: new Counter({ name: 'kuakua_errors_total', help: 'Errors, by component', labelNames: ['component'], registers: [registry] }),
  endToEndLatency: new Histogram({
    name: 'kuakua_end_to_end_latency_seconds',
    help: 'From queuing a request to delivering its answer',
    labelNames: ['kind'],
    buckets: latencyBuckets,
    registers: [registry],
  }),
  generationLatency: new Histogram({ name: 'kuakua_generation_latency_seconds', help: 'Engine time per job', buckets: latencyBuckets, registers: [registry] }),
  queueWait: new Histogram({
    name: 'kuakua_queue_wait_seconds',
    help: 'Time a job waited in the request queue',
    buckets: latencyBuckets,
    registers: [registry],
  }),
  queueDepth: new Gauge({ name: 'kuakua_queue_depth', help: 'Requests waiting in the request queue (last observed)', registers: [registry] }),
  tokensPerSecond: new Gauge({ name: 'kuakua_tokens_per_second', help: 'Generated tokens per second of the last batch', registers: [registry] }),
  /** 1 for each adapter's current state (starting, running, retrying, failed), 0 for the others. */
  adapterState: new Gauge({
    name: 'kuakua_adapter_state',
    help: 'Adapter state: 1 for the current one',
    labelNames: ['adapter', 'state'],
    registers: [registry],
  }),
  /** 1 while the bot's Redis connection is ready, 0 while it waits; `target` says which Redis (password removed). */
  redisUp: new Gauge({
    name: 'kuakua_redis_up',
    help: "Whether the bot's Redis connection is ready, by target (URL without its password, or Sentinel group and addresses)",
    labelNames: ['target'],
    registers: [registry],
  }),
  /** Adapter restarts after a start-up failure or a crash, by adapter. */
  adapterRestarts: new Counter({
    name: 'kuakua_adapter_restarts_total',
    help: 'Adapter restarts after a failure',
    labelNames: ['adapter'],
    registers: [registry],
  }),
};
