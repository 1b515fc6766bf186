import type { EventFanout } from '../event-fanout.js';
import type { StoreEvent } from '../types.js';

/** One MemoryStore instance as its backend sees it: the topics it watches, and its listeners. */
export class Attachment {
  /** Topics this instance watches (a set: watching twice is watching once). */
  readonly watched = new Set<string>();

  /**
   * `watchesAll`: an instance alone on a backend of its own hears every topic, as before watching
   * existed (the contract allows a store to deliver more than it was asked to watch).
   */
  constructor(
    readonly events: EventFanout,
    readonly watchesAll: boolean,
  ) {}

  hears(topic: string): boolean {
    return this.watchesAll || this.watched.has(topic);
  }
}

/** Who hears an event: one instance, some, or (undefined) by its topic, or everyone for `health`. */
export type Recipients = Attachment | readonly Attachment[] | undefined;

/**
 * Routes a backend's events to the instances attached to it, synchronously and in one order for
 * all: an event raised while another is being delivered (by a listener that appends) waits until
 * the current one has reached every instance, so no instance sees events out of order.
 */
export class EventRouter {
  readonly attachments = new Set<Attachment>();
  private readonly queuedEvents: StoreEvent[] = [];
  private readonly queuedRecipients: Recipients[] = [];
  private routing = false;

  emit(event: StoreEvent, to?: Recipients): void {
    if (this.routing) {
      this.queuedEvents.push(event);
      this.queuedRecipients.push(to);
      return;
    }
    this.routing = true;
    try {
      this.deliver(event, to);
      for (let i = 0; i < this.queuedEvents.length; i++) this.deliver(this.queuedEvents[i]!, this.queuedRecipients[i]);
    } finally {
      // Emptied in place: no allocation per event on the append path.
      if (this.queuedEvents.length > 0) {
        this.queuedEvents.length = 0;
        this.queuedRecipients.length = 0;
      }
      this.routing = false;
    }
  }

  private deliver(event: StoreEvent, to: Recipients): void {
    if (to instanceof Attachment) {
      if (this.attachments.has(to)) to.events.emit(event);
      return;
    }
    if (to !== undefined) {
      for (const one of to) if (this.attachments.has(one)) one.events.emit(event);
      return;
    }
    const topic = event.kind === 'appended' ? event.topic : event.kind === 'volatile' ? event.message.topic : undefined;
    for (const attachment of this.attachments) if (topic === undefined || attachment.hears(topic)) attachment.events.emit(event);
  }
}
