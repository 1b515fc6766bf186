import type { ServerOptions } from '../server/index.js';
import type { Authorize } from '../server/options.js';

/**
 * What clients of the standalone server may do: the demo's topics, and the rule that keeps the
 * topics the server feeds (the price ticker) free of client publishes.
 */

/** The topics of the demo: a chat that loses nothing, a ticker that wants the latest, typing hints. */
export const DEMO_TOPICS: NonNullable<ServerOptions['topics']> = {
  'chat:*': { mode: 'reliable' },
  prices: { mode: 'latest' },
  'typing:*': { mode: 'volatile' },
};

/** Topics only the server publishes to (the price feed): a client's `pub` there is FORBIDDEN. */
export const SERVER_FED_TOPICS: ReadonlySet<string> = new Set(['prices']);

/** The standalone's rule before the application's: the server-fed topics take no client publishes. */
export function serverFedGuard(authorize: Authorize | undefined): Authorize {
  return (context) => {
    if (context.action === 'publish' && SERVER_FED_TOPICS.has(context.topic)) return false;
    return authorize === undefined ? true : authorize(context);
  };
}

/** What clients without an identity may do, by topic name or `prefix*` pattern (the config file's `anonymous`). */
export interface AnonymousPermissions {
  subscribe: readonly string[];
  publish: readonly string[];
}

/** A topic against an exact name or a `prefix*` pattern, as the topic table matches them. */
export function matchesPattern(topic: string, pattern: string): boolean {
  return pattern.endsWith('*') ? topic.startsWith(pattern.slice(0, -1)) : topic === pattern;
}

/**
 * Refuses an anonymous client (no identity) what `permissions` do not list; clients with an
 * identity, and what the lists allow, go on to `authorize`.
 */
export function anonymousGuard(permissions: AnonymousPermissions, authorize: Authorize | undefined): Authorize {
  return (context) => {
    if (context.identity === null) {
      const patterns = context.action === 'subscribe' ? permissions.subscribe : permissions.publish;
      if (!patterns.some((pattern) => matchesPattern(context.topic, pattern))) return false;
    }
    return authorize === undefined ? true : authorize(context);
  };
}

/** `subscribe chat:*, prices, typing:*; publish chat:*, typing:*` for the demo's topics and no hooks. */
export function describeAnonymousAccess(server: Pick<ServerOptions, 'authenticate' | 'authorize' | 'topics'> | undefined, anonymous?: AnonymousPermissions): string {
  const list = (items: readonly string[]) => (items.length === 0 ? 'nothing' : items.join(', '));
  if (anonymous !== undefined && server?.authenticate === undefined && server?.authorize === undefined) {
    const publishable = anonymous.publish.filter((name) => !SERVER_FED_TOPICS.has(name));
    return `subscribe ${list(anonymous.subscribe)}; publish ${list(publishable)}`;
  }
  if (server?.authenticate !== undefined || server?.authorize !== undefined) return 'as the authenticate and authorize hooks decide';
  const topics = server?.topics ?? DEMO_TOPICS;
  if (typeof topics === 'function') return `the topics the topics function accepts (publish: not ${[...SERVER_FED_TOPICS].join(', ')})`;
  const names = Object.keys(topics);
  const publishable = names.filter((name) => !SERVER_FED_TOPICS.has(name));
  return `subscribe ${list(names)}; publish ${list(publishable)}`;
}

