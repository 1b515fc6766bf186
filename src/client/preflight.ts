import { ErrorCode } from '../protocol/codes.js';
import { HoldfastError } from '../protocol/errors.js';
import { isValidTopic } from '../protocol/frames.js';
import { payloadError, type PayloadLimits } from '../protocol/payload.js';

/**
 * Why a frame cannot be sent at all, decided locally: a payload the server would refuse must fail
 * at once, not sit in the outbox and be refused after every reconnect.
 *
 * @param limits what the server accepts, from `welcome.limits` (the protocol's defaults before the first welcome)
 * @returns the error to reject with, or undefined when the frame may go.
 */
export function preflight(data: unknown, limits: PayloadLimits, topic?: string): HoldfastError | undefined {
  if (topic !== undefined) {
    const topicError = checkTopic(topic);
    if (topicError !== undefined) return topicError;
  }
  const refusal = payloadError(data, limits);
  return refusal === undefined ? undefined : HoldfastError.fromBody(refusal);
}

/** INVALID_TOPIC for a name the server would refuse (1–256 characters, no control characters). */
export function checkTopic(topic: string): HoldfastError | undefined {
  if (isValidTopic(topic)) return undefined;
  return new HoldfastError(ErrorCode.InvalidTopic, `invalid topic name "${String(topic).slice(0, 64)}"`);
}
