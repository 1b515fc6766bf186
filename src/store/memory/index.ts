export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export type * from '../types.js';
