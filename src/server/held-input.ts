import { decodeClientFrame, utf8Length, type ClientFrame } from '../protocol/index.js';

/** Frames a client may send after hello and before welcome (our client sends none). */
export const MAX_EARLY_FRAMES = 1000;
/** UTF-8 bytes of frames a client may send after hello and before welcome (PROTOCOL.md, `hello`). */
export const MAX_EARLY_BYTES = 1024 * 1024;

/**
 * Frames that arrived while `hello` was being authenticated, handled once it is done. Kept as
 * text and decoded again one by one as they are handled: a parsed frame can take ten times the
 * memory of its text (`[{},{},…]`), and only the text is what the byte bound counts.
 */
export class EarlyFrames implements Iterable<[frame: ClientFrame, text: string]> {
  private readonly texts: string[] = [];
  private bytes = 0;

  constructor(private readonly connection: { isClosed(): boolean; readonly congestion: Congestion | undefined }) {}

  /** Keeps a frame; false when it would pass MAX_EARLY_FRAMES or MAX_EARLY_BYTES (nothing is kept then). */
  add(text: string): boolean {
    const bytes = utf8Length(text);
    if (this.texts.length >= MAX_EARLY_FRAMES || this.bytes + bytes > MAX_EARLY_BYTES) return false;
    this.texts.push(text);
    this.bytes += bytes;
    return true;
  }

  /**
   * The frames, decoded as they are taken. Stops when the connection closes, and when its send
   * buffer went over the limit: the frames not yet handled then wait with the connection's held
   * input, in order, like any frame read while the client does not read.
   */
  *[Symbol.iterator](): Iterator<[frame: ClientFrame, text: string]> {
    const { texts, connection } = this;
    for (let i = 0; i < texts.length; i++) {
      if (connection.isClosed()) return;
      if (connection.congestion !== undefined) {
        connection.congestion.keepFirst(texts.slice(i));
        return;
      }
      const text = texts[i]!;
      const decoded = decodeClientFrame(text);
      if (decoded.ok) yield [decoded.frame, text]; // it decoded when it arrived; this is only for the type
    }
  }
}

/**
 * Frames read from a connection and not handled yet, in order, bounded in bytes. `keep` says
 * false when a frame would pass the bound (nothing is kept then): the caller closes the connection.
 */
export class HeldInput {
  private input: string[] = [];
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** `retained` is what the text keeps alive: a slice of a message keeps the whole message. */
  keep(text: string, retained = text.length): boolean {
    if (this.bytes + retained > this.maxBytes) return false;
    this.input.push(text);
    this.bytes += retained;
    return true;
  }

  /** Puts back input that was kept before and taken out to be handled, ahead of anything newer. */
  keepFirst(texts: readonly string[]): void {
    let bytes = 0;
    for (const text of texts) bytes += text.length;
    this.input = [...texts, ...this.input];
    this.bytes += bytes;
  }

  /** Everything kept, oldest first; nothing is held afterwards. */
  take(): string[] {
    const input = this.input;
    this.input = [];
    this.bytes = 0;
    return input;
  }
}

/**
 * A connection whose send buffer is over `maxBufferedBytes`: the server stops reading it, so a
 * client that does not read stops producing output. What the transport had read already (the rest
 * of a WebSocket message, the rest of a TCP read) waits here until the buffer drains.
 */
export class Congestion extends HeldInput {
  /** When the sweeper first saw the connection congested; sending reads no clock. */
  since: number | undefined;
}

/**
 * A session at its kept-reply limit (`maxKeptReplies`, `maxKeptReplyBytes`): frames that could
 * add replies wait here until the client confirms some. The connection keeps reading, because the
 * confirmations travel behind those frames: pausing the socket would never let them in. `ack`,
 * `ping` and `pong` are handled at once.
 */
export class RepliesBacklog extends HeldInput {}
