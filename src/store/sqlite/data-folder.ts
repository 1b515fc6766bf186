import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ErrorCode, HoldfastError } from '../../protocol/index.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';

/** The database's name inside a data folder. */
export const DATABASE_FILE = 'holdfast.db';

/**
 * Opens (or creates) the store of a data folder, refusing at once, with DATA_FOLDER_UNUSABLE or
 * DATABASE_LOCKED and a sentence an operator can act on, what would otherwise fail later: a folder
 * that is not there (nor its parent), not a folder, not writable, or in use by another server.
 * A missing folder whose parent exists is created, so `--data ./data` works on a first run.
 */
export function openDataFolder(folder: string, options: Omit<SqliteStoreOptions, 'file'> = {}): SqliteStore {
  const path = resolve(folder);
  if (!existsSync(path)) {
    if (!existsSync(dirname(path))) {
      throw new HoldfastError(ErrorCode.DataFolderUnusable, `the data folder ${path} does not exist, nor does ${dirname(path)}`);
    }
    try {
      mkdirSync(path);
    } catch (error) {
      throw new HoldfastError(ErrorCode.DataFolderUnusable, `cannot create the data folder ${path}: ${(error as Error).message}`, { cause: error });
    }
  }
  if (!statSync(path).isDirectory()) throw new HoldfastError(ErrorCode.DataFolderUnusable, `${path} is not a folder`);
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw new HoldfastError(ErrorCode.DataFolderUnusable, `the data folder ${path} is not writable (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
  return new SqliteStore({ ...options, file: join(path, DATABASE_FILE) });
}
