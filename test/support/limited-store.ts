import { ErrorCode } from '../../src/protocol/codes.js';
import { MemoryStore } from '../../src/store/memory/index.js';
import type { AppendEntry, AppendResult, RetentionPolicy, TrimResult } from '../../src/store/types.js';

/**
 * A MemoryStore that refuses appends as the Store contract says a bounded store does: an entry
 * with `create: false` to a topic holding nothing, a new topic beyond `maxTopics` (TOO_MANY_TOPICS),
 * a new key of a compacted topic beyond the entry's `maxKeys` (TOO_MANY_KEYS). For hub tests
 * written before the stores enforce these themselves; it applies entries one by one.
 */
export class LimitedStore extends MemoryStore {
  /** Topics holding something, with their keys when compacted. */
  private readonly held = new Map<string, Set<string>>();

  constructor(private readonly maxTopics = Infinity) {
    super();
  }

  override async append(entries: AppendEntry[]): Promise<AppendResult[]> {
    const results: AppendResult[] = [];
    for (const entry of entries) {
      const keys = this.held.get(entry.topic);
      const refusal = this.refusal(entry, keys);
      if (refusal !== undefined) {
        results.push({ refused: refusal });
        continue;
      }
      const [result] = await super.append([entry]);
      if (keys === undefined) this.held.set(entry.topic, new Set());
      if (entry.compact === true) this.held.get(entry.topic)!.add(entry.key ?? '');
      results.push(result!);
    }
    return results;
  }

  override async trim(topic: string, policy: RetentionPolicy, now: number): Promise<TrimResult> {
    const result = await super.trim(topic, policy, now);
    if (result.oldest === undefined) this.held.delete(topic); // forgotten
    return result;
  }

  private refusal(entry: AppendEntry, keys: Set<string> | undefined): { code: string; message: string } | undefined {
    if (keys === undefined) {
      if (entry.create === false) return { code: ErrorCode.TooManyTopics, message: `"${entry.topic}" may not be created` };
      if (this.held.size >= this.maxTopics) return { code: ErrorCode.TooManyTopics, message: `the store holds its most topics (${this.maxTopics})` };
      return undefined;
    }
    const key = entry.key ?? '';
    if (entry.compact === true && entry.maxKeys !== undefined && !keys.has(key) && keys.size >= entry.maxKeys) {
      return { code: ErrorCode.TooManyKeys, message: `"${entry.topic}" holds its most keys (${entry.maxKeys})` };
    }
    return undefined;
  }
}
