/**
 * A minimal typed event emitter. Not `EventTarget` (its `Event` objects cannot carry typed payloads
 * without a subclass per event) and not Node's `EventEmitter` (the client imports nothing from Node).
 */

/** Event name → listener arguments. */
export type EventMap = { [event: string]: unknown[] };

export type Listener<Args extends unknown[]> = (...args: Args) => void;

interface Registration {
  readonly listener: Listener<unknown[]>;
}

export class Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  // One entry per `on()` call, so the same function added twice is also removed one `off` at a time.
  private readonly listeners = new Map<keyof Events, Registration[]>();

  /**
   * @param onListenerError receives whatever a listener throws. A throwing listener must not break
   * the state machine that emitted the event, nor keep later listeners from running.
   */
  constructor(private readonly onListenerError: (error: unknown, event: keyof Events) => void) {}

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const registration: Registration = { listener: listener as unknown as Listener<unknown[]> };
    const list = this.listeners.get(event) ?? [];
    list.push(registration);
    this.listeners.set(event, list);
    return () => {
      const current = this.listeners.get(event);
      const index = current?.indexOf(registration) ?? -1;
      if (current !== undefined && index >= 0) current.splice(index, 1);
    };
  }

  emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    const list = this.listeners.get(event);
    if (list === undefined || list.length === 0) return;
    // A copy: listeners may add or remove listeners while we iterate.
    for (const { listener } of [...list]) {
      try {
        listener(...args);
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }

  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  removeAll(): void {
    this.listeners.clear();
  }
}

/** The message of whatever was thrown, for an error report. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
