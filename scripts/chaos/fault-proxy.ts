import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** One direction of a proxied connection: chunks wait here for their release time, in order. */
class Pipe {
  private readonly queue: Array<{ chunk: Buffer; at: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private lastAt = 0;
  /** Called once the queue is empty after `finish()`. */
  private onDrained: (() => void) | undefined;

  constructor(
    private readonly to: Socket,
    private readonly proxy: FaultProxy,
  ) {}

  push(chunk: Buffer): void {
    // Never earlier than the chunk before it: a delay spell adds latency, it does not reorder.
    const at = Math.max(Date.now() + this.proxy.latency, this.lastAt);
    this.lastAt = at;
    this.queue.push({ chunk, at });
    this.pump();
  }

  /** Forwards whatever is due, unless the link is held (half-open). */
  pump(): void {
    if (this.timer !== undefined || this.proxy.holding) return;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const wait = head.at - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, wait);
        return;
      }
      this.queue.shift();
      if (!this.to.destroyed) this.to.write(head.chunk);
    }
    const drained = this.onDrained;
    this.onDrained = undefined;
    drained?.();
  }

  /** Runs `then` once everything queued has been forwarded. */
  finish(then: () => void): void {
    this.onDrained = then;
    this.pump();
  }

  drop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.onDrained = undefined;
  }
}

interface Pair {
  client: Socket;
  upstream: Socket;
  up: Pipe;
  down: Pipe;
  /** A side closed while the link was held: the other learns it when the spell ends. */
  closedWhileHeld: boolean;
}

/**
 * A TCP proxy on loopback in front of one target port, standing for one client's network. Its
 * faults: `cut` resets every connection on both sides at once; `halfOpen(ms)` keeps every socket
 * open but forwards nothing, neither bytes nor closes, for `ms` (connections made meanwhile are
 * held too), so only a heartbeat notices, and what was held goes through if both ends are still
 * there when it ends (a healed partition); `delay(latency, ms)` adds latency to every byte for a
 * while, keeping their order.
 */
export class FaultProxy {
  private readonly pairs = new Set<Pair>();
  private holdUntil = 0;
  private holdTimer: NodeJS.Timeout | undefined;
  private delayUntil = 0;
  private delayMs = 0;

  private constructor(
    private readonly server: Server,
    private readonly target: number,
  ) {}

  static async start(target: number): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, target);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/holdfast`;
  }

  /** @internal Whether a half-open spell is on. */
  get holding(): boolean {
    return Date.now() < this.holdUntil;
  }

  /** @internal The latency a delay spell adds now. */
  get latency(): number {
    return Date.now() < this.delayUntil ? this.delayMs : 0;
  }

  private accept(client: Socket): void {
    const upstream = connect(this.target, '127.0.0.1');
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair: Pair = { client, upstream, up: new Pipe(upstream, this), down: new Pipe(client, this), closedWhileHeld: false };
    this.pairs.add(pair);
    client.on('data', (chunk: Buffer) => pair.up.push(chunk));
    upstream.on('data', (chunk: Buffer) => pair.down.push(chunk));
    // What a side sent before closing still goes through, then the other side is closed.
    const closed = (pipe: Pipe) => () => {
      if (this.holding) {
        // The other end must not learn of it: that is what makes the link half-open.
        pair.closedWhileHeld = true;
        return;
      }
      pipe.finish(() => this.end(pair));
    };
    client.on('close', closed(pair.up));
    upstream.on('close', closed(pair.down));
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  }

  private end(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.up.drop();
    pair.down.drop();
    pair.client.destroy();
    pair.upstream.destroy();
  }

  /** Resets every open connection on both sides, as a network failure would. Returns how many. */
  cut(): number {
    const count = this.pairs.size;
    for (const pair of [...this.pairs]) {
      this.pairs.delete(pair);
      pair.up.drop();
      pair.down.drop();
      pair.client.resetAndDestroy();
      pair.upstream.resetAndDestroy();
    }
    return count;
  }

  /** Forwards nothing for `ms` (a spell already on is extended, never shortened). */
  halfOpen(ms: number): void {
    this.holdUntil = Math.max(this.holdUntil, Date.now() + ms);
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => this.release(), this.holdUntil - Date.now());
  }

  /** Adds `latency` ms to every byte forwarded for the next `ms`. */
  delay(latency: number, ms: number): void {
    this.delayMs = latency;
    this.delayUntil = Date.now() + ms;
  }

  /** Ends every spell now (the run's drain). */
  heal(): void {
    this.delayUntil = 0;
    this.holdUntil = 0;
    this.release();
  }

  private release(): void {
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.holdUntil = 0;
    for (const pair of [...this.pairs]) {
      if (pair.closedWhileHeld) {
        // The partition heals: what was held goes through to whichever end is still there, then it closes.
        pair.up.finish(() => pair.down.finish(() => this.end(pair)));
      } else {
        pair.up.pump();
        pair.down.pump();
      }
    }
  }

  async close(): Promise<void> {
    this.heal();
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
