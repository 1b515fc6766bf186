import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../protocol/codes.js';
import { PROTOCOL_DEFAULTS } from '../../protocol/defaults.js';
import { HoldfastError } from '../../protocol/errors.js';
import { EventFanout } from '../event-fanout.js';
import { refusal } from '../refusal.js';
import type {
  AppendEntry,
  AppendResult,
  ReadResult,
  RequestClaim,
  RequestOutcome,
  RetentionPolicy,
  SessionRecord,
  SessionState,
  SessionTakeover,
  SessionUpdate,
  Store,
  StoreListener,
  StreamInfo,
  TrimResult,
  VolatileMessage,
} from '../types.js';
import { decodeEntry, decodeInstanceEvent, decodeSession, decodeTopicEvent, encodeCursor, encodeData, sessionFields, type StreamEntry } from './codec.js';
import { BUCKETS, KeyLayout, bucketOf, epochName } from './key-layout.js';
import * as records from './record-scripts.js';
import { RedisLink, linkOptions, type RedisClient } from './redis-link.js';
import * as topics from './topic-scripts.js';

export interface RedisStoreOptions {
  /** Where Redis is, when no `client` is given. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /**
   * An ioredis client (Redis or Cluster) to use instead of connecting to `url`; the store also
   * makes a duplicate of it for pub/sub. Its options are the caller's: without
   * `enableOfflineQueue: false` and `autoResendUnfulfilledCommands: false`, calls during an outage
   * wait instead of failing, and a command whose reply was lost may run twice. The store does not
   * close it. @default a client of the store's own
   */
  client?: RedisClient;
  /**
   * Prefix of every key and channel: the nodes of one deployment share it, and one Redis holds
   * several deployments under different prefixes. No `{` or `}`. @default 'holdfast'
   */
  keyPrefix?: string;
  /**
   * Most topics the deployment holds (counted in a set, see docs/redis.md); an append that would
   * create one more is refused with TOO_MANY_TOPICS. Infinity counts nothing (Redis's own
   * maxmemory is then the bound). @default 100000
   */
  maxTopics?: number;
  /** Most messages one trim script removes before it lets other commands run. @default 10000 */
  trimChunk?: number;
  /**
   * How long a forgotten topic's tombstone (the epoch it had) is kept, in ms: longer than any node's
   * view of the deployment's epoch counter may lag. @default 604800000 (7 days)
   */
  tombstoneTtlMs?: number;
  /** @default 10000 */
  connectTimeoutMs?: number;
  /**
   * A call whose reply takes longer fails with STORE_UNAVAILABLE, and the connection is renewed.
   * The pub/sub connection is pinged this often, with the same timeout, so a silent one is renewed
   * too (an outage: `lost`, then `back`). @default 5000
   */
  commandTimeoutMs?: number;
  /**
   * Wait for replicas before an append counts as done: after the batch's scripts, the store sends
   * `WAIT replicas timeoutMs`, and an append that fewer replicas confirmed in time fails with
   * STORE_UNAVAILABLE (it is in the primary; the client's resend is recognised as a duplicate and
   * waited for again). Completed request outcomes are waited for the same way. One Redis with
   * replicas only, not a Cluster (WAIT is per connection, and a Cluster client has one per
   * primary). See docs/redis.md, "What an acknowledgement means". @default no waiting
   */
  waitForReplicas?: { replicas: number; timeoutMs: number };
  /** Receives what a listener threw; the store carries on. @default console.error */
  onListenerError?: (error: unknown) => void;
  /** Receives connection errors the store recovers from (they also show as `health`). @default ignored */
  onError?: (error: unknown) => void;
}

type ScriptName = keyof typeof SCRIPTS;
const SCRIPTS = {
  hfAppend: topics.APPEND,
  hfRead: topics.READ,
  hfTrim: topics.TRIM,
  hfForget: topics.FORGET,
  hfSweepDedup: topics.SWEEP_DEDUP,
  hfPermit: topics.PERMIT,
  hfClaimIds: records.CLAIM_IDS,
  hfClaimRequest: records.CLAIM_REQUEST,
  hfRenewRequests: records.RENEW_REQUESTS,
  hfCompleteRequest: records.COMPLETE_REQUEST,
  hfConfirmRequests: records.CONFIRM_REQUESTS,
  hfSweepBucket: records.SWEEP_BUCKET,
  hfCreateSession: records.CREATE_SESSION,
  hfTakeSession: records.TAKE_SESSION,
  hfSaveSessions: records.SAVE_SESSIONS,
  hfLoadSession: records.LOAD_SESSION,
  hfDeleteSession: records.DELETE_SESSION,
} as const;

type Arg = string | number;

/** Used when an entry has a `dedupKey` but no `dedupTtlMs`: the protocol's de-duplication window, as the other stores do. */
const DEFAULT_DEDUP_TTL_MS = PROTOCOL_DEFAULTS.dedupWindow;

/** Topics known to exist, so appends to them need no permit: bounded, as it is only a shortcut. */
const MAX_KNOWN_TOPICS = 100_000;

/**
 * The Store on Redis, for several server nodes: an instance is one node. Streams, sessions,
 * ids and request runs live in Redis; nodes hear each other's appends, broadcasts, takeovers and
 * finished requests through Redis pub/sub. See docs/redis.md for the key layout, what an
 * acknowledgement means, and outages.
 */
export class RedisStore implements Store {
  /** This instance's id: the holder of the sessions it takes, the waiter of the requests it waits for. */
  readonly instance = randomUUID();
  readonly layout: KeyLayout;
  private readonly link: RedisLink;
  private readonly events: EventFanout;
  private readonly watched = new Set<string>();
  private readonly known = new Set<string>();
  private readonly maxTopics: number;
  private readonly trimChunk: number;
  private readonly tombstoneTtlMs: number;
  private readonly connectTimeoutMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly replicaWait: { replicas: number; timeoutMs: number } | undefined;
  /** The deployment's epoch: its base and how many topics were forgotten, as last read. */
  private epochBase = '';
  private forgotten = 0;
  /** Resolves once the previous append call has sent its commands: calls reach Redis in call order. */
  private appendTurn: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: RedisStoreOptions = {}) {
    this.layout = new KeyLayout(options.keyPrefix ?? 'holdfast');
    this.maxTopics = options.maxTopics ?? 100_000;
    this.trimChunk = options.trimChunk ?? 10_000;
    this.tombstoneTtlMs = options.tombstoneTtlMs ?? 7 * 24 * 3600 * 1000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.onError = options.onError ?? (() => undefined);
    this.events = new EventFanout(options.onListenerError);
    const source = options.client !== undefined ? { client: options.client } : { url: options.url ?? 'redis://127.0.0.1:6379' };
    const commandTimeoutMs = options.commandTimeoutMs ?? 5_000;
    this.replicaWait = checkReplicaWait(options.waitForReplicas, commandTimeoutMs, options.client?.isCluster === true);
    this.link = new RedisLink(
      source,
      linkOptions(this.connectTimeoutMs, commandTimeoutMs),
      {
        prepare: () => this.prepare(),
        health: (state) => this.events.emit({ kind: 'health', state }),
        onError: (error) => this.onError(error),
      },
      commandTimeoutMs,
    );
    for (const [name, lua] of Object.entries(SCRIPTS)) this.link.commands.defineCommand(name, { lua });
    // A Cluster client groups auto-pipelined commands by the slot of their first argument, which
    // for these scripts is the key count, not a key: the pipeline then mixes nodes and fails. Sent
    // one by one they still go out without waiting for each other's replies.
    if (this.link.commands.isCluster) {
      const options = this.link.commands.options as { autoPipeliningIgnoredCommands?: string[] };
      options.autoPipeliningIgnoredCommands = [...new Set([...(options.autoPipeliningIgnoredCommands ?? []), ...Object.keys(SCRIPTS)])];
    }
    this.link.subscriber.on('message', (channel: string, payload: string) => this.heard(channel, payload));
  }

  /** The epoch topics are created with now (as this instance last read it). */
  get epoch(): string {
    return epochName(this.epochBase, this.forgotten);
  }

  async append(entries: AppendEntry[]): Promise<AppendResult[]> {
    await this.ready();
    const groups = new Map<string, number[]>();
    entries.forEach((entry, i) => {
      const group = groups.get(entry.topic);
      if (group === undefined) groups.set(entry.topic, [i]);
      else group.push(i);
    });
    const previous = this.appendTurn;
    let sent!: () => void;
    this.appendTurn = new Promise((resolve) => (sent = resolve));
    const replies: Array<Promise<unknown>> = [];
    const granted = new Set<string>();
    try {
      await previous;
      await this.ready();
      if (Number.isFinite(this.maxTopics)) {
        // In the order of each topic's first entry that may create it: the order the topics would be created in.
        const ask = [...groups]
          .filter(([topic]) => !this.known.has(topic))
          .map(([topic, group]) => [topic, group.find((i) => entries[i]!.create !== false)] as const)
          .filter((pair): pair is readonly [string, number] => pair[1] !== undefined)
          .sort((x, y) => x[1] - y[1])
          .map(([topic]) => topic);
        if (ask.length > 0) {
          const answers = (await this.script('hfPermit', [this.layout.topics], [this.maxTopics, ...ask])) as number[];
          ask.forEach((topic, i) => answers[i] === 1 && granted.add(topic));
        }
      }
      replies.push(this.link.commands.hmget(this.layout.epoch, 'b', 'n'));
      for (const [topic, group] of groups) replies.push(this.appendGroup(topic, group.map((i) => entries[i]!), this.known.has(topic) || granted.has(topic)));
    } catch (error) {
      throw this.failure(error);
    } finally {
      sent();
    }
    const settled = await Promise.allSettled(replies);
    const results: AppendResult[] = new Array(entries.length);
    const [epochRead, ...groupReplies] = settled;
    if (epochRead?.status === 'fulfilled') this.sawEpoch(epochRead.value as [string | null, string | null]);
    let i = 0;
    for (const [topic, group] of groups) {
      const reply = groupReplies[i++]!;
      if (reply.status === 'rejected') {
        if (!/^OOM/.test(errorText(reply.reason))) throw this.failure(reply.reason);
        for (const at of group) results[at] = refusal(ErrorCode.StoreFull, 'Redis is out of memory (maxmemory)');
        continue;
      }
      this.settleGroup(topic, group, reply.value as Arg[], results, granted.has(topic));
    }
    await this.waitForReplicas('the append');
    return results;
  }

  async read(topic: string, afterOffset: number, limit: number, maxBytes?: number): Promise<ReadResult> {
    await this.ready();
    const keys = this.layout.topic(topic);
    const start = afterOffset < 1 ? '-' : `${Math.floor(afterOffset) + 1}-0`;
    const count = Math.max(0, Math.min(Math.floor(limit), 1_000_000));
    const reply = (await this.call('hfRead', [keys.meta, keys.log], [start, count, maxBytes === undefined ? '' : Math.floor(maxBytes)])) as
      | [string, number, number, StreamEntry[]]
      | null;
    if (reply === null) return { epoch: await this.currentEpoch(), head: 0, first: 1, messages: [] };
    const [epoch, head, first, entries] = reply;
    return { epoch, head, first, messages: entries.map((entry) => decodeEntry(topic, entry)) };
  }

  async info(topic: string): Promise<StreamInfo> {
    const { epoch, head, first } = await this.read(topic, 0, 0);
    return { epoch, head, first };
  }

  async trim(topic: string, policy: RetentionPolicy, now: number): Promise<TrimResult> {
    await this.ready();
    const keys = this.layout.topic(topic);
    const maxCount = policy.maxCount === undefined ? '' : Math.max(0, Math.floor(policy.maxCount));
    const cutoff = policy.maxAgeMs === undefined ? '' : now - policy.maxAgeMs;
    let removed = 0;
    for (;;) {
      const reply = (await this.call('hfTrim', [keys.meta, keys.log, keys.keys], [maxCount, cutoff, this.trimChunk])) as [number, number, number, string | null] | null;
      if (reply === null) return { removed };
      const [count, more, left, oldest] = reply;
      removed += count;
      if (more === 1) continue;
      if (left > 0) return { removed, oldest: Number(oldest) };
      break;
    }
    // Retaining nothing: forgotten, once the epoch of topics created from now on has moved on.
    const forgotten = await this.call('hincrby', [], [this.layout.epoch, 'n', 1]);
    this.forgotten = Math.max(this.forgotten, Number(forgotten));
    const gone = (await this.call('hfForget', [keys.meta, keys.log, keys.keys, keys.gone], [this.tombstoneTtlMs])) as number | [string];
    if (Array.isArray(gone)) return { removed, oldest: Number(gone[0]) };
    this.known.delete(topic);
    if (Number.isFinite(this.maxTopics)) await this.call('srem', [], [this.layout.topics, topic]);
    return { removed };
  }

  async broadcast(message: VolatileMessage): Promise<void> {
    await this.ready();
    await this.call('publish', [], [this.layout.topicChannel(message.topic), JSON.stringify({ v: message })]);
  }

  /** Local to this instance: works during an outage (the listener hears `health`). */
  listen(listener: StoreListener): () => void {
    this.ensureOpen();
    return this.events.add(listener);
  }

  async watch(topic: string): Promise<void> {
    await this.ready();
    if (this.watched.has(topic)) return;
    this.watched.add(topic);
    try {
      await this.link.subscriber.subscribe(this.layout.topicChannel(topic));
    } catch (error) {
      this.watched.delete(topic);
      throw this.failure(error);
    }
  }

  unwatch(topic: string): void {
    if (!this.watched.delete(topic) || !this.link.up) return;
    // Events already on their way are dropped by `heard`; a failure here is an outage, after which only watched topics are subscribed again.
    this.link.subscriber.unsubscribe(this.layout.topicChannel(topic)).catch((error: unknown) => this.onError(error));
  }

  async claimIds(keys: string[], ttlMs: number, now: number): Promise<boolean[]> {
    await this.ready();
    const results: boolean[] = new Array(keys.length);
    await Promise.all(
      [...byBucket(keys, (key) => key)].map(async ([bucket, indices]) => {
        const reply = (await this.call('hfClaimIds', [this.layout.bucket(bucket).ids], [now, now + ttlMs, ...indices.map((i) => keys[i]!)])) as number[];
        indices.forEach((at, i) => (results[at] = reply[i] === 1));
      }),
    );
    return results;
  }

  async claimRequest(key: string, now: number, leaseMs: number, ttlMs: number): Promise<RequestClaim> {
    await this.ready();
    const reply = (await this.call('hfClaimRequest', this.requestKeys(key), [key, now, now + leaseMs, now + ttlMs, this.instance])) as [string, string?];
    const [state, outcome] = reply;
    if (state === 'done') return { state, outcome: JSON.parse(outcome!) as RequestOutcome };
    return { state: state as 'new' | 'running' | 'confirmed' | 'lost' };
  }

  async renewRequests(keys: string[], now: number, leaseMs: number): Promise<void> {
    await this.ready();
    await Promise.all(
      [...byBucket(keys, (key) => key)].map(([bucket, indices]) =>
        this.call('hfRenewRequests', [this.layout.bucket(bucket).requests], [now, now + leaseMs, ...indices.map((i) => keys[i]!)]),
      ),
    );
  }

  async completeRequest(key: string, outcome: RequestOutcome, now: number, ttlMs: number): Promise<void> {
    await this.ready();
    await this.call('hfCompleteRequest', this.requestKeys(key), [key, JSON.stringify(outcome), now, now + ttlMs, this.layout.nodeChannel('')]);
    await this.waitForReplicas('the request outcome');
  }

  async confirmRequests(keys: string[]): Promise<void> {
    await this.ready();
    await Promise.all(
      [...byBucket(keys, (key) => key)].map(([bucket, indices]) => {
        const { requests, outcomes } = this.layout.bucket(bucket);
        return this.call('hfConfirmRequests', [requests, outcomes], indices.map((i) => keys[i]!));
      }),
    );
  }

  async createSession(state: SessionState): Promise<boolean> {
    await this.ready();
    if (state.version !== 1) throw new TypeError(`createSession: a new session is at version 1, not ${state.version}`);
    const keys = this.layout.session(state.id);
    const fields = sessionFields(state, this.instance);
    return (await this.call('hfCreateSession', [keys.state, keys.replies, keys.bucket.sessionsDue], [state.id, state.expiresAt, ...fields])) === 1;
  }

  async takeSession(id: string, version: number, change: SessionTakeover): Promise<number | undefined> {
    await this.ready();
    const keys = this.layout.session(id);
    const args = [id, version, change.tokenHash, change.previousTokenHash ?? '', change.expiresAt, this.instance, this.layout.nodeChannel('')];
    const reply = await this.call('hfTakeSession', [keys.state, keys.bucket.sessionsDue], args);
    return reply === null ? undefined : Number(reply);
  }

  async saveSessions(updates: SessionUpdate[]): Promise<boolean[]> {
    await this.ready();
    const results: boolean[] = new Array(updates.length);
    await Promise.all(
      [...byBucket(updates, (update) => update.id)].map(async ([bucket, indices]) => {
        const keys = [this.layout.bucket(bucket).sessionsDue];
        const args: Arg[] = [];
        for (const i of indices) {
          const update = updates[i]!;
          const session = this.layout.session(update.id);
          keys.push(session.state, session.replies);
          args.push(update.id, update.version, update.expiresAt ?? '', update.ledger?.lastSeq ?? '', update.ledger === undefined ? '' : JSON.stringify(update.ledger.doneAbove));
          const cursors = Object.entries(update.cursors ?? {});
          args.push(cursors.length);
          for (const [topic, cursor] of cursors) args.push(topic, cursor === null || cursor === undefined ? '' : encodeCursor(cursor));
          const added = update.addReplies ?? [];
          args.push(added.length);
          for (const reply of added) args.push(reply.seq, JSON.stringify(reply));
          const removed = update.removeReplies ?? [];
          args.push(removed.length, ...removed);
        }
        const reply = (await this.call('hfSaveSessions', keys, args)) as number[];
        indices.forEach((at, i) => (results[at] = reply[i] === 1));
      }),
    );
    return results;
  }

  async loadSession(id: string): Promise<SessionRecord | undefined> {
    await this.ready();
    const keys = this.layout.session(id);
    const reply = (await this.call('hfLoadSession', [keys.state, keys.replies], [])) as [string[], string[]] | null;
    return reply === null ? undefined : decodeSession(id, reply[0], reply[1]);
  }

  async deleteSession(id: string, version: number): Promise<void> {
    await this.ready();
    const keys = this.layout.session(id);
    await this.call('hfDeleteSession', [keys.state, keys.replies, keys.bucket.sessionsDue], [id, version]);
  }

  async sweep(now: number): Promise<{ sessions: number; ids: number }> {
    await this.ready();
    const buckets = Array.from({ length: BUCKETS }, (_, n) => {
      const b = this.layout.bucket(n);
      return this.call('hfSweepBucket', [b.ids, b.requests, b.outcomes, b.waiters, b.requestsDue, b.sessionsDue], [now, b.sessionPrefix]) as Promise<[number, number]>;
    });
    const due = (await this.call('zrangebyscore', [], [this.layout.dedupDue, '-inf', now])) as string[];
    const dedup = due.map(async (topic) => {
      const keys = this.layout.topic(topic);
      const [count, next] = (await this.call('hfSweepDedup', [keys.dedup, keys.dedupOffsets], [now])) as [number, string | null];
      // Not atomic with appends to the topic (another slot): an append racing this may be swept late, never early.
      if (next === null) await this.call('zrem', [], [this.layout.dedupDue, topic]);
      else await this.call('zadd', [], [this.layout.dedupDue, next, topic]);
      return count;
    });
    let sessions = 0;
    let ids = 0;
    for (const [s, i] of await Promise.all(buckets)) {
      sessions += s;
      ids += i;
    }
    for (const count of await Promise.all(dedup)) ids += count;
    return { sessions, ids };
  }

  /** Detaches this instance: its listeners and watches, and the connections it made. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.events.clear();
    this.watched.clear();
    this.link.close();
  }

  // --- internals ---

  private appendGroup(topic: string, group: AppendEntry[], permitted: boolean): Promise<unknown> {
    const keys = this.layout.topic(topic);
    const mark = this.replicaWait === undefined ? '0' : '1';
    const args: Arg[] = [this.epoch, permitted || !Number.isFinite(this.maxTopics) ? '1' : '0', this.layout.topicChannel(topic), mark, group.length];
    let soonest = Infinity;
    for (const entry of group) {
      const compact = entry.compact === true;
      const key = compact ? (entry.key ?? '') : entry.key;
      const mode = compact ? 'c' : key === undefined ? 'p' : 'k';
      const expiry = entry.dedupKey === undefined ? '' : entry.time + (entry.dedupTtlMs ?? DEFAULT_DEDUP_TTL_MS);
      if (expiry !== '' && expiry < soonest) soonest = expiry;
      args.push(encodeData(entry.data), mode, key ?? '', entry.dedupKey ?? '', expiry, entry.time, entry.create === false ? '0' : '1', entry.maxKeys ?? '');
    }
    const reply = this.script('hfAppend', [keys.meta, keys.log, keys.keys, keys.dedup, keys.dedupOffsets, keys.gone], args);
    // Indexed for `sweep` right behind the append (another slot, so not inside the script).
    if (soonest !== Infinity) this.link.commands.zadd(this.layout.dedupDue, 'LT', soonest, topic).catch((error: unknown) => this.onError(error));
    return reply;
  }

  private settleGroup(topic: string, group: number[], reply: Arg[], results: AppendResult[], granted: boolean): void {
    const [epoch, exists, created] = [String(reply[0]), reply[1] === 1, reply[2] === 1];
    group.forEach((at, i) => {
      const code = reply[3 + 2 * i];
      const offset = Number(reply[4 + 2 * i]);
      if (code === 'n' || code === 'd') results[at] = { offset, epoch, duplicate: code === 'd' };
      else if (code === 't') results[at] = refusal(ErrorCode.TooManyTopics, `the topic ${topic} does not exist, and this append may not create it`);
      else if (code === 'm') results[at] = refusal(ErrorCode.TooManyTopics, `the store holds its most topics (maxTopics ${this.maxTopics})`);
      else results[at] = refusal(ErrorCode.TooManyKeys, `the topic ${topic} holds its most keys`);
    });
    if (!Number.isFinite(this.maxTopics)) return;
    if (exists) {
      if (this.known.size >= MAX_KNOWN_TOPICS) this.known.clear();
      this.known.add(topic);
    }
    // The topic count follows what happened (another slot, so behind the script): a topic created
    // without asking (known here, forgotten by another node meanwhile) is counted, a permit unused is given back.
    if (created && !granted) this.link.commands.sadd(this.layout.topics, topic).catch((error: unknown) => this.onError(error));
    if (!exists && granted) this.link.commands.srem(this.layout.topics, topic).catch((error: unknown) => this.onError(error));
  }

  /**
   * With `waitForReplicas`: WAIT on the commands connection, after this call's writes were answered
   * (so also after a script that NOSCRIPT made ioredis send again). WAIT covers every write this
   * connection made so far, which includes them.
   */
  private async waitForReplicas(what: string): Promise<void> {
    if (this.replicaWait === undefined) return;
    const { replicas, timeoutMs } = this.replicaWait;
    const confirmed = Number(await this.call('wait', [], [replicas, timeoutMs]));
    if (confirmed < replicas) {
      throw new HoldfastError(
        ErrorCode.StoreUnavailable,
        `${what} is in the Redis primary, but ${confirmed} of the ${replicas} replicas asked for (waitForReplicas) confirmed it within ${timeoutMs} ms`,
      );
    }
  }

  private requestKeys(key: string): string[] {
    const b = this.layout.bucket(bucketOf(key));
    return [b.requests, b.outcomes, b.waiters, b.requestsDue];
  }

  /** Runs each time the connections are (back) up: epoch, scripts, subscriptions. */
  private async prepare(): Promise<void> {
    const commands = this.link.commands;
    await commands.hsetnx(this.layout.epoch, 'b', randomUUID());
    this.sawEpoch(await commands.hmget(this.layout.epoch, 'b', 'n'));
    // A restarted Redis lost its script cache: loaded again before the first call needs them.
    await Promise.all(Object.values(SCRIPTS).map((lua) => commands.script('LOAD', lua)));
    const channels = [this.layout.nodeChannel(this.instance), ...[...this.watched].map((topic) => this.layout.topicChannel(topic))];
    for (let i = 0; i < channels.length; i += 1000) await this.link.subscriber.subscribe(...channels.slice(i, i + 1000));
  }

  private sawEpoch([base, forgotten]: Array<string | null>): void {
    if (base === null || base === undefined) {
      // The deployment's epoch is gone (Redis was emptied under us): a new one, and read again.
      this.link.reset();
      return;
    }
    if (base !== this.epochBase) this.forgotten = 0;
    this.epochBase = base;
    this.forgotten = Math.max(this.forgotten, Number(forgotten ?? 0));
  }

  /** The epoch a topic would be created with, read from Redis (another node may have moved it on). */
  private async currentEpoch(): Promise<string> {
    this.sawEpoch((await this.call('hmget', [], [this.layout.epoch, 'b', 'n'])) as Array<string | null>);
    return this.epoch;
  }

  private heard(channel: string, payload: string): void {
    if (this.closed) return;
    try {
      if (channel === this.layout.nodeChannel(this.instance)) {
        this.events.emit(decodeInstanceEvent(payload));
        return;
      }
      const topic = channel.slice(this.layout.topicChannel('').length);
      if (this.watched.has(topic)) this.events.emit(decodeTopicEvent(topic, payload));
    } catch (error) {
      this.onError(error);
    }
  }

  /** A script by name with its keys, or a plain command with its arguments; failures as STORE_UNAVAILABLE. */
  private async call(name: string, keys: string[], args: Arg[]): Promise<unknown> {
    try {
      return await this.script(name, keys, args);
    } catch (error) {
      throw this.failure(error);
    }
  }

  private script(name: ScriptName | string, keys: string[], args: Arg[]): Promise<unknown> {
    const commands = this.link.commands as unknown as Record<string, (args: Arg[]) => Promise<unknown>>;
    // One array argument (ioredis flattens it): a batch of 10,000 entries is 80,000 arguments, too many to spread.
    return commands[name]!(name in SCRIPTS ? [keys.length, ...keys, ...args] : args);
  }

  private failure(error: unknown): HoldfastError {
    if (error instanceof HoldfastError) return error;
    const text = errorText(error);
    if (/timed out/i.test(text)) this.link.reset();
    return new HoldfastError(ErrorCode.StoreUnavailable, `the Redis store failed: ${text}`, { cause: error });
  }

  /** Waits for the first connection (up to connectTimeoutMs); after that, fails at once while Redis is unreachable. */
  private async ready(): Promise<void> {
    this.ensureOpen();
    if (this.link.up) return;
    if (!this.link.everUp) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.connectTimeoutMs)));
      await Promise.race([this.link.opened.then(() => true), timeout]);
      clearTimeout(timer);
      this.ensureOpen();
      if (this.link.up) return;
    }
    throw new HoldfastError(ErrorCode.StoreUnavailable, 'the Redis store is unreachable');
  }

  private ensureOpen(): void {
    if (this.closed) throw new HoldfastError(ErrorCode.StoreUnavailable, 'the Redis store is closed');
  }
}

function checkReplicaWait(
  wait: RedisStoreOptions['waitForReplicas'],
  commandTimeoutMs: number,
  cluster: boolean,
): { replicas: number; timeoutMs: number } | undefined {
  if (wait === undefined) return undefined;
  const { replicas, timeoutMs } = wait;
  if (!Number.isInteger(replicas) || replicas < 1) throw new TypeError(`RedisStore: waitForReplicas.replicas must be an integer of at least 1, got ${replicas}`);
  // WAIT 0 would block forever, and a wait the command timeout cuts short would renew the connection.
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs >= commandTimeoutMs) {
    throw new TypeError(`RedisStore: waitForReplicas.timeoutMs must be an integer from 1 to below commandTimeoutMs (${commandTimeoutMs}), got ${timeoutMs}`);
  }
  if (cluster) throw new TypeError('RedisStore: waitForReplicas works with one Redis and its replicas, not with a Cluster client');
  return { replicas, timeoutMs };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Indices of `items` grouped by the bucket of their id, in order within each bucket. */
function byBucket<T>(items: T[], idOf: (item: T) => string): Map<number, number[]> {
  const buckets = new Map<number, number[]>();
  items.forEach((item, i) => {
    const bucket = bucketOf(idOf(item));
    const list = buckets.get(bucket);
    if (list === undefined) buckets.set(bucket, [i]);
    else list.push(i);
  });
  return buckets;
}
