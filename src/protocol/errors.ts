import type { ErrorBody } from './frames.js';

/**
 * The one error class of Holdfast. `code` is a stable string from `ErrorCode` (PROTOCOL.md,
 * Error codes); `cause` keeps the underlying error where there is one.
 */
export class HoldfastError extends Error {
  readonly code: string;
  /** Hint from the server, in ms, for when trying again may succeed. */
  readonly retryAfter: number | undefined;

  constructor(code: string, message: string, options: { cause?: unknown; retryAfter?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HoldfastError';
    this.code = code;
    this.retryAfter = options.retryAfter;
  }

  /** The error as it travels in a `reply` frame. */
  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }

  static fromBody(body: ErrorBody): HoldfastError {
    return new HoldfastError(body.code, body.message);
  }
}

export function isHoldfastError(error: unknown): error is HoldfastError {
  return error instanceof HoldfastError;
}
