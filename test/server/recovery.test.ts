import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../src/store/memory/index.js';
import type { ReadResult } from '../../src/store/types.js';
import { hubHarness } from '../support/hub-harness.js';

/** A MemoryStore whose reads wait until `release()`, so a test can change the store under a catch-up. */
class GatedStore extends MemoryStore {
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  override async read(topic: string, afterOffset: number, limit: number): Promise<ReadResult> {
    await this.gate;
    return super.read(topic, afterOffset, limit);
  }
}

describe('Recovery of an empty position found by a catch-up read', () => {
  // Guards the recovery rule (PROTOCOL.md, Recovery) on the reposition path: a subscription that had
  // sent nothing when its catch-up read found the topic in a new epoch was told recovered: false.
  it('repositions a subscription that sent nothing to offset 0 of the new epoch, recovered', async () => {
    const store = new GatedStore();
    const { clock, hub, connect } = hubHarness({ store });
    const { socket, send } = await connect();
    store.hold();
    send({ type: 'sub', topic: 'room', from: 'now' });
    await clock.idle();
    const [first] = socket.ofType('subscribed');
    assert.deepEqual([first?.offset, first?.recovered], [0, true]);

    // While its first read waits: another topic is forgotten, and room is created in a new epoch.
    await store.append([{ topic: 'other', data: 0, time: 0 }]);
    await store.trim('other', { maxCount: 0 }, 0);
    await hub.publish('room', 'hello');
    const { epoch } = await store.info('room');
    assert.notEqual(epoch, first!.epoch);
    store.release();
    await clock.idle();

    const [, again] = socket.ofType('subscribed');
    assert.deepEqual(
      { epoch: again?.epoch, offset: again?.offset, recovering: again?.recovering, recovered: again?.recovered },
      { epoch, offset: 0, recovering: true, recovered: true },
    );
    assert.deepEqual(socket.ofType('msg').map((m) => [m.offset, m.data]), [[1, 'hello']]);
  });
});
