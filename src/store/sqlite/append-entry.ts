import { ErrorCode } from '../../protocol/codes.js';
import { PROTOCOL_DEFAULTS } from '../../protocol/defaults.js';
import { refusal } from '../refusal.js';
import type { AppendEntry, AppendResult, StoredMessage } from '../types.js';
import type { Statements } from './statements.js';
import type { CatalogChanges, TopicCatalog } from './topic-catalog.js';

/** Used when an entry has a `dedupKey` but no `dedupTtlMs`: the protocol's de-duplication window. */
const DEFAULT_DEDUP_TTL_MS = PROTOCOL_DEFAULTS.dedupWindow;

export interface AppendContext {
  sql: Statements;
  catalog: TopicCatalog;
  maxTopics: number;
}

/**
 * Appends one entry of a batch, inside the batch's transaction: writes its message (and dedupKey),
 * and notes in `changes` what the catalog learns at commit and in `appended` what listeners get.
 * Or returns its outcome as a duplicate, or its refusal, having changed nothing.
 */
export function appendEntry(context: AppendContext, entry: AppendEntry, changes: CatalogChanges, appended: Map<string, StoredMessage[]>): AppendResult {
  const { sql, catalog, maxTopics } = context;
  // The batch's own row of the topic (written at commit), else the stored one (never changed here).
  const pending = changes.topics.get(entry.topic);
  const known = pending ?? catalog.get(entry.topic);
  if (entry.dedupKey !== undefined) {
    const seen = sql.dedupGet.get(entry.dedupKey) as { offset: number; expires_at: number } | undefined;
    if (seen !== undefined && seen.expires_at > entry.time) return { offset: seen.offset, epoch: known?.epoch ?? catalog.nextEpoch(), duplicate: true };
  }
  if (known === undefined) {
    if (entry.create === false) return refusal(ErrorCode.TooManyTopics, `the topic ${entry.topic} does not exist, and this append may not create it`);
    if (catalog.count + changes.created >= maxTopics) {
      return refusal(ErrorCode.TooManyTopics, `the store holds its most topics (maxTopics ${maxTopics})`);
    }
  }
  const compact = entry.compact === true;
  const key = compact ? (entry.key ?? '') : entry.key;
  // The message it replaces goes first; when there is none, the key is new to the topic.
  const newKey = compact && sql.deleteCompacted.run(entry.topic, key).changes === 0;
  if (newKey && entry.maxKeys !== undefined && catalog.keyCount(entry.topic, changes) >= entry.maxKeys) {
    return refusal(ErrorCode.TooManyKeys, `the topic ${entry.topic} holds its most keys (${entry.maxKeys})`);
  }
  if (newKey) catalog.addKey(entry.topic, changes);
  if (known === undefined) changes.created++;
  let topic = pending;
  if (topic === undefined) changes.topics.set(entry.topic, (topic = { head: known?.head ?? 0, epoch: known?.epoch ?? catalog.nextEpoch() }));
  const offset = ++topic.head;
  sql.insertMessage.run(entry.topic, offset, key ?? null, compact ? key : null, JSON.stringify(entry.data ?? null), entry.time);
  if (entry.dedupKey !== undefined) sql.dedupPut.run(entry.dedupKey, offset, entry.time + (entry.dedupTtlMs ?? DEFAULT_DEDUP_TTL_MS));
  // Literals rather than a spread of a shared base: one object per message, not two.
  const stored: StoredMessage = Object.freeze(
    key === undefined
      ? { topic: entry.topic, offset, data: entry.data, time: entry.time }
      : { topic: entry.topic, offset, data: entry.data, key, time: entry.time },
  );
  const group = appended.get(entry.topic);
  if (group === undefined) appended.set(entry.topic, [stored]);
  else group.push(stored);
  return { offset, epoch: topic.epoch, duplicate: false };
}
