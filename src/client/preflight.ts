import { measurePayload } from '../protocol/codec.js';
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
  const measure = measurePayload(data, limits.maxDepth);
  if (measure === undefined) {
    // BigInt, cycles: JSON.stringify throws.
    return new HoldfastError(ErrorCode.InvalidPayload, 'data is not JSON-serialisable');
  }
  if (measure.depth > limits.maxDepth) {
    return new HoldfastError(ErrorCode.InvalidPayload, `data nests deeper than ${limits.maxDepth} levels`);
  }
  if (measure.bytes > limits.maxPayload) {
    return new HoldfastError(ErrorCode.PayloadTooLarge, `data is ${measure.bytes} bytes; the server accepts at most ${limits.maxPayload}`);
  }
  return undefined;
}

/** INVALID_TOPIC for a name the server would refuse (1–256 characters, no control characters). */
export function checkTopic(topic: string): HoldfastError | undefined {
  if (isValidTopic(topic)) return undefined;
  return new HoldfastError(ErrorCode.InvalidTopic, `invalid topic name "${String(topic).slice(0, 64)}"`);
}
