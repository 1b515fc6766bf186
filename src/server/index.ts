/**
 * `holdfast/server`: everything to run a server, in one import: the `ws` binding
 * (`holdfast/server/ws`), the transport-free hub (`holdfast/server/core`, which alone loads
 * neither `ws` nor a store), the Store contract and the default memory store.
 */
export * from './ws.js';
export * from './core.js';
export { MemoryStore } from '../store/memory/index.js';
