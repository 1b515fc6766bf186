import type { Connection, Hub } from '../../src/server/index.js';
import type { Delivery } from '../../src/server/delivery.js';
import type { SessionDirectory } from '../../src/server/session-directory.js';
import type { SessionSaves } from '../../src/server/session-saves.js';

/**
 * The hub's parts, for tests that look at what the public API does not show (which sessions a
 * node keeps in memory, how many subscriptions wait). Read-only use; production code never does this.
 */
export function internals(hub: Hub): { sessions: SessionDirectory; connections: Set<Connection>; delivery: Delivery; saves: SessionSaves } {
  return hub as unknown as { sessions: SessionDirectory; connections: Set<Connection>; delivery: Delivery; saves: SessionSaves };
}
