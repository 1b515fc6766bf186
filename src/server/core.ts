/**
 * `holdfast/server/core`: the transport-free hub alone, for a binding of your own. It loads no
 * WebSocket library and no store implementation: pass a `store`.
 */
export { Hub, type ResolvedHubOptions } from './hub.js';
export type { Connection, ConnectionInfo, HubSocket } from './connection.js';
export * from './options.js';
export type * from '../store/types.js';
