import type { StoreEvent, StoreListener } from './types.js';

/**
 * The listeners of a store, and the order they hear events in. Listeners run during the call that
 * raised the event, before its promise resolves; an event raised by a listener waits until the
 * current one has reached every listener, so no listener sees events out of order.
 */
export class EventFanout {
  /** Wrapped so one function registered twice is two registrations, removed one at a time. */
  private readonly listeners = new Set<{ listener: StoreListener }>();
  private readonly pending: StoreEvent[] = [];
  private emitting = false;

  constructor(private readonly onListenerError: (error: unknown) => void = (error) => console.error('holdfast: a store listener threw', error)) {}

  add(listener: StoreListener): () => void {
    const registration = { listener };
    this.listeners.add(registration);
    return () => {
      this.listeners.delete(registration);
    };
  }

  clear(): void {
    this.listeners.clear();
  }

  emit(event: StoreEvent): void {
    this.pending.push(event);
    if (this.emitting) return;
    this.emitting = true;
    try {
      for (let next = this.pending.shift(); next !== undefined; next = this.pending.shift()) {
        for (const { listener } of this.listeners) {
          try {
            listener(next);
          } catch (error) {
            this.report(error);
          }
        }
      }
    } finally {
      this.emitting = false;
    }
  }

  private report(error: unknown): void {
    try {
      this.onListenerError(error);
    } catch {
      // The error reporter itself failed; the store must carry on regardless.
    }
  }
}
