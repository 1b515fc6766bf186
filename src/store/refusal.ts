import type { ErrorCode } from '../protocol/codes.js';
import type { AppendRefusal } from './types.js';

/** The result of an entry a store would not append (see AppendRefusal). */
export function refusal(code: ErrorCode, message: string): AppendRefusal {
  return { refused: { code, message } };
}
