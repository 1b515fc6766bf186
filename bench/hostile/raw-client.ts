/**
 * The attacker's client: the Holdfast protocol written by hand over a `ws` socket, so that it can
 * do what the real client never does (stop reading, flood before welcome, never confirm). It keeps
 * its own send buffer bounded, and treats the server closing it as the end of the flood, never as
 * an error of the bench.
 */
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import type { AttackReport } from './figures.js';

type Frame = { type: string; [field: string]: unknown };

/** What the attacker lets pile up in its own socket before it waits: its memory is not measured. */
const OWN_BUFFER_LIMIT = 8 * 2 ** 20;

export class RawClient {
  framesSent = 0;
  bytesSent = 0;
  framesReceived = 0;
  bytesReceived = 0;
  closeCode: number | undefined;
  readonly errors: Record<string, number> = {};
  readonly closed: Promise<void>;
  private readonly listeners: Array<(frame: Frame) => void> = [];

  private constructor(
    private readonly ws: WebSocket,
    /** Parse what arrives (a reader); a non-reader pauses its socket instead. */
    private parse: boolean,
  ) {
    this.closed = new Promise((resolve) =>
      ws.once('close', (code) => {
        this.closeCode = code;
        resolve();
      }),
    );
    ws.on('error', () => undefined); // 'close' follows and says how it ended
    ws.on('message', (data: Buffer) => this.receive(data));
  }

  /** Opens a socket; rejects when it cannot be opened within `timeoutMs`. */
  static async open(url: string, parse = true, timeoutMs = 10_000): Promise<RawClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 * 2 ** 20 });
    const client = new RawClient(ws, parse);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no connection to ${url} within ${timeoutMs} ms`)), timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.once('close', (code) => {
        clearTimeout(timer);
        reject(new Error(`closed (${code}) before it opened`));
      });
    });
    return client;
  }

  /** Opens a socket and completes hello → welcome; the welcome is read even by a non-reader. */
  static async greeted(url: string, parse = true): Promise<RawClient> {
    const client = await RawClient.open(url, true);
    const welcome = client.next((frame) => frame.type === 'welcome', 10_000);
    client.send(JSON.stringify({ type: 'hello', v: 1 }));
    if ((await welcome) === undefined) throw new Error(`no welcome (closed: ${client.closeCode ?? 'no'})`);
    if (!parse) client.stopReading();
    return client;
  }

  get isClosed(): boolean {
    return this.closeCode !== undefined || this.ws.readyState !== WebSocket.OPEN;
  }

  /** Stops reading the socket: the kernel's receive window fills, then the server's buffers do. */
  stopReading(): void {
    this.ws.pause();
    this.parse = false;
  }

  onFrame(listener: (frame: Frame) => void): void {
    this.listeners.push(listener);
  }

  /** The first frame matching `test`, or undefined after `timeoutMs` or a close. */
  next(test: (frame: Frame) => boolean, timeoutMs: number): Promise<Frame | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      void this.closed.then(() => resolve(undefined));
      this.listeners.push((frame) => {
        if (!test(frame)) return;
        clearTimeout(timer);
        resolve(frame);
      });
    });
  }

  /** Sends one message (of one or more frames); false once the connection is closed. */
  send(text: string, frames = 1): boolean {
    if (this.isClosed) return false;
    this.ws.send(text);
    this.framesSent += frames;
    this.bytesSent += Buffer.byteLength(text);
    return true;
  }

  /** Waits until the own send buffer has room, the connection closed, or `deadline` (performance.now()) passed. */
  async room(deadline = Infinity): Promise<void> {
    while (!this.isClosed && this.ws.bufferedAmount > OWN_BUFFER_LIMIT && performance.now() < deadline) await sleep(5);
  }

  /**
   * Sends `make(i)` as fast as the own buffer allows until `durationMs` passed, `maxBytes` were
   * sent or the server closed the connection.
   */
  async flood(durationMs: number, maxBytes: number, make: (i: number) => string): Promise<void> {
    const end = performance.now() + durationMs;
    for (let i = 0; performance.now() < end && this.bytesSent < maxBytes && !this.isClosed; i++) {
      await this.room(end);
      if (performance.now() >= end) break;
      this.send(make(i));
      if (i % 64 === 63) await tick(); // let close events and timers in
    }
  }

  /** Drops the connection without a closing handshake (a non-reader would never read the server's close frame). */
  terminate(): void {
    this.ws.terminate();
  }

  report(ms: number, counts: Record<string, number> = {}): AttackReport {
    return {
      ms,
      framesSent: this.framesSent,
      bytesSent: this.bytesSent,
      framesReceived: this.framesReceived,
      bytesReceived: this.bytesReceived,
      // Reported before the attacker leaves: any close so far was the server's doing (1006: it dropped the socket).
      closeCodes: this.closeCode === undefined ? {} : { [String(this.closeCode)]: 1 },
      errors: { ...this.errors },
      counts,
    };
  }

  private receive(data: Buffer): void {
    this.bytesReceived += data.length;
    if (!this.parse) return;
    for (const line of data.toString().split('\n')) {
      this.framesReceived++;
      let frame: Frame;
      try {
        frame = JSON.parse(line) as Frame;
      } catch {
        continue;
      }
      const failure = frame.type === 'error' ? frame['code'] : frame.type === 'reply' && frame['ok'] === false ? (frame['error'] as { code?: unknown })?.code : undefined;
      if (typeof failure === 'string') this.errors[failure] = (this.errors[failure] ?? 0) + 1;
      for (const listener of this.listeners) listener(frame);
    }
  }
}

/** Merges the reports of several connections of one flood. */
export function mergeReports(reports: AttackReport[], ms: number, counts: Record<string, number> = {}): AttackReport {
  const sum = (record: Record<string, number>, from: Record<string, number>): void => {
    for (const [key, value] of Object.entries(from)) record[key] = (record[key] ?? 0) + value;
  };
  const merged: AttackReport = { ms, framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0, closeCodes: {}, errors: {}, counts };
  for (const report of reports) {
    merged.framesSent += report.framesSent;
    merged.bytesSent += report.bytesSent;
    merged.framesReceived += report.framesReceived;
    merged.bytesReceived += report.bytesReceived;
    sum(merged.closeCodes, report.closeCodes);
    sum(merged.errors, report.errors);
  }
  return merged;
}
