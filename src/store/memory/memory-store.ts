import { ErrorCode } from '../../protocol/codes.js';
import { HoldfastError } from '../../protocol/errors.js';
import { EventFanout } from '../event-fanout.js';
import type {
  AppendEntry,
  AppendResult,
  ReadResult,
  RequestClaim,
  RequestOutcome,
  RetentionPolicy,
  SessionRecord,
  SessionState,
  SessionTakeover,
  SessionUpdate,
  Store,
  StoreListener,
  StreamInfo,
  TrimResult,
  VolatileMessage,
} from '../types.js';
import { Attachment } from './event-router.js';
import { MemoryBackend, type MemoryBackendOptions } from './memory-backend.js';

export { DEFAULT_DEDUP_TTL_MS } from './memory-backend.js';

export interface MemoryStoreOptions extends MemoryBackendOptions {
  /**
   * The backend to attach to, shared with other instances (other nodes). The backend options
   * (`epoch`, `maxDedupKeys`, `maxTopics`, `maxBytes`) are then the backend's, and may not be
   * given here. @default a backend of this instance's own, made with those options
   */
  backend?: MemoryBackend;
  /** Receives what a listener threw; the store carries on. @default console.error */
  onListenerError?: (error: unknown) => void;
}

/**
 * The in-memory Store: fastest, and nothing survives the process. Stored messages are frozen and
 * shared with readers and listeners; their `data` is kept by reference (not copied), so callers must
 * not mutate data after appending it. Sessions are copied in and out.
 *
 * An instance is one node attached to a MemoryBackend. On a backend it was given, it hears the
 * `appended` and `volatile` events of the topics it watches only, as a node of a shared store would;
 * alone on a backend of its own it hears every topic, as before watching existed, and closing it
 * clears that backend.
 */
export class MemoryStore implements Store {
  readonly backend: MemoryBackend;
  private readonly attachment: Attachment;
  /** Whether the backend is this instance's own: closing the instance clears it. */
  private readonly ownsBackend: boolean;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    const { backend, onListenerError, ...backendOptions } = options;
    if (backend !== undefined && Object.values(backendOptions).some((value) => value !== undefined)) {
      throw new TypeError('MemoryStore: epoch, maxDedupKeys, maxTopics and maxBytes are options of the backend when one is given');
    }
    this.ownsBackend = backend === undefined;
    this.backend = backend ?? new MemoryBackend(backendOptions);
    this.attachment = new Attachment(new EventFanout(onListenerError), this.ownsBackend);
    this.backend.router.attachments.add(this.attachment);
  }

  /** The backend's epoch: that of its topics until one is forgotten. */
  get epoch(): string {
    return this.backend.epoch;
  }

  /** Bytes of message data the backend retains, as counted against `maxBytes`. */
  get retainedBytes(): number {
    return this.backend.retainedBytes;
  }

  async append(entries: AppendEntry[]): Promise<AppendResult[]> {
    return this.ready().append(entries);
  }

  async read(topic: string, afterOffset: number, limit: number, maxBytes?: number): Promise<ReadResult> {
    return this.ready().read(topic, afterOffset, limit, maxBytes);
  }

  async info(topic: string): Promise<StreamInfo> {
    return this.ready().info(topic);
  }

  async trim(topic: string, policy: RetentionPolicy, now: number): Promise<TrimResult> {
    return this.ready().trim(topic, policy, now);
  }

  async broadcast(message: VolatileMessage): Promise<void> {
    this.ready().broadcast(message);
  }

  /** Local to this instance: works during an outage (the listener hears `health`). */
  listen(listener: StoreListener): () => void {
    this.ensureOpen();
    return this.attachment.events.add(listener);
  }

  async watch(topic: string): Promise<void> {
    this.ready();
    this.attachment.watched.add(topic);
  }

  unwatch(topic: string): void {
    this.attachment.watched.delete(topic);
  }

  async claimIds(keys: string[], ttlMs: number, now: number): Promise<boolean[]> {
    return this.ready().claimIds(keys, ttlMs, now);
  }

  async claimRequest(key: string, now: number, leaseMs: number, ttlMs: number): Promise<RequestClaim> {
    return this.ready().claimRequest(key, now, leaseMs, ttlMs, this.attachment);
  }

  async renewRequests(keys: string[], now: number, leaseMs: number): Promise<void> {
    this.ready().renewRequests(keys, now, leaseMs);
  }

  async completeRequest(key: string, outcome: RequestOutcome, now: number, ttlMs: number): Promise<void> {
    this.ready().completeRequest(key, outcome, now, ttlMs);
  }

  async confirmRequests(keys: string[]): Promise<void> {
    this.ready().confirmRequests(keys);
  }

  async createSession(state: SessionState): Promise<boolean> {
    const backend = this.ready();
    if (state.version !== 1) throw new TypeError(`createSession: a new session is at version 1, not ${state.version}`);
    return backend.createSession(state, this.attachment);
  }

  async takeSession(id: string, version: number, change: SessionTakeover): Promise<number | undefined> {
    return this.ready().takeSession(id, version, change, this.attachment);
  }

  async saveSessions(updates: SessionUpdate[]): Promise<boolean[]> {
    return this.ready().saveSessions(updates);
  }

  async loadSession(id: string): Promise<SessionRecord | undefined> {
    return this.ready().loadSession(id);
  }

  async deleteSession(id: string, version: number): Promise<void> {
    this.ready().deleteSession(id, version);
  }

  async sweep(now: number): Promise<{ sessions: number; ids: number }> {
    return this.ready().sweep(now);
  }

  /** Detaches this instance (its listeners and watches); a backend of its own is cleared too. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.backend.router.attachments.delete(this.attachment);
    this.attachment.events.clear();
    this.attachment.watched.clear();
    if (this.ownsBackend) this.backend.clear();
  }

  /** The backend, once this instance is known open and the backend available. */
  private ready(): MemoryBackend {
    this.ensureOpen();
    this.backend.ensureAvailable();
    return this.backend;
  }

  private ensureOpen(): void {
    if (this.closed) throw new HoldfastError(ErrorCode.StoreUnavailable, 'the memory store is closed');
  }
}
