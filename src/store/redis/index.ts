export { RedisStore, type RedisStoreOptions } from './redis-store.js';
export { KeyLayout, BUCKETS, bucketOf } from './key-layout.js';
export { linkOptions, type RedisClient } from './redis-link.js';
export type * from '../types.js';
