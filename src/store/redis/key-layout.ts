/**
 * Where everything lives in Redis, laid out for Redis Cluster: every key of one topic shares the
 * hash tag `{t:<topic>}` (one slot, so one script updates them atomically), sessions, claimed ids
 * and request runs are spread over BUCKETS tags `{b<n>}` by a hash of their id (each bucket's
 * expiry index sits in the bucket's slot, so a write and its index move together), and the few
 * deployment-wide keys share `{g}`. No script touches two tags. See docs/redis.md.
 */

/** Buckets that sessions and ids are spread over: the same on every node of a deployment. */
export const BUCKETS = 64;

export interface TopicKeys {
  /** Hash: `epoch`, `head` (the newest offset, kept through trimming). */
  meta: string;
  /** Stream: one entry per retained message, ID `<offset>-0`, fields d (JSON data), t (time), k (key). */
  log: string;
  /** Hash, compacted topics: key → offset of the message retained for it. */
  keys: string;
  /** Sorted set: dedupKey → expiry (ms). */
  dedup: string;
  /** Hash: dedupKey → offset it was appended at. */
  dedupOffsets: string;
  /** String with a TTL, left when the topic is forgotten: the epoch of the history that ended. */
  gone: string;
}

export interface BucketKeys {
  /** Sorted set: claimed id → expiry. */
  ids: string;
  /** Hash: request key → `<state>|<leaseUntil>|<expiresAt>`, state r(unning), d(one), c(onfirmed). */
  requests: string;
  /** Hash: request key → outcome (JSON). */
  outcomes: string;
  /** Hash: request key → ids of the instances waiting for it, space separated. */
  waiters: string;
  /** Sorted set: request key → expiry. */
  requestsDue: string;
  /** Sorted set: session id → expiresAt. */
  sessionsDue: string;
  /** Prefix of the session keys of this bucket: `<prefix><id>` (hash) and `<prefix><id>:r` (replies). */
  sessionPrefix: string;
}

export class KeyLayout {
  /** Hash: `b` (the deployment's random base epoch), `n` (how many topics were forgotten). */
  readonly epoch: string;
  /** Set of the topics that exist, counted against maxTopics. */
  readonly topics: string;
  /** Sorted set: topic → the earliest expiry among its dedupKeys, so `sweep` visits only those due. */
  readonly dedupDue: string;

  constructor(readonly prefix: string) {
    if (/[{}]/.test(prefix)) throw new TypeError(`RedisStore: keyPrefix may not contain { or } (it would change the hash tags): ${prefix}`);
    this.epoch = `${prefix}:{g}:epoch`;
    this.topics = `${prefix}:{g}:topics`;
    this.dedupDue = `${prefix}:{g}:dedup-due`;
  }

  topic(topic: string): TopicKeys {
    const base = `${this.prefix}:{t:${topic}}:`;
    return {
      meta: `${base}meta`,
      log: `${base}log`,
      keys: `${base}keys`,
      dedup: `${base}dedup`,
      dedupOffsets: `${base}dedup-offsets`,
      gone: `${base}gone`,
    };
  }

  bucket(n: number): BucketKeys {
    const base = `${this.prefix}:{b${n}}:`;
    return {
      ids: `${base}ids`,
      requests: `${base}requests`,
      outcomes: `${base}outcomes`,
      waiters: `${base}waiters`,
      requestsDue: `${base}requests-due`,
      sessionsDue: `${base}sessions-due`,
      sessionPrefix: `${base}s:`,
    };
  }

  /** The session's hash and its replies' hash. */
  session(id: string): { state: string; replies: string; bucket: BucketKeys } {
    const bucket = this.bucket(bucketOf(id));
    return { state: `${bucket.sessionPrefix}${id}`, replies: `${bucket.sessionPrefix}${id}:r`, bucket };
  }

  /** Pub/sub: appended and volatile messages of one topic. */
  topicChannel(topic: string): string {
    return `${this.prefix}:t:${topic}`;
  }

  /** Pub/sub: the `session` and `request` events of one store instance. */
  nodeChannel(instance: string): string {
    return `${this.prefix}:n:${instance}`;
  }
}

/** FNV-1a of the id's UTF-16 units, modulo BUCKETS: stable across nodes and versions. */
export function bucketOf(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % BUCKETS;
}

/** The epoch of topics created now: the deployment's base, then `<base>.<n>` once n topics were forgotten. */
export function epochName(base: string, forgotten: number): string {
  return forgotten === 0 ? base : `${base}.${forgotten}`;
}
