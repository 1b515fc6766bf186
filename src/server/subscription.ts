import type { ServerFrame, TopicMode } from '../protocol/index.js';

/** What a subscription needs of its connection: somewhere to write, and how full that is. */
export interface Subscriber {
  readonly bufferedAmount: number;
  send(frame: ServerFrame): void;
  sendText(text: string): void;
}

/**
 * How a subscription receives messages:
 * - `held`: being positioned (a `sub` in progress) or repositioned (its position can no longer be
 *   served); nothing is sent.
 * - `pumping`: catching up by reading the store; store events are left to the pump.
 * - `live`: caught up; new messages go out straight from store events.
 * - `blocked`: the in-flight window or the socket buffer is full; an ack, a drain or a sweep restarts it.
 * - `closed`: unsubscribed, replaced or its connection closed. Final.
 */
export type DeliveryState = 'held' | 'pumping' | 'live' | 'blocked' | 'closed';

/** Every allowed transition, in one place (PROTOCOL.md's Recovery and Flow control follow it). */
const TRANSITIONS: Readonly<Record<DeliveryState, readonly DeliveryState[]>> = {
  held: ['pumping', 'live', 'closed'],
  pumping: ['live', 'blocked', 'held', 'closed'],
  live: ['pumping', 'blocked', 'held', 'closed'],
  blocked: ['pumping', 'held', 'closed'],
  closed: [],
};

/** One topic subscription of one connection. Generic over the connection type, which this file need not import. */
export class ServerSubscription<C extends Subscriber = Subscriber> {
  private current: DeliveryState = 'held';
  /** A pump loop is running (it may be between store reads). */
  pumpRunning = false;

  constructor(
    readonly connection: C,
    readonly topic: string,
    readonly mode: TopicMode,
    /** Stream epoch this subscription's offsets belong to. */
    public epoch = '',
    /** Highest offset sent. */
    public sent = 0,
    /** Highest offset the client acknowledged. */
    public acked = 0,
  ) {}

  get state(): DeliveryState {
    return this.current;
  }

  get closed(): boolean {
    return this.current === 'closed';
  }

  /**
   * Moves to `to`. A move the table does not allow is a bug in the server: it throws (every caller
   * runs inside a guard that reports it and closes the connection), rather than go on in a state
   * nobody planned for. Staying in the same state is allowed.
   */
  moveTo(to: DeliveryState): void {
    const from = this.current;
    if (from === to) return;
    if (!TRANSITIONS[from].includes(to)) throw new Error(`subscription to "${this.topic}": ${from} → ${to} is not an allowed transition`);
    this.current = to;
  }
}
