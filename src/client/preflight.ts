import { payloadSize } from '../protocol/codec.js';
import { ErrorCode } from '../protocol/codes.js';
import { HoldfastError } from '../protocol/errors.js';
import { isValidTopic } from '../protocol/frames.js';
import { describeError } from './emitter.js';

/**
 * Why a frame cannot be sent at all, decided locally: a payload the server would refuse must fail
 * at once, not sit in the outbox and be refused after every reconnect.
 *
 * @param maxPayload the server's `welcome.limits.maxPayload`, or 1 MiB before the first welcome.
 * @returns the error to reject with, or undefined when the frame may go.
 */
export function preflight(data: unknown, maxPayload: number, topic?: string): HoldfastError | undefined {
  if (topic !== undefined) {
    const topicError = checkTopic(topic);
    if (topicError !== undefined) return topicError;
  }
  let size: number;
  try {
    size = payloadSize(data);
  } catch (error) {
    // BigInt, cycles: JSON.stringify throws. INVALID_FRAME is what the server would answer.
    return new HoldfastError(ErrorCode.InvalidFrame, `data is not JSON-serialisable: ${describeError(error)}`, { cause: error });
  }
  if (size > maxPayload) {
    return new HoldfastError(ErrorCode.PayloadTooLarge, `data is ${size} bytes; the server accepts at most ${maxPayload}`);
  }
  return undefined;
}

/** INVALID_TOPIC for a name the server would refuse (1–256 characters, no control characters). */
export function checkTopic(topic: string): HoldfastError | undefined {
  if (isValidTopic(topic)) return undefined;
  return new HoldfastError(ErrorCode.InvalidTopic, `invalid topic name "${String(topic).slice(0, 64)}"`);
}
