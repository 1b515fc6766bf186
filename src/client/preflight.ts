import { nestsDeeperThan, utf8Length } from '../protocol/json.js';
import { ErrorCode } from '../protocol/codes.js';
import { HoldfastError } from '../protocol/errors.js';
import { isValidTopic } from '../protocol/frames.js';

/** What the server accepts, from `welcome.limits` (defaults before the first welcome). */
export interface PayloadLimits {
  maxPayload: number;
  maxDepth: number;
}

/**
 * Why a frame cannot be sent at all, decided locally: a payload the server would refuse must fail
 * at once, not sit in the outbox and be refused after every reconnect.
 *
 * @returns the error to reject with, or undefined when the frame may go.
 */
export function preflight(data: unknown, limits: PayloadLimits, topic?: string): HoldfastError | undefined {
  if (topic !== undefined) {
    const topicError = checkTopic(topic);
    if (topicError !== undefined) return topicError;
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch {
    // BigInt, cycles: JSON.stringify throws.
    return new HoldfastError(ErrorCode.InvalidPayload, 'data is not JSON-serialisable');
  }
  if (text === undefined) return undefined; // undefined, a function: sent as null
  // Each level of nesting takes a bracket pair, so short text needs no scan (most payloads).
  if (text.length > 2 * limits.maxDepth && nestsDeeperThan(text, limits.maxDepth)) {
    return new HoldfastError(ErrorCode.InvalidPayload, `data nests deeper than ${limits.maxDepth} levels`);
  }
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so short text needs no count either.
  if (text.length * 3 > limits.maxPayload) {
    const bytes = utf8Length(text);
    if (bytes > limits.maxPayload) {
      return new HoldfastError(ErrorCode.PayloadTooLarge, `data is ${bytes} bytes; the server accepts at most ${limits.maxPayload}`);
    }
  }
  return undefined;
}

/** INVALID_TOPIC for a name the server would refuse (1–256 characters, no control characters). */
export function checkTopic(topic: string): HoldfastError | undefined {
  if (isValidTopic(topic)) return undefined;
  return new HoldfastError(ErrorCode.InvalidTopic, `invalid topic name "${String(topic).slice(0, 64)}"`);
}
