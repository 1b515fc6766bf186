import { ErrorCode, type ErrorBody, type PubFrame } from '../protocol/index.js';
import { isRefusal, type AppendEntry, type AppendResult } from '../store/types.js';
import type { Clock } from '../protocol/index.js';
import type { Connection } from './connection.js';
import type { ResolvedLimits } from './options.js';
import { RateLimiter } from './rate-limiter.js';
import type { ResolvedTopic } from './topics.js';

/** What a stored publish's entry needs of the hub. */
export interface EntryContext {
  readonly clock: Clock;
  readonly limits: Pick<ResolvedLimits, 'topicCreation'>;
  readonly dedupWindow: number;
}

/**
 * The append of a client's stored publish, within the topic's key cap and the connection's
 * topic-creation budget: it may create its topic only while the connection has a token, taken now
 * so that publishes of one batch cannot share a token (settleBudget gives it back if unused).
 */
export function storedEntry(hub: EntryContext, connection: Connection, frame: PubFrame, settings: ResolvedTopic, size: number, dedupKey?: string): AppendEntry {
  const now = hub.clock.now();
  const { perSecond, burst } = hub.limits.topicCreation;
  const budget = (connection.topicBudget ??= new RateLimiter(perSecond, burst, now));
  const compact = settings.mode === 'latest';
  // One literal with every field, always in this order: a spread, or fields added afterwards, gave
  // every publish's entry a shape of its own, and this function 11 % of the server's time.
  return {
    topic: frame.topic,
    data: frame.data,
    key: frame.key,
    compact,
    time: now,
    size,
    create: budget.tryTake(now),
    maxKeys: compact ? settings.maxKeys : undefined,
    dedupKey,
    dedupTtlMs: dedupKey === undefined ? undefined : hub.dedupWindow,
  };
}

/**
 * The token taken for `entry` is spent when the append created its topic (offset 1, not a
 * duplicate) and given back otherwise. Returns the refusal to report to the client, if any.
 */
export function settleBudget(hub: EntryContext, connection: Connection, entry: AppendEntry, result: AppendResult | undefined): ErrorBody | undefined {
  const created = result !== undefined && !isRefusal(result) && result.offset === 1 && !result.duplicate;
  if (entry.create === true && !created) connection.topicBudget?.refund();
  if (result === undefined || !isRefusal(result)) return undefined;
  if (entry.create === false && result.refused.code === ErrorCode.TooManyTopics) {
    const { perSecond } = hub.limits.topicCreation;
    return { code: ErrorCode.TooManyTopics, message: `this connection creates topics faster than ${perSecond} per second; "${entry.topic}" was not created` };
  }
  return result.refused;
}
