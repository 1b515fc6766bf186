/** `holdfast/server/ws`: the server on the `ws` library and Node's HTTP server; a MemoryStore unless given a store. */
export { HoldfastServer, type ServerOptions } from './ws-server.js';
export { LOOPBACK_ORIGINS, type AllowedOrigins } from './origins.js';
