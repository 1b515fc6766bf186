import { ErrorCode, type ReplyFrame } from '../protocol/index.js';
import type { KeptReply } from '../store/types.js';

/** The `reply` frame of a kept reply. */
export function replyFrame(reply: KeptReply): ReplyFrame {
  return reply.ok
    ? { type: 'reply', seq: reply.seq, ok: true, data: reply.data }
    : { type: 'reply', seq: reply.seq, ok: false, error: reply.error ?? { code: ErrorCode.Internal, message: 'unknown error' } };
}

/**
 * The store key of a client's message or request id. Ids are scoped to the identity, so an
 * authenticated client cannot suppress another's messages by reusing ids. Anonymous clients share
 * one scope: ids are random, so only a client that knows another's id could collide with it.
 */
export function dedupKey(identity: { id: string } | null, id: string): string {
  return `${identity?.id ?? ''}\u0000${id}`;
}
