import { DEFAULT_MAX_KEYS, DEFAULT_RETENTION, type TopicOptions, type TopicTable } from './options.js';

export interface ResolvedTopic extends TopicOptions {
  retention: Required<TopicOptions>['retention'];
  maxKeys: number;
}

const DEFAULT_TOPIC: ResolvedTopic = { mode: 'reliable', retention: DEFAULT_RETENTION, maxKeys: DEFAULT_MAX_KEYS };

/**
 * Finds a topic's settings: exact name first, then the longest matching `prefix*` pattern.
 * Without a table every topic is `reliable`; with one, an unmatched topic is unknown.
 */
export class TopicDirectory {
  private readonly exact = new Map<string, ResolvedTopic>();
  private readonly prefixes: Array<[string, ResolvedTopic]> = [];
  private readonly resolver: ((topic: string) => TopicOptions | undefined) | undefined;
  private readonly open: boolean;
  private readonly cache = new Map<string, ResolvedTopic | undefined>();

  constructor(table: TopicTable | undefined) {
    this.open = table === undefined;
    if (typeof table === 'function') {
      this.resolver = table;
      return;
    }
    this.resolver = undefined;
    for (const [pattern, options] of Object.entries(table ?? {})) {
      const resolved = withDefaults(options);
      if (pattern.endsWith('*')) this.prefixes.push([pattern.slice(0, -1), resolved]);
      else this.exact.set(pattern, resolved);
    }
    this.prefixes.sort((a, b) => b[0].length - a[0].length);
  }

  resolve(topic: string): ResolvedTopic | undefined {
    if (this.open) return DEFAULT_TOPIC;
    if (this.resolver !== undefined) {
      const options = this.resolver(topic);
      return options === undefined ? undefined : withDefaults(options);
    }
    if (this.cache.has(topic)) return this.cache.get(topic);
    const found = this.exact.get(topic) ?? this.prefixes.find(([prefix]) => topic.startsWith(prefix))?.[1];
    // Bounded so that a client probing random names cannot grow it without limit.
    if (this.cache.size < 10_000) this.cache.set(topic, found);
    return found;
  }
}

function withDefaults(options: TopicOptions): ResolvedTopic {
  return { ...options, mode: options.mode ?? 'reliable', retention: { ...DEFAULT_RETENTION, ...options.retention }, maxKeys: options.maxKeys ?? DEFAULT_MAX_KEYS };
}
