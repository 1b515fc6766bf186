/**
 * `holdfast/server`: the transport-free hub, its binding to `ws` and Node's HTTP server, and the
 * Store contract.
 */
export { HoldfastServer, type ServerOptions } from './ws-server.js';
export { LOOPBACK_ORIGINS, type AllowedOrigins } from './origins.js';
export { Hub, type ResolvedHubOptions } from './hub.js';
export type { Connection, ConnectionInfo, HubSocket } from './connection.js';
export * from './options.js';
export type * from '../store/types.js';
export { MemoryStore } from '../store/memory/index.js';
