export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { MemoryBackend, type MemoryBackendOptions } from './memory-backend.js';
export type * from '../types.js';
