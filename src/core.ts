import { hostname } from 'node:os';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Core, CoreStatus, HandleResult } from './adapter.ts';
import { parseAdminCommand, runAdminCommand } from './admin.ts';
import { ChatSettingsStore, resolveTriggerSettings } from './chatSettings.ts';
import type { Config } from './config.ts';
import { careReply } from './distress.ts';
import { Limits, queueLimit } from './limits.ts';
import type { ChorusReply, Delivery, DeliveryKind, DeliveryOptions, IncomingMessage, Platform, Voice } from './events.ts';
import { chatChorus, chorusSize, chorusVoices, labelled } from './chorus.ts';
import { friendAsk, type FriendAsk } from './friend.ts';
import { fallbackPraise } from './fallback.ts';
import { type Frames, loadFramesOrWarn } from './frames.ts';
import { liveWorkers } from './heartbeat.ts';
import { metrics } from './metrics.ts';
import { PraiseHistory } from './policy.ts';
import {
  addressingSchema,
  finishedJobRetention,
  idempotencyKey,
  jobIdFor,
  praiseJobSchema,
  redisKeys,
  replyJobOptions,
  replyJobSchema,
  replyQueueName,
  type PraiseJob,
  type RedisKeys,
  type ReplyJob,
} from './queue/contracts.ts';
import { MAX_SUBJECT_CHARS } from '../common/limits.ts';
import { createRedis } from './redis.ts';
import { describeRedis, redisTarget, type RedisTarget } from './redisTarget.ts';
import { type DistressSignal, type PostReader, type Reading, readWithModel, readWords } from './reading.ts';
import { startJanitor, type Janitor } from './retention.ts';
import { withTimeout } from './timeout.ts';
import { CLOSE_WAIT_MS, closeOrDrop, deadline, quitOrDrop } from './closing.ts';
import { asRead, inScript, type Script } from './script.ts';
import { evaluateTrigger } from './triggers.ts';

export interface CoreOptions {
  config: Config;
  logger: Logger;
  /** Defaults to the config's (REDIS_URL, or the sentinels). */
  redis?: RedisTarget;
  /** Defaults to config.instance.id, else "<hostname>-<pid>". */
  instanceId?: string;
  /** The post reader (worker/engine/postReader.ts); without one, distress.patterns alone and tones from the words. */
  reader?: PostReader;
  /** How long close() may wait for Redis in all before it drops the connections still closing (CLOSE_WAIT_MS). */
  closeTimeoutMs?: number;
}

type Deliver = (d: Delivery) => Promise<void>;
interface Deliverer {
  deliver: Deliver;
  options: DeliveryOptions;
}

export function defaultInstanceId(config: Config): string {
  return config.instance.id || `${hostname()}-${process.pid}`.replace(/[^\w.-]/g, '_');
}

/** How long a look-up of live workers is reused (requests with `noWorker: 'answer'`). */
const WORKER_CHECK_MS = 1000;

class QueueCore implements Core {
  private readonly keys: RedisKeys;
  private readonly requests: Queue;
  private readonly replies: Queue;
  private readonly replyWorker: Worker;
  private readonly settings: ChatSettingsStore;
  private readonly limits: Limits;
  private readonly history: PraiseHistory;
  private readonly deliverers = new Map<Platform, Deliverer>();
  private readonly log: Logger;
  private readonly janitor: Janitor;
  private workersSeen = { at: 0, online: true };
  private readonly frames?: Frames;

  constructor(
    private readonly config: Config,
    logger: Logger,
    private readonly redis: Redis,
    /** Which Redis, for people: the URL without its password, or the sentinels and the master's group name. */
    private readonly redisAt: string,
    readonly instanceId: string,
    ephemeral: boolean,
    private readonly reader?: PostReader,
    private readonly closeTimeoutMs = CLOSE_WAIT_MS,
  ) {
    const prefix = config.redis.prefix;
    const q = config.queue;
    this.log = logger.child({ component: 'bot', instance: instanceId });
    this.keys = redisKeys(prefix);
    this.settings = new ChatSettingsStore(redis, this.keys);
    this.limits = new Limits(redis, this.keys);
    this.history = new PraiseHistory(redis, this.keys, config.policy.historySize);
    this.frames = loadFramesOrWarn(config.frames.dir, this.log);
    this.requests = new Queue(q.name, {
      connection: redis,
      prefix,
      defaultJobOptions: { attempts: q.attempts, backoff: { type: q.backoff.type, delay: q.backoff.delayMs }, ...finishedJobRetention(q.retention) },
    });
    const replyName = replyQueueName(q.name, instanceId);
    this.replies = new Queue(replyName, { connection: redis, prefix, defaultJobOptions: replyJobOptions(q.retention) });
    // Locks as the request queue's: a reply taken just before a failover, whose lock the new master still holds, is
    // delivered within lockDurationMs + stalledIntervalMs (BullMQ's defaults would take a minute).
    this.replyWorker = new Worker(replyName, (job) => this.onReplyJob(job), {
      connection: redis,
      prefix,
      concurrency: 16,
      lockDuration: q.lockDurationMs,
      stalledInterval: q.stalledIntervalMs,
    });
    this.replyWorker.on('failed', (job, err) => {
      metrics.errors.inc({ component: 'delivery' });
      this.log.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'delivering a reply failed');
    });
    this.replyWorker.on('error', (err) => this.log.warn({ err: err.message }, 'reply queue connection problem'));
    // Without a listener BullMQ prints every reconnect attempt of a queue to stderr, outside the log.
    for (const q of [this.requests, this.replies]) q.on('error', (err) => this.log.debug({ err: err.message }, 'queue connection problem'));
    this.janitor = startJanitor({ redis, keys: this.keys, config, instanceId, ephemeral, requests: this.requests, replies: this.replies, logger: this.log });
  }

  onDelivery(platform: Platform, deliver: Deliver, options: DeliveryOptions = {}): void {
    this.deliverers.set(platform, { deliver, options });
  }

  async handle(msg: IncomingMessage): Promise<HandleResult> {
    const result = await this.decideWithin(msg);
    const outcome = result.action === 'ignored' ? `ignored:${result.reason}` : result.action === 'replied' ? `replied:${result.delivery.kind}` : 'queued';
    metrics.requests.inc({ platform: msg.platform, outcome });
    if (result.action === 'replied') metrics.replies.inc({ platform: msg.platform, kind: result.delivery.kind });
    this.log.debug({ platform: msg.platform, chatId: msg.chatId, messageId: msg.messageId, outcome }, 'handled message');
    return result;
  }

  /**
   * Redis commands wait through an outage (maxRetriesPerRequest: null) so nothing is lost, but a message must not wait
   * without end: after queue.redisWaitMs it gets the queue-full answer, and its request is never queued after that.
   */
  private async decideWithin(msg: IncomingMessage): Promise<HandleResult> {
    const abandoned = { value: false };
    const words = await this.readWords(msg);
    const decision = this.decide(msg, words, abandoned);
    decision.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), this.config.queue.redisWaitMs)));
    const first = await Promise.race([decision, late]).finally(() => clearTimeout(timer));
    if (first !== 'late') return first;
    abandoned.value = true;
    // The point after which the given-up decision can no longer queue anything (tests wait for this line).
    void decision
      .then(
        (r) => r.action,
        () => 'failed',
      )
      .then((action) => this.log.debug({ platform: msg.platform, chatId: msg.chatId, messageId: msg.messageId, action }, 'given-up decision ended'));
    return this.unavailable(msg, words);
  }

  /** The script and a distress.patterns match, for every message: needs no Redis and no model. */
  private readWords(msg: IncomingMessage): Promise<Reading> {
    if (msg.fromBot || typeof msg.text !== 'string') return Promise.resolve({ script: 'simplified' });
    return readWords(msg.text, this.config.distress);
  }

  /**
   * The post reader's reading, for a message addressed to the bot (a trigger, a mention, a private chat): untriggered
   * group chatter is left to the patterns, so a misreading never answers a conversation the bot was not part of.
   * Waits at most reader.timeoutMs.
   */
  private readModel(msg: IncomingMessage, words: Reading): Promise<Reading> {
    return readWithModel(msg.text, words, {
      reader: this.reader,
      distress: this.config.distress,
      timeoutMs: this.config.reader.timeoutMs,
      onMiss: (why, err) => {
        metrics.readerMisses.inc({ why });
        this.log.warn(
          { platform: msg.platform, chatId: msg.chatId, why, err: err?.message },
          'the post reader did not read a post: decided by the patterns alone',
        );
      },
    });
  }

  /** The answer to a message taken while Redis does not respond, decided from the config alone. */
  private async unavailable(msg: IncomingMessage, words: Reading): Promise<HandleResult> {
    // The repeat window cannot be checked without Redis: a distress post gets the care reply anyway, never the busy one.
    if (words.distress) return this.careNow(msg, words.distress, words.script);
    const command = parseAdminCommand(msg.text) !== null;
    const triggered = command || evaluateTrigger(inSimplified(msg, words), resolveTriggerSettings(this.config, msg.platform, msg.chatId, {})).triggered;
    if (!triggered) return { action: 'ignored', reason: 'unavailable' };
    const reading = command ? words : await this.readModel(msg, words);
    if (reading.distress) return this.careNow(msg, reading.distress, reading.script);
    metrics.errors.inc({ component: 'redis' });
    this.log.warn({ platform: msg.platform, chatId: msg.chatId, waitedMs: this.config.queue.redisWaitMs }, 'Redis did not respond in time: answering busy');
    // A request already on its way into the queue when we gave up is answered by nobody else: the busy reply is the one answer.
    void this.redis
      .set(this.keys.answered(idempotencyKey(msg)), `unavailable:${this.instanceId}`, 'EX', this.config.queue.retention.dedupeSeconds, 'NX')
      .catch(() => undefined);
    return this.config.queue.onFull === 'busy' ? this.reply(msg, this.config.messages.busy, 'busy') : { action: 'ignored', reason: 'busy' };
  }

  /** The care reply with no repeat window (Redis does not answer). */
  private async careNow(msg: IncomingMessage, signal: DistressSignal, script: Script): Promise<HandleResult> {
    this.noteDistress(msg, signal, 'answered');
    return this.reply(msg, await careReply(this.config.distress, script), 'care');
  }

  /** The care reply for a distress post, at most once per distress.repeatSeconds to a user in a group; undefined for a repeat. */
  private async careFor(msg: IncomingMessage, signal: DistressSignal, script: Script, abandoned: { value: boolean }): Promise<HandleResult | undefined> {
    const fresh = await this.limits.takeCareWindow(msg.platform, msg.chatId, msg.userId, this.config.distress.repeatSeconds);
    if (abandoned.value) return { action: 'ignored', reason: 'unavailable' };
    // The window keeps a group from being flooded; one to one, the person always gets the reply again.
    const answer = fresh || msg.isPrivate;
    this.noteDistress(msg, signal, answer ? 'answered' : 'repeat');
    return answer ? this.reply(msg, await careReply(this.config.distress, script), 'care') : undefined;
  }

  private async decide(msg: IncomingMessage, words: Reading, abandoned: { value: boolean }): Promise<HandleResult> {
    // The one bot check, before admin commands and distress: a bot gets no answer (its own replies would loop) and costs nothing.
    if (msg.fromBot) return { action: 'ignored', reason: 'from-bot' };
    if (!msg.chatId || !msg.messageId || !msg.userId || typeof msg.text !== 'string') return { action: 'ignored', reason: 'invalid' };
    const key = idempotencyKey(msg);
    const firstTime = () => this.redis.set(this.keys.seen(key), '1', 'EX', this.config.queue.retention.dedupeSeconds, 'NX').then((r) => r === 'OK');

    const command = parseAdminCommand(msg.text);
    if (command) {
      if (!(await firstTime())) return { action: 'ignored', reason: 'duplicate' };
      return {
        action: 'replied',
        delivery: await runAdminCommand(command, msg, {
          config: this.config,
          settings: this.settings,
          optOut: (out) => this.setOptedOut(msg.platform, msg.userId, out),
          status: () => this.status(),
        }),
      };
    }

    // Before the chat's switch, triggers and limits: whoever speaks of self-harm or suicide gets care, never praise.
    if (words.distress) {
      if (!(await firstTime())) return { action: 'ignored', reason: 'duplicate' };
      const care = await this.careFor(msg, words.distress, words.script, abandoned);
      if (care) return care;
    }

    const stored = await this.settings.get(msg.platform, msg.chatId);
    // Trigger words are matched in Simplified, so 求誇 asks as 求夸 does; the post the models read is Simplified too.
    const simplified = inSimplified(msg, words);
    const triggers = resolveTriggerSettings(this.config, msg.platform, msg.chatId, stored);
    const forFriend = friendAsk(simplified, { ...triggers, friendKeywords: this.config.triggers.friendKeywords });
    const decision = evaluateTrigger(
      simplified,
      forFriend ? { ...triggers, keywords: [...triggers.keywords, ...this.config.triggers.friendKeywords] } : triggers,
    );
    if (!decision.triggered) return { action: 'ignored', reason: decision.reason };
    const post = forFriend?.post ?? decision.post;
    if (words.distress) return { action: 'ignored', reason: 'distress-repeat' };
    const reading = await this.readModel(msg, words);
    if (!(await firstTime())) return { action: 'ignored', reason: 'duplicate' };
    if (reading.distress) return (await this.careFor(msg, reading.distress, reading.script, abandoned)) ?? { action: 'ignored', reason: 'distress-repeat' };
    if (forFriend) {
      const refusal = await this.friendRefusal(msg, forFriend);
      if (refusal) return this.reply(msg, refusal, 'refusal');
    }

    const cooldown = this.config.cooldown.byPlatform[msg.platform] ?? this.config.cooldown.userSeconds;
    if (!(await this.limits.takeCooldown(msg.platform, msg.userId, cooldown))) {
      return this.config.cooldown.notify ? this.reply(msg, this.config.messages.cooldown, 'refusal') : { action: 'ignored', reason: 'cooldown' };
    }
    if (!(await this.limits.takeChatRate(msg.platform, msg.chatId, this.config.rateLimit.chatPerMinute))) {
      await this.limits.releaseCooldown(msg.platform, msg.userId);
      return { action: 'ignored', reason: 'rate-limited' };
    }
    const depth = await this.requests.count();
    metrics.queueDepth.set(depth);
    const limit = queueLimit(this.config.queue, msg.platform);
    if (depth >= limit) {
      await this.limits.releaseCooldown(msg.platform, msg.userId);
      this.log.warn({ depth, limit, maxDepth: this.config.queue.maxDepth, platform: msg.platform }, 'request queue full');
      return this.config.queue.onFull === 'busy' ? this.reply(msg, this.config.messages.busy, 'busy') : { action: 'ignored', reason: 'busy' };
    }

    if (msg.noWorker === 'answer' && !(await this.workerOnline())) {
      if (abandoned.value) return { action: 'ignored', reason: 'unavailable' };
      return this.answerWithoutWorker(msg, post, reading, forFriend);
    }

    const chat = chatChorus(this.config, msg.platform, msg.chatId, stored.chorus);
    const chorus = chorusSize({ chat, requested: msg.chorus, post, intent: reading.intent, depth, limit }, this.config.chorus.gentleMax);
    const job: PraiseJob = praiseJobSchema.parse({
      key,
      platform: msg.platform,
      chatId: msg.chatId,
      messageId: msg.messageId,
      // A friend's praise is addressed to them: adapters mention the delivery's user.
      userId: forFriend?.friend.userId ?? msg.userId,
      userName: forFriend?.friend.name ?? msg.userName,
      friend: forFriend?.friend.name,
      instanceId: this.instanceId,
      enqueuedAt: Date.now(),
      // In Simplified, as the models read it; the reply goes back in the post's script (onReplyJob).
      post,
      intent: reading.intent,
      script: reading.script,
      subject: reading.subject?.slice(0, MAX_SUBJECT_CHARS),
      chorus,
    });
    const timeout: ReplyJob = { type: 'timeout', ...job };
    if (abandoned.value) return { action: 'ignored', reason: 'unavailable' };
    await this.replies.add('timeout', timeout, { jobId: jobIdFor(key, 'timeout'), delay: this.config.queue.timeoutMs });
    const jobId = jobIdFor(key, 'req');
    if (abandoned.value) return { action: 'ignored', reason: 'unavailable' };
    await this.requests.add('praise', job, { jobId });
    return { action: 'queued', jobId };
  }

  /** Whether a worker's heartbeat is alive; looked up at most once a second, and a change is logged once. */
  private async workerOnline(): Promise<boolean> {
    const now = Date.now();
    if (now - this.workersSeen.at > WORKER_CHECK_MS) {
      const online = (await liveWorkers(this.redis, this.keys)).length > 0;
      if (online !== this.workersSeen.online) {
        if (online) this.log.info('a worker is online again');
        else this.log.warn({ policy: this.config.queue.onTimeout }, 'no worker online: requests that cannot wait are answered with queue.onTimeout at once');
      }
      this.workersSeen = { at: now, online };
    }
    return this.workersSeen.online;
  }

  /** Why a friend may not be praised (a bot, not in this chat, opted out), as the answer to the asker; undefined: they may. */
  private async friendRefusal(msg: IncomingMessage, ask: FriendAsk): Promise<string | undefined> {
    const m = this.config.messages;
    if (ask.friend.isBot) return m.friendIsBot;
    if (!ask.friend.inChat) return m.friendNotInChat;
    if (await this.redis.sismember(this.keys.optedOut(msg.platform), ask.friend.userId)) return m.friendOptedOut;
    return undefined;
  }

  private async setOptedOut(platform: Platform, userId: string, out: boolean): Promise<void> {
    const key = this.keys.optedOut(platform);
    await (out ? this.redis.sadd(key, userId) : this.redis.srem(key, userId));
  }

  /** queue.onTimeout, applied at once to a request nobody would generate for: the fallback praise, busy, or silence. */
  private async answerWithoutWorker(msg: IncomingMessage, post: string, reading: Reading, forFriend?: FriendAsk): Promise<HandleResult> {
    const onTimeout = this.config.queue.onTimeout;
    if (onTimeout === 'fallback') {
      const text = this.fallbackText(post, await this.history.recent(msg.platform, msg.chatId), reading);
      await this.history.add(msg.platform, msg.chatId, text);
      const to = forFriend ? { ...msg, userId: forFriend.friend.userId, userName: forFriend.friend.name } : msg;
      return this.reply(to, addressed(await inScript(text, reading.script), forFriend?.friend.name), 'fallback');
    }
    await this.limits.releaseCooldown(msg.platform, msg.userId);
    return onTimeout === 'busy' ? this.reply(msg, this.config.messages.busy, 'busy') : { action: 'ignored', reason: 'no-worker' };
  }

  /** The reply when no worker's praise will come: the post's own words in a frame, else a template of its tone. */
  private fallbackText(post: string, recent: string[], reading: Pick<Reading, 'intent' | 'subject'>): string {
    const { intent, subject } = reading;
    const framing = this.frames && { frames: this.frames, subject, blocklist: this.config.policy.blocklist };
    return fallbackPraise(post, recent, Math.random, intent, framing).text;
  }

  /** Counts and logs a distress post by what caught it (the pattern, or the reader's score); the user's text is never logged. */
  private noteDistress(msg: IncomingMessage, signal: DistressSignal, outcome: 'answered' | 'repeat'): void {
    metrics.distress.inc({ platform: msg.platform, outcome, by: signal.by });
    const what = outcome === 'answered' ? 'distress post: care reply' : 'distress post inside distress.repeatSeconds: no second care reply';
    this.log.info({ platform: msg.platform, chatId: msg.chatId, ...signal, outcome }, what);
  }

  private reply(msg: IncomingMessage, text: string, kind: DeliveryKind): HandleResult {
    return { action: 'replied', delivery: toDelivery(msg, text, kind, this.config.chorus.host) };
  }

  /** Both a worker's reply and this bot's timeout land here; whichever claims the "answered" key first is the one answer. */
  private async onReplyJob(job: Job): Promise<string> {
    const parsed = replyJobSchema.safeParse(job.data);
    if (!parsed.success) {
      metrics.errors.inc({ component: 'delivery' });
      this.log.error({ jobId: job.id, problem: parsed.error.issues[0]?.message }, 'dropping a malformed reply job');
      return 'malformed';
    }
    const r = parsed.data;
    const answered = this.keys.answered(r.key);
    const claimed = await this.redis.set(answered, `${r.type}:${this.instanceId}`, 'EX', this.config.queue.retention.dedupeSeconds, 'NX');
    if (claimed !== 'OK') return 'already answered';

    const to = this.deliverers.get(r.platform);
    let delivery: Delivery | undefined;
    /** A tone reply sent for a timeout, as the chat's history keeps it (in Simplified, like every reply there). */
    let fallbackText: string | undefined;
    if (r.type === 'chorus') {
      delivery = { ...toDelivery(r, r.text, 'praise', r.voice), model: r.model };
    } else if (r.type === 'reply') {
      await this.replies.remove(jobIdFor(r.key, 'timeout')).catch(() => 0);
      const texts = await Promise.all([r.text, ...(r.also ?? [])].map(async (t) => addressed(await inScript(t, r.script ?? 'simplified'), r.friend)));
      const voices = chorusVoices(this.config.chorus, texts.length);
      const chorus: ChorusReply[] = texts.map((text, i) => ({ text, voice: voices[i]! }));
      const first = chorus[0]!;
      // One message per reply, or (chorusTogether) the whole chorus in one delivery.
      const apart = chorus.length > 1 && !to?.options.chorusTogether;
      if (apart) await this.queueChorus(r, chorus);
      delivery = {
        ...toDelivery(r, apart ? labelled(this.config.chorus.label, first) : first.text, r.kind, first.voice),
        model: r.model,
        ...(chorus.length > 1 && !apart && { chorus }),
      };
    } else {
      // Nobody answered in time: take the request back if no worker holds it yet (a late answer would be dropped anyway).
      await this.requests.remove(jobIdFor(r.key, 'req')).catch(() => 0);
      this.log.warn({ platform: r.platform, chatId: r.chatId, policy: this.config.queue.onTimeout }, 'no worker answered in time');
      const onTimeout = this.config.queue.onTimeout;
      const host = this.config.chorus.host;
      if (onTimeout === 'fallback') {
        const recent = await this.history.recent(r.platform, r.chatId);
        fallbackText = this.fallbackText(r.post, recent, r);
        delivery = toDelivery(r, addressed(await inScript(fallbackText, r.script ?? 'simplified'), r.friend), 'fallback', host);
      } else if (onTimeout === 'busy') delivery = toDelivery(r, this.config.messages.busy, 'busy', host);
    }
    if (!delivery) return 'silent';

    try {
      if (!to) throw new Error(`no ${r.platform} sender is registered in this process`);
      await to.deliver(delivery);
    } catch (err) {
      await this.redis.del(answered);
      throw err;
    }
    if (fallbackText !== undefined) await this.history.add(r.platform, r.chatId, fallbackText);
    metrics.replies.inc({ platform: r.platform, kind: delivery.kind });
    if (r.type !== 'chorus') metrics.endToEndLatency.observe({ kind: delivery.kind }, (Date.now() - r.enqueuedAt) / 1000);
    return delivery.kind;
  }

  /**
   * The later replies of a chorus, each a delayed job of this bot's reply queue, chorus.gapMs apart: delivered (and
   * retried) like every reply, once each, even when this process restarts in between.
   */
  private async queueChorus(r: Extract<ReplyJob, { type: 'reply' }>, chorus: ChorusReply[]): Promise<void> {
    const addressing = addressingSchema.parse(r);
    for (const [index, reply] of chorus.entries()) {
      if (index === 0) continue;
      const job: ReplyJob = {
        ...addressing,
        type: 'chorus',
        key: `${r.key}#${index}`,
        index,
        text: labelled(this.config.chorus.label, reply),
        voice: reply.voice,
        model: r.model,
      };
      await this.replies.add('chorus', job, { jobId: jobIdFor(job.key, 'chorus'), delay: index * this.config.chorus.gapMs });
    }
  }

  async status(): Promise<CoreStatus> {
    try {
      const [pong, queueDepth, workers] = await withTimeout(Promise.all([this.redis.ping(), this.requests.count(), liveWorkers(this.redis, this.keys)]), 2000);
      metrics.queueDepth.set(queueDepth);
      metrics.redisUp.set({ target: this.redisAt }, 1);
      return { redis: pong === 'PONG', redisAt: this.redisAt, queueDepth, workers: workers.length, model: workers[0]?.model ?? null };
    } catch {
      // Also when the connection is up but Redis does not answer (hung, or overloaded), which no connection event tells.
      metrics.redisUp.set({ target: this.redisAt }, 0);
      return { redis: false, redisAt: this.redisAt, queueDepth: 0, workers: 0, model: null };
    }
  }

  /** Marks this bot alive and deletes what has outlived its retention (src/retention.ts); runs on a timer too. */
  sweep(): Promise<void> {
    return this.janitor.sweep();
  }

  /**
   * Stops taking replies and closes the connections, within closeTimeoutMs in all. With Redis gone, a close waits for a
   * reconnection that may never come (BullMQ and ioredis queue the QUIT), so what is still closing then is dropped.
   */
  async close(): Promise<void> {
    const left = deadline(this.closeTimeoutMs);
    await closeOrDrop('reply worker', this.replyWorker, left(), this.log);
    await this.janitor.stop(left());
    await Promise.all([closeOrDrop('request queue', this.requests, left(), this.log), closeOrDrop('reply queue', this.replies, left(), this.log)]);
    await quitOrDrop(this.redis, left());
  }
}

/** The message with its text in Simplified when it was written in Traditional. */
function inSimplified(msg: IncomingMessage, words: Reading): IncomingMessage {
  return { ...msg, text: asRead(msg.text, words.script) };
}

function toDelivery(
  to: { platform: Platform; chatId: string; messageId: string; userId: string; userName?: string },
  text: string,
  kind: DeliveryKind,
  voice: Voice,
): Delivery {
  return { platform: to.platform, chatId: to.chatId, replyToMessageId: to.messageId, userId: to.userId, userName: to.userName, text, kind, voice };
}

/** A reply to a friend's praise starts with their name: "小明，…". */
function addressed(text: string, friend?: string): string {
  return friend ? `${friend}，${text}` : text;
}

/**
 * kuakua_redis_up{target}: 1 while the core's connection is ready, 0 while it waits for Redis (or a new master); a
 * status look-up (/healthz) sets it too.
 */
function watchConnection(redis: Redis, target: string): void {
  metrics.redisUp.set({ target }, 0);
  redis.on('ready', () => metrics.redisUp.set({ target }, 1));
  redis.on('close', () => metrics.redisUp.set({ target }, 0));
  redis.on('end', () => metrics.redisUp.remove({ target }));
}

/** The core every adapter talks to; replies for chats it handled come back to this process through its own reply queue. */
export async function createCore(opts: CoreOptions): Promise<Core> {
  const target = opts.redis ?? redisTarget(opts.config);
  const redis = createRedis(target, { logger: opts.logger.child({ component: 'redis' }) });
  const redisAt = describeRedis(target);
  watchConnection(redis, redisAt);
  const ephemeral = !opts.instanceId && !opts.config.instance.id;
  const bot = new QueueCore(
    opts.config,
    opts.logger,
    redis,
    redisAt,
    opts.instanceId ?? defaultInstanceId(opts.config),
    ephemeral,
    opts.reader,
    opts.closeTimeoutMs,
  );
  await redis.ping();
  await bot.sweep();
  return bot;
}
