import WebSocket from 'ws';

/** What a fuzzing connection saw from the server. */
export interface PeerRecord {
  /** The codes of `error` frames and of `reply` frames with `ok: false`, in order. */
  errorCodes: string[];
  /** Server messages that were not frames of JSON objects with a string `type` (each is a server bug). */
  garbage: string[];
  /** The close code the server sent, or 1006 when the connection dropped without one. */
  closeCode: number | undefined;
  /** Whether a `pong` arrived (the connection was still read after everything sent). */
  ponged: boolean;
}

/**
 * A raw WebSocket that sends whatever it is given and records, without ever throwing, what the
 * server answers: RawPeer assumes a well-formed server, which is what a fuzz run must check.
 */
export class FuzzPeer {
  readonly record: PeerRecord = { errorCodes: [], garbage: [], closeCode: undefined, ponged: false };
  private readonly settled: Promise<void>;
  private wake: () => void = () => undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const text = data.toString();
      if (isBinary) this.record.garbage.push(`binary: ${text.slice(0, 80)}`);
      else for (const line of text.split('\n')) this.take(line);
      this.wake();
    });
    this.settled = new Promise((resolve) => ws.on('close', (code) => {
      this.record.closeCode = code;
      resolve();
      this.wake();
    }));
    ws.on('error', () => undefined); // the close that follows is what counts
  }

  static connect(url: string): Promise<FuzzPeer> {
    const peer = new FuzzPeer(new WebSocket(url));
    return new Promise((resolve, reject) => {
      peer.ws.once('open', () => resolve(peer));
      peer.ws.once('error', reject);
    });
  }

  /** Sends a text message, or raw bytes as a binary message or as a text message (then maybe not UTF-8). */
  send(message: FuzzMessage): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (message.kind === 'text') this.ws.send(message.text);
    else this.ws.send(Buffer.from(message.bytes), { binary: message.kind === 'binary' });
  }

  /**
   * Ends the run for this connection: asks for a `pong` (proof the server still reads it) and waits
   * until it comes, the server closes, or `ms` pass. A connection the server stopped reading on
   * purpose (throttled, too many kept replies) may stay silent; that is not a failure.
   */
  async finish(ms: number): Promise<void> {
    this.record.ponged = false; // the answer to this ping, not to one of the script's
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send('{"type":"ping"}');
    const deadline = Date.now() + ms;
    while (!this.record.ponged && this.record.closeCode === undefined && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Drops the connection at once and waits for its close event. */
  async close(): Promise<void> {
    this.ws.terminate();
    await this.settled;
  }

  private take(line: string): void {
    let frame: unknown;
    try {
      frame = JSON.parse(line);
    } catch {
      this.record.garbage.push(line.slice(0, 200));
      return;
    }
    if (typeof frame !== 'object' || frame === null || typeof (frame as { type?: unknown }).type !== 'string') {
      this.record.garbage.push(line.slice(0, 200));
      return;
    }
    const { type, code, ok, error } = frame as { type: string; code?: unknown; ok?: unknown; error?: { code?: unknown } };
    if (type === 'error') this.record.errorCodes.push(String(code));
    if (type === 'reply' && ok === false) this.record.errorCodes.push(String(error?.code));
    if (type === 'pong') this.record.ponged = true;
  }
}

/** One WebSocket message a fuzzing client sends. */
export type FuzzMessage = { kind: 'text'; text: string } | { kind: 'binary' | 'raw-text'; bytes: Uint8Array };
