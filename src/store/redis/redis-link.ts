import { Redis, type Cluster, type RedisOptions } from 'ioredis';

/** A client of ours or the caller's: one Redis, or a Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * Client settings that make an outage fail fast instead of hanging or repeating work: no offline
 * queue (a command while disconnected rejects at once), no resend of commands whose reply was lost
 * (an append must not run twice behind the caller's back), our own resubscription (so `back` is
 * said only once the channels are heard again), and reconnection every second at most.
 */
export function linkOptions(connectTimeoutMs: number, commandTimeoutMs: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
    connectTimeout: connectTimeoutMs,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 5), 1000),
  };
}

export interface LinkHooks {
  /** Runs each time both connections are up, before the link is declared up (load scripts, resubscribe). */
  prepare(): Promise<void>;
  /** The link went down (after having been up) or came back. */
  health(state: 'lost' | 'back'): void;
  onError(error: unknown): void;
}

/**
 * The two connections of a store instance (commands, and a subscriber for pub/sub) and whether
 * they both work. Either one closing is an outage: notifications may be missed then, which is what
 * `health: lost` tells the hub. It is up again once both are ready and `prepare` ran.
 */
export class RedisLink {
  readonly commands: RedisClient;
  readonly subscriber: RedisClient;
  /** Whether operations may be sent now. */
  up = false;
  /** Resolves the first time the link is up. */
  readonly opened: Promise<void>;
  /** Whether the link was ever up: until then, calls wait for it (see RedisStore.ready). */
  everUp = false;
  private preparing = false;
  private closed = false;
  /** The subscriber's watchdog (see `watchSubscriber`). */
  private readonly pinger: ReturnType<typeof setInterval>;
  private pinging = false;
  private markOpened!: () => void;
  private readonly ownsCommands: boolean;

  constructor(
    source: { url: string } | { client: RedisClient },
    options: RedisOptions,
    private readonly hooks: LinkHooks,
    /** How often the subscriber is pinged; a ping unanswered within the command timeout renews it. */
    pingIntervalMs = 5000,
  ) {
    this.opened = new Promise((resolve) => (this.markOpened = resolve));
    this.ownsCommands = 'url' in source;
    this.commands = 'url' in source ? new Redis(source.url, options) : source.client;
    const subscriberOptions = { ...options, enableAutoPipelining: false };
    this.subscriber = this.commands.isCluster
      ? (this.commands as Cluster).duplicate(undefined, { redisOptions: subscriberOptions })
      : (this.commands as Redis).duplicate(subscriberOptions);
    for (const connection of [this.commands, this.subscriber]) {
      connection.on('ready', this.onReady);
      connection.on('close', this.onClose);
      connection.on('error', this.onError);
      // A Cluster says `close` only once it gave up on every node (seconds later, and never for
      // one shard): a node dropped is already an outage for the topics and channels it serves,
      // and a node (re)added is when to try coming back.
      if (connection.isCluster) {
        connection.on('-node', this.onClose);
        connection.on('+node', this.onReady);
      }
    }
    if (this.commands.status === 'ready') this.onReady();
    this.pinger = setInterval(() => this.watchSubscriber(), pingIntervalMs);
    this.pinger.unref();
  }

  /**
   * The subscriber only ever reads: if its link goes silent (a half-open TCP connection, a NAT
   * entry dropped), nothing would notice, and every notification would be missed while the link
   * says it is up. A ping answers that: one left unanswered within the command timeout drops the
   * connection, which is an outage (`lost`), and the reconnection brings the channels back (`back`,
   * after which the hub reads every live subscription from the streams).
   */
  private watchSubscriber(): void {
    if (this.closed || !this.up || this.pinging || this.subscriber.status !== 'ready') return;
    this.pinging = true;
    this.subscriber.ping().then(
      () => (this.pinging = false),
      (error: unknown) => {
        this.pinging = false;
        if (this.closed) return;
        this.hooks.onError(error);
        this.subscriber.disconnect(true);
      },
    );
  }

  /** Drops the connection of the commands (a reply that never came: the link may be half open); it reconnects. */
  reset(): void {
    if (!this.closed && this.commands.status === 'ready') this.commands.disconnect(true);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.up = false;
    clearInterval(this.pinger);
    for (const connection of [this.commands, this.subscriber]) {
      connection.off('ready', this.onReady);
      connection.off('close', this.onClose);
      connection.off('-node', this.onClose);
      connection.off('+node', this.onReady);
    }
    this.subscriber.disconnect();
    if (this.ownsCommands) this.commands.disconnect();
    // Errors of the closing connections are of no interest any more, but must still be handled.
    setTimeout(() => {
      this.commands.off('error', this.onError);
      this.subscriber.off('error', this.onError);
    }, 1000).unref();
  }

  private readonly onError = (error: unknown): void => {
    if (!this.closed) this.hooks.onError(error);
  };

  private readonly onClose = (): void => {
    if (this.closed || !this.up) return;
    this.up = false;
    this.hooks.health('lost');
  };

  private readonly onReady = (): void => {
    void this.bringUp();
  };

  private bothReady(): boolean {
    return this.commands.status === 'ready' && this.subscriber.status === 'ready';
  }

  private async bringUp(): Promise<void> {
    if (this.closed || this.up || this.preparing || !this.bothReady()) return;
    this.preparing = true;
    try {
      await this.hooks.prepare();
    } catch (error) {
      // A connection dropped meanwhile (its next `ready` tries again), or Redis refused: try again soon.
      // A reply that never came means a silent commands link: it is renewed first.
      this.hooks.onError(error);
      if (/timed out/i.test(error instanceof Error ? error.message : String(error))) this.reset();
      this.preparing = false;
      setTimeout(() => void this.bringUp(), 200).unref();
      return;
    }
    this.preparing = false;
    if (this.closed || !this.bothReady()) return;
    this.up = true;
    if (this.everUp) this.hooks.health('back');
    this.everUp = true;
    this.markOpened();
  }
}
