import type { Authorize, Identity } from './options.js';

/** What authorization needs of a connection: who it is, and where its answers are cached. */
export interface Asker {
  readonly identity: Identity | null;
  readonly session: { readonly id: string } | null;
  authorizations: Map<string, boolean | Promise<boolean>> | undefined;
}

/** Most answers cached per connection; past it the cache starts over (a client probing topics). */
const MAX_CACHED = 1000;

/** The `authorize` hook, asked once per connection, topic and action when caching is on. */
export class Authorizer {
  constructor(
    private readonly hook: Authorize | undefined,
    private readonly cache: boolean,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Whether `asker` may take `action` on `topic`: a hook that throws or rejects says no. */
  allows(asker: Asker, topic: string, action: 'subscribe' | 'publish'): boolean | Promise<boolean> {
    const { hook } = this;
    if (hook === undefined) return true;
    const key = `${action}\u0000${topic}`;
    const cache = this.cache ? (asker.authorizations ??= new Map()) : undefined;
    const cached = cache?.get(key);
    if (cached !== undefined) return cached;
    const context = { identity: asker.identity, topic, action, session: asker.session?.id ?? '' };
    let answer: boolean | Promise<boolean>;
    try {
      const result = hook(context);
      answer =
        result instanceof Promise
          ? result.then(Boolean, (error: unknown) => {
              this.onError(error);
              cache?.delete(key);
              return false;
            })
          : Boolean(result);
    } catch (error) {
      this.onError(error);
      return false;
    }
    if (cache !== undefined) {
      if (cache.size >= MAX_CACHED) cache.clear();
      cache.set(key, answer);
      if (answer instanceof Promise) void answer.then((value) => cache.get(key) === answer && cache.set(key, value));
    }
    return answer;
  }
}
