import { ErrorCode } from '../protocol/index.js';
import type { RequestOutcome, Store } from '../store/types.js';

/** How long a run in progress holds its id without renewal: a node that stopped loses its runs after this. */
export const REQUEST_LEASE_MS = 30_000;
/** How often a request waiting for a run on another node looks at the store, in case its event was missed. */
export const REQUEST_RECHECK_MS = 10_000;

export interface RequestRunsOptions {
  store: Pick<Store, 'claimRequest' | 'renewRequests' | 'completeRequest' | 'confirmRequests'>;
  now: () => number;
  /** How long an id and its outcome are remembered (the hub's dedupWindow). */
  ttl: number;
  onError: (error: unknown) => void;
}

/** A run's outcome, with the size of its data when the run measured it. */
export interface RunResult {
  outcome: RequestOutcome;
  bytes?: number;
}

const DUPLICATE: RequestOutcome = {
  ok: false,
  error: { code: ErrorCode.DuplicateRequest, message: 'this request was already processed and its reply confirmed' },
};
const UNKNOWN: RequestOutcome = {
  ok: false,
  error: { code: ErrorCode.OutcomeUnknown, message: 'this request was in progress on a server that stopped; whether it took effect is unknown' },
};

/**
 * Requests run once per id, across sessions and nodes. The store holds each id's run: claimed,
 * finished with its outcome, or confirmed by the client. A request sent again (into a new
 * session, or to another node after a resume) gets the first run's outcome; one that arrives while
 * the first run is still going waits for it, here or on another node, and is answered when it
 * finishes: never DUPLICATE_REQUEST to a client that did nothing wrong.
 */
export class RequestRuns {
  /** Runs of this node in progress, by key. */
  private readonly running = new Map<string, Promise<RequestOutcome>>();
  /** Requests waiting for a run on another node, by key: since when, and who waits. */
  private readonly waiting = new Map<string, { checkedAt: number; resolve: Array<(outcome: RequestOutcome) => void> }>();
  private renewedAt = 0;

  constructor(private readonly options: RequestRunsOptions) {}

  /** The request's outcome, running `run` here when nobody ran it yet. Rejects when the store fails. */
  async outcome(key: string, run: () => Promise<RunResult>): Promise<RunResult> {
    const local = this.running.get(key);
    if (local !== undefined) return { outcome: await local };
    const { store, now, ttl } = this.options;
    const claim = await store.claimRequest(key, now(), REQUEST_LEASE_MS, ttl);
    switch (claim.state) {
      case 'new':
        return this.runHere(key, run);
      case 'running':
        // This node may have started it meanwhile (two copies of the frame in one turn).
        return { outcome: await (this.running.get(key) ?? this.wait(key)) };
      case 'done':
        return { outcome: claim.outcome };
      case 'confirmed':
        return { outcome: DUPLICATE };
      case 'lost':
        return { outcome: UNKNOWN };
    }
  }

  /** The store says a run finished (a `request` event): whoever waits for it here is answered. */
  finished(key: string, outcome: RequestOutcome): void {
    const waiters = this.waiting.get(key);
    if (waiters === undefined) return;
    this.waiting.delete(key);
    for (const resolve of waiters.resolve) resolve(outcome);
  }

  /** The client confirmed these replies: their outcomes are no longer needed. */
  confirm(keys: string[]): void {
    if (keys.length > 0) this.options.store.confirmRequests(keys).catch(this.options.onError);
  }

  /**
   * Called by the sweeper: renews the leases of this node's runs well before they run out, and
   * looks at the store for requests that waited long, in case the event that ends their wait was
   * missed (or the node running them stopped: then their outcome is unknown).
   */
  tick(now: number): void {
    const { store, onError } = this.options;
    if (this.running.size > 0 && now - this.renewedAt >= REQUEST_LEASE_MS / 3) {
      this.renewedAt = now;
      store.renewRequests([...this.running.keys()], now, REQUEST_LEASE_MS).catch(onError);
    }
    for (const [key, waiters] of this.waiting) {
      if (now - waiters.checkedAt < REQUEST_RECHECK_MS) continue;
      waiters.checkedAt = now;
      this.recheck(key, now).catch(onError);
    }
  }

  get size(): number {
    return this.running.size + this.waiting.size;
  }

  private async runHere(key: string, run: () => Promise<RunResult>): Promise<RunResult> {
    let settle!: (outcome: RequestOutcome) => void;
    this.running.set(key, new Promise((resolve) => (settle = resolve)));
    const result = await run(); // never rejects: the inbound path turns a handler's failure into an outcome
    this.running.delete(key);
    settle(result.outcome);
    this.finished(key, result.outcome);
    const { store, now, ttl, onError } = this.options;
    // On record before the reply is kept and sent: a node that dies after the reply leaves the
    // outcome findable by id (a resend into another session or node gets it, not OUTCOME_UNKNOWN).
    await store.completeRequest(key, result.outcome, now(), ttl).catch(onError);
    return result;
  }

  private wait(key: string): Promise<RequestOutcome> {
    return new Promise((resolve) => {
      const waiters = this.waiting.get(key);
      if (waiters === undefined) this.waiting.set(key, { checkedAt: this.options.now(), resolve: [resolve] });
      else waiters.resolve.push(resolve);
    });
  }

  private async recheck(key: string, now: number): Promise<void> {
    const { store, ttl } = this.options;
    const claim = await store.claimRequest(key, now, REQUEST_LEASE_MS, ttl);
    switch (claim.state) {
      case 'running':
        return;
      case 'done':
        return this.finished(key, claim.outcome);
      case 'confirmed':
        return this.finished(key, DUPLICATE);
      case 'lost':
        return this.finished(key, UNKNOWN);
      case 'new':
        // The id was forgotten while its run was awaited (longer than `ttl`): claimed now by this
        // look, it is recorded as unknown, which is what it is.
        this.finished(key, UNKNOWN);
        await store.completeRequest(key, UNKNOWN, now, ttl);
    }
  }
}
