import { utf8Length } from './json.js';

/**
 * Several frames may share one WebSocket message, one frame per line (PROTOCOL.md, Transport):
 * every WebSocket message costs a header, an event and, on a quiet socket, a system call, which
 * at a hundred frames per burst is most of the cost of a small frame. JSON as `JSON.stringify`
 * writes it never holds a raw line feed (one inside a string is escaped), so the line feed cannot
 * occur inside a frame.
 */
export const FRAME_SEPARATOR = '\n';

/**
 * Bytes a WebSocket message may take beyond `maxPayload` (PROTOCOL.md, Transport): room for the
 * frame around the largest `data`. A receiver's WebSocket layer refuses a larger message (close 1009).
 */
export const MESSAGE_ENVELOPE_BYTES = 64 * 1024;

/**
 * Most UTF-8 bytes of a message that holds more than one frame. A frame larger than this travels
 * alone, so a message is never larger than its largest frame or this, whichever is larger. Equal to
 * the envelope so that a batch fits within `maxPayload + MESSAGE_ENVELOPE_BYTES` whatever
 * `maxPayload` a server sets.
 */
export const MAX_BATCH_BYTES = MESSAGE_ENVELOPE_BYTES;

/**
 * Most frames per message. Not one message per tick: the peer starts on the first frames while
 * the rest are still being produced. With one client publishing 100 in flight, 16 was the fastest
 * of 4, 8, 16, 32 and unbounded (unbounded leaves each side idle while the other works).
 */
export const MAX_BATCH_FRAMES = 16;

/** Calls `each` with the text of every frame of a message, in order; stops once it returns false. */
export function forEachFrame(message: string, each: (text: string) => boolean | void): void {
  let start = 0;
  for (let end = message.indexOf(FRAME_SEPARATOR); end !== -1; end = message.indexOf(FRAME_SEPARATOR, start)) {
    if (each(message.slice(start, end)) === false) return;
    start = end + 1;
  }
  each(start === 0 ? message : message.slice(start));
}

/**
 * Coalesces the frames one side writes in one tick. The first frame of a tick is written at once
 * (a lone frame waits for nothing); the ones that follow in the same tick are joined into one
 * message, written when the tick's microtasks have run, or earlier when it reaches
 * MAX_BATCH_FRAMES or MAX_BATCH_BYTES, or when the owner calls `flush` (before a close, so no
 * frame is lost behind it).
 */
export class FrameWriter {
  private pending = '';
  private pendingFrames = 0;
  private pendingBytes = 0;
  /** A frame was written in this tick: the next ones wait for its end. */
  private inTick = false;

  /** @param write sends one WebSocket message; it must not throw. */
  constructor(private readonly write: (message: string) => void) {}

  /** UTF-8 bytes of the frames written but not yet handed to `write`. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  send(frame: string): void {
    if (!this.inTick) {
      this.inTick = true;
      queueMicrotask(this.endTick);
      this.write(frame);
      return;
    }
    const bytes = utf8Length(frame);
    if (this.pendingFrames > 0 && (this.pendingBytes + 1 + bytes > MAX_BATCH_BYTES || this.pendingFrames >= MAX_BATCH_FRAMES)) this.flush();
    if (this.pendingFrames === 0) {
      this.pending = frame;
      this.pendingBytes = bytes;
    } else {
      this.pending += FRAME_SEPARATOR + frame;
      this.pendingBytes += 1 + bytes;
    }
    this.pendingFrames++;
  }

  /** Writes the frames waiting for the end of the tick now. */
  flush(): void {
    if (this.pendingFrames === 0) return;
    const message = this.pending;
    this.discard();
    this.write(message);
  }

  /** Forgets the waiting frames (the connection is gone). */
  discard(): void {
    this.pending = '';
    this.pendingFrames = 0;
    this.pendingBytes = 0;
  }

  private readonly endTick = (): void => {
    this.inTick = false;
    this.flush();
  };
}
