import WebSocket from 'ws';
import type { ServerFrame, WelcomeFrame } from '../../src/protocol/index.js';

/**
 * A protocol peer that speaks raw frames over a real WebSocket, for tests that must send what a
 * well-behaved client never would.
 */
export class RawPeer {
  readonly frames: ServerFrame[] = [];
  /** Every WebSocket message as received (one may hold several frames). */
  readonly messages: string[] = [];
  closed: { code: number; reason: string } | undefined;
  private readonly waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString();
      this.messages.push(text);
      // A message may hold several frames, one per line (PROTOCOL.md, Transport).
      for (const line of text.split('\n')) this.frames.push(JSON.parse(line) as ServerFrame);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  static async connect(url: string): Promise<RawPeer> {
    const ws = new WebSocket(url);
    const peer = new RawPeer(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return peer;
  }

  /** Connects and completes the handshake: hello → welcome. */
  static async handshake(url: string, hello: object = {}): Promise<{ peer: RawPeer; welcome: WelcomeFrame }> {
    const peer = await RawPeer.connect(url);
    peer.send({ type: 'hello', v: 1, ...hello });
    return { peer, welcome: await peer.next('welcome') };
  }

  /** Connects and completes the handshake, when the welcome itself does not matter. */
  static async greeted(url: string, hello: object = {}): Promise<RawPeer> {
    return (await RawPeer.handshake(url, hello)).peer;
  }

  send(frame: object | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame of `type` (optionally matching) not yet taken; waits up to `ms`. */
  async next<T extends ServerFrame['type']>(
    type: T,
    match: (frame: Extract<ServerFrame, { type: T }>) => boolean = () => true,
    ms = 5000,
  ): Promise<Extract<ServerFrame, { type: T }>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const index = this.frames.findIndex((f) => f.type === type && match(f as Extract<ServerFrame, { type: T }>));
      if (index >= 0) return this.frames.splice(index, 1)[0] as Extract<ServerFrame, { type: T }>;
      if (Date.now() > deadline) throw new Error(`no ${type} frame within ${ms} ms; got ${JSON.stringify(this.frames)} closed=${JSON.stringify(this.closed)}`);
      await this.wait(deadline - Date.now());
    }
  }

  async closedWith(ms = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + ms;
    while (this.closed === undefined) {
      if (Date.now() > deadline) throw new Error(`not closed within ${ms} ms`);
      await this.wait(deadline - Date.now());
    }
    return this.closed;
  }

  close(): void {
    this.ws.terminate();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(1, ms));
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
