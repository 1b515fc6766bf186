import { ErrorCode, HoldfastError } from '../../protocol/index.js';

/** How the SQLite store words its failures, as HoldfastErrors with stable codes. */

export function closedError(): HoldfastError {
  return new HoldfastError(ErrorCode.StoreUnavailable, 'the SQLite store is closed');
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sqliteCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/** A write failed: full disk (or maxSizeBytes) is STORE_FULL, anything else STORE_UNAVAILABLE. */
export function storeError(error: unknown): HoldfastError {
  if (error instanceof HoldfastError) return error;
  if (sqliteCode(error) === 'SQLITE_FULL') {
    return new HoldfastError(ErrorCode.StoreFull, 'the database is full (disk or maxSizeBytes); nothing was stored', { cause: error });
  }
  return new HoldfastError(ErrorCode.StoreUnavailable, `the database failed: ${message(error)}`, { cause: error });
}

/** Why the store cannot start, in words an operator can act on. */
export function startError(error: unknown, file: string): HoldfastError {
  if (error instanceof HoldfastError) return error;
  const code = sqliteCode(error) ?? '';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new HoldfastError(ErrorCode.DatabaseLocked, `the database ${file} is in use by another process (is another server running on this data folder?)`, { cause: error });
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM')) {
    return new HoldfastError(ErrorCode.DataFolderUnusable, `the database ${file} cannot be written: ${message(error)}`, { cause: error });
  }
  return new HoldfastError(ErrorCode.DataFolderUnusable, `cannot use the database ${file}: ${message(error)}`, { cause: error });
}
