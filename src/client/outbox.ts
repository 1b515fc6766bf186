import { messageId } from './message-id.js';
import type { Clock, TimerHandle } from '../protocol/clock.js';
import { ErrorCode } from '../protocol/codes.js';
import { HoldfastError } from '../protocol/errors.js';
import type { PubFrame, ReplyFrame, ReqFrame } from '../protocol/frames.js';

/** A reliable frame before numbering: `seq` and `id` are the outbox's business. */
export type OutboxBody = Omit<PubFrame, 'seq' | 'id'> | Omit<ReqFrame, 'seq' | 'id'>;

interface OutboxEntry {
  seq: number;
  /** Stays the same across resends and sessions: the server's de-duplication key. */
  readonly id: string;
  readonly body: OutboxBody;
  /** The caller's promise is resolved or rejected; the entry may still await the server's ack. */
  settled: boolean;
  replied: boolean;
  /** Covered by a server `ack` of the current session. */
  acked: boolean;
  /** Restored from the outbox storage: no caller awaits it. */
  restored?: boolean;
  timer: TimerHandle | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: HoldfastError) => void;
}

/**
 * Reliable client frames (`pub` with `seq`, `req`) that the server has not confirmed yet, in `seq`
 * order. An entry leaves only when the server is done with it: a `pub` when an `ack` covers its
 * `seq`; a `req` when it is covered and its `reply` arrived (the server sends the reply first, but a
 * req that is acked without one stays, so that a resend fetches the kept reply).
 */
export class Outbox {
  // Map iteration follows insertion order, which is seq order: seqs are only ever appended.
  private entries = new Map<number, OutboxEntry>();
  private nextSeq = 1;

  constructor(
    private readonly clock: Clock,
    private readonly limit: number,
    private readonly createId: () => string = messageId,
    /** Called with the id of every `pub` that leaves (confirmed, refused or abandoned by a new session). */
    private readonly left: (id: string) => void = () => {},
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get isFull(): boolean {
    return this.entries.size >= this.limit;
  }

  /**
   * Numbers and stores a frame. The promise settles with the reply's `data` (req) or `undefined`
   * (pub). `timeout` (ms) rejects the promise with REQUEST_TIMEOUT but keeps the entry, so the
   * request is not lost half-way (PROTOCOL.md, REQUEST_TIMEOUT).
   */
  add(body: OutboxBody, timeout?: number, id: string = this.createId()): { frame: PubFrame | ReqFrame; promise: Promise<unknown> } {
    let resolve!: (value: unknown) => void;
    let reject!: (error: HoldfastError) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: OutboxEntry = {
      seq: this.nextSeq++,
      id,
      body,
      settled: false,
      replied: false,
      acked: false,
      timer: undefined,
      resolve,
      reject,
    };
    if (timeout !== undefined && timeout > 0 && Number.isFinite(timeout)) {
      entry.timer = this.clock.setTimeout(() => {
        entry.timer = undefined;
        this.settle(entry, new HoldfastError(ErrorCode.RequestTimeout, `no reply within ${timeout} ms`));
      }, timeout);
    }
    this.entries.set(entry.seq, entry);
    return { frame: frameOf(entry), promise };
  }

  /**
   * Adds publishes an earlier client left unconfirmed (a page before its reload), keeping their
   * ids; ids already here are skipped. `front`: before everything added since, all numbered from 1
   * again, which is right only while nothing of this outbox has been sent (the session holds the
   * outbox back while restoring). `end`: after everything, for stored publishes that arrived late.
   * Nobody awaits them: `refused` hears of an error reply. Returns the frames added.
   */
  restore(
    publishes: ReadonlyArray<{ id: string; body: Omit<PubFrame, 'seq' | 'id'>; refused: (error: HoldfastError) => void }>,
    where: 'front' | 'end',
  ): Array<PubFrame | ReqFrame> {
    const known = new Set<string>();
    for (const entry of this.entries.values()) known.add(entry.id);
    const later = where === 'front' ? [...this.entries.values()] : [];
    if (where === 'front') {
      this.entries = new Map();
      this.nextSeq = 1;
    }
    const added: Array<PubFrame | ReqFrame> = [];
    for (const { id, body, refused } of publishes) {
      if (known.has(id)) continue;
      known.add(id);
      const { frame, promise } = this.add(body, undefined, id);
      this.entries.get(frame.seq!)!.restored = true;
      promise.catch(refused);
      added.push(frame);
    }
    for (const entry of later) {
      entry.seq = this.nextSeq++;
      this.entries.set(entry.seq, entry);
    }
    return added;
  }

  /** Every frame still owed to the server, in seq order, for a resend after reconnecting. */
  frames(): Array<PubFrame | ReqFrame> {
    return [...this.entries.values()].map(frameOf);
  }

  /** A server `ack`: every frame up to and including `seq` is processed. */
  acknowledge(seq: number): void {
    for (const entry of this.entries.values()) {
      if (entry.seq > seq) break;
      entry.acked = true;
      if (entry.body.type === 'pub') {
        this.settle(entry, undefined);
        this.remove(entry);
      } else if (entry.replied) {
        this.remove(entry);
      }
    }
  }

  /** A `reply`: the outcome of a `req`, or the rejection of a `pub`. Unknown seqs are ignored. */
  reply(frame: ReplyFrame): void {
    const entry = this.entries.get(frame.seq);
    if (entry === undefined) return;
    entry.replied = true;
    // A publish resolves with nothing, whatever a server put in an ok reply to it.
    this.settle(entry, frame.ok ? { value: entry.body.type === 'pub' ? undefined : frame.data } : HoldfastError.fromBody(frame.error));
    if (entry.acked) this.remove(entry);
    // A refused publish has its outcome: a reload must not send it again.
    else if (entry.body.type === 'pub') this.left(entry.id);
  }

  /**
   * A new session (welcome with `resumed: false`) numbers reliable frames from 1 again; the frames
   * keep their order and their ids, so the server still drops what it processed before.
   */
  renumber(): void {
    // An entry with its reply has its outcome: resending it into the new session could store a
    // publish the caller was told failed (and may have published again).
    const pending = [...this.entries.values()].filter((entry) => !entry.replied);
    this.entries = new Map();
    this.nextSeq = 1;
    for (const entry of pending) {
      entry.seq = this.nextSeq++;
      entry.acked = false; // an ack of the old session says nothing about the new numbering
      this.entries.set(entry.seq, entry);
    }
  }

  private remove(entry: OutboxEntry): void {
    this.entries.delete(entry.seq);
    if (entry.body.type === 'pub' && !entry.replied) this.left(entry.id); // a replied one left already
  }

  /**
   * Rejects every unsettled caller and empties the outbox (the client is closed for good).
   * `keepStored`: the publishes stay in the outbox storage for the next client (after
   * `client.close()`, which a page may call on unload); otherwise they are forgotten there too,
   * since their callers were told they failed and may publish them again. Restored ones have no
   * caller to tell: they always stay for the next client.
   */
  rejectAll(error: HoldfastError, keepStored = false): void {
    for (const entry of this.entries.values()) {
      this.settle(entry, error);
      if (!keepStored && entry.restored !== true && entry.body.type === 'pub' && !entry.replied) this.left(entry.id);
    }
    this.entries.clear();
  }

  private settle(entry: OutboxEntry, outcome: { value: unknown } | HoldfastError | undefined): void {
    if (entry.timer !== undefined) {
      this.clock.clearTimeout(entry.timer);
      entry.timer = undefined;
    }
    if (entry.settled) return;
    entry.settled = true;
    if (outcome instanceof HoldfastError) entry.reject(outcome);
    else entry.resolve(outcome?.value);
  }
}

/** Written out field by field: an object spread per frame sent was a measurable share of a publish. */
function frameOf(entry: OutboxEntry): PubFrame | ReqFrame {
  const { body, seq, id } = entry;
  if (body.type === 'req') return { type: 'req', method: body.method, data: body.data, seq, id };
  const frame: PubFrame = { type: 'pub', topic: body.topic, data: body.data };
  if (body.key !== undefined) frame.key = body.key;
  frame.seq = seq;
  frame.id = id;
  return frame;
}
