/**
 * `holdfast/store/sqlite`: the embedded durable store (better-sqlite3, an optional peer dependency
 * loaded only by this subpath).
 */
export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { openDataFolder, DATABASE_FILE } from './data-folder.js';
export { SCHEMA_VERSION } from './schema.js';
export type * from '../types.js';
