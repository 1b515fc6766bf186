import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { MsgFrame } from '../../../src/protocol/index.js';
import { RawPeer } from '../../support/raw-peer.js';
import { waitFor } from '../../support/wait.js';

/**
 * A well-behaved client sharing the server with the fuzzing connections: it publishes reliably to
 * its own topic and must get every one of its messages back exactly once, in order, and acknowledged.
 */
export class Neighbour {
  private seq = 0;
  private checked = 0;
  private readonly nonce = randomUUID();

  /** Keeps the connection alive under a short server heartbeat while the neighbour waits. */
  private readonly keepAlive: NodeJS.Timeout;

  private constructor(private readonly peer: RawPeer, private readonly topic: string) {
    // Its pongs gather in peer.frames until the next verify() clears them.
    this.keepAlive = setInterval(() => peer.send({ type: 'ping' }), 250).unref();
  }

  static async join(url: string, topic: string): Promise<Neighbour> {
    const peer = await RawPeer.greeted(url);
    peer.send({ type: 'sub', topic, from: 'now' });
    await peer.next('subscribed');
    return new Neighbour(peer, topic);
  }

  publish(count = 1): void {
    for (let i = 0; i < count; i++) {
      this.seq++;
      this.peer.send({ type: 'pub', topic: this.topic, data: `${this.nonce}:${this.seq}`, seq: this.seq, id: randomUUID() });
    }
  }

  /** Waits for the acknowledgement and the echo of everything published; fails on a loss, a duplicate or a reordering. */
  async verify(ms = 10_000): Promise<void> {
    const last = `${this.nonce}:${this.seq}`;
    const frames = this.peer.frames;
    if (this.seq === this.checked) throw new Error('verify() needs a message published since the last verify()');
    const seen = () => frames.some((f) => f.type === 'msg' && f.data === last) && frames.some((f) => f.type === 'ack' && f.seq >= this.seq);
    await waitFor(seen, `the neighbour's message ${this.seq} and its ack (closed: ${JSON.stringify(this.peer.closed)})`, ms);
    const received = frames.filter((f): f is MsgFrame => f.type === 'msg' && f.topic === this.topic);
    const mine = received.map((f) => f.data);
    frames.splice(0); // what was checked is not checked again
    // As a client does: without acknowledgements the server's window (maxInFlight) would fill.
    const offset = received.at(-1)?.offset;
    if (offset !== undefined) this.peer.send({ type: 'ack', offsets: { [this.topic]: offset } });
    const expected = Array.from({ length: this.seq - this.checked }, (_, i) => `${this.nonce}:${this.checked + i + 1}`);
    assert.deepEqual(mine, expected, "the neighbour's messages: each once, in order");
    this.checked = this.seq;
  }

  close(): void {
    clearInterval(this.keepAlive);
    this.peer.close();
  }
}
