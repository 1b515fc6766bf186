import { CloseCode, ErrorCode } from '../protocol/codes.js';
import { HoldfastError } from '../protocol/errors.js';
import type { ErrorFrame } from '../protocol/frames.js';

/**
 * Error codes for closes that the server may end without an `error` frame first (4409 has none by
 * design, and is retried; 1000 is not expected from a server at all). With an `error` frame, its
 * code wins.
 */
const CODE_OF_CLOSE: ReadonlyMap<number, string> = new Map<number, string>([
  [CloseCode.Normal, ErrorCode.ServerShutdown],
  [CloseCode.ProtocolViolation, ErrorCode.InvalidFrame],
  [CloseCode.Unauthenticated, ErrorCode.Unauthenticated],
  [CloseCode.SessionReplaced, ErrorCode.SessionReplaced],
  [CloseCode.UnsupportedVersion, ErrorCode.UnsupportedVersion],
]);

/**
 * The error that pending operations reject with when the server closes the connection for good:
 * the `error` frame that came right before the close (PROTOCOL.md: "the last frame before a close
 * with a 4xxx code"), else a code derived from the close code.
 */
export function closeError(code: number, reason: string, lastError: ErrorFrame | undefined): HoldfastError {
  const cause = { code, reason };
  if (lastError !== undefined) {
    return new HoldfastError(lastError.code, lastError.message, {
      cause,
      ...(lastError.retryAfter === undefined ? {} : { retryAfter: lastError.retryAfter }),
    });
  }
  const message = reason === '' ? `the server closed the connection with code ${code}` : reason;
  return new HoldfastError(CODE_OF_CLOSE.get(code) ?? ErrorCode.Internal, message, { cause });
}
