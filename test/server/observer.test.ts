import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from '../../src/protocol/index.js';
import type { HubObserver } from '../../src/server/index.js';
import { FakeSocket } from '../support/fake-socket.js';
import { hubHarness } from '../support/hub-harness.js';

/** An observer that writes down every call, in order; acks, whose timing is the ack batcher's, only counted. */
function recorder(): { calls: string[]; acks: { sent: number }; observer: Required<HubObserver> } {
  const calls: string[] = [];
  const acks = { sent: 0 };
  return {
    calls,
    acks,
    observer: {
      ackSent: () => acks.sent++,
      connectionOpened: () => calls.push('opened'),
      connectionClosed: (code) => calls.push(`closed ${code}`),
      messageIn: (mode) => calls.push(`in ${mode}`),
      messageOut: (mode, count) => calls.push(`out ${mode} ${count}`),
      heartbeatTimeout: () => calls.push('heartbeat timeout'),
      replay: (size) => calls.push(`replay ${size}`),
      snapshotSent: () => calls.push('snapshot'),
      duplicateDropped: () => calls.push('duplicate'),
      storeOperation: (name, ms) => calls.push(`store ${name}${ms >= 0 ? '' : ' negative'}`),
    },
  };
}

describe('Hub observer', () => {
  it('is told of a publish in, each delivery out, and the close code the server sent', async () => {
    const { calls, observer } = recorder();
    const { clock, connect } = hubHarness({ observer, topics: { 'v:*': { mode: 'volatile' }, '*': { mode: 'reliable' } } });
    const a = await connect();
    const b = await connect();
    for (const peer of [a, b]) peer.send({ type: 'sub', topic: 'chat', from: 'now' });
    await clock.idle();
    a.send({ type: 'pub', topic: 'chat', data: 1, seq: 1, id: 'm1' });
    a.send({ type: 'pub', topic: 'chat', data: 1, seq: 1, id: 'm1' }); // a resend of a processed seq: not counted again
    a.send({ type: 'pub', topic: 'v:x', data: 2 });
    a.send({ type: 'pub', topic: '', data: 3 }); // an invalid topic: refused, not taken in
    await clock.idle();
    assert.deepEqual(
      calls.filter((call) => !call.startsWith('out')),
      ['opened', 'opened', 'in reliable', 'in volatile', 'store append'],
    );
    assert.deepEqual(calls.filter((call) => call.startsWith('out')), ['out reliable 1', 'out reliable 1'], 'one per subscriber; nobody subscribed to v:x');
    a.connection.fail('SERVER_SHUTDOWN', CloseCode.GoingAway, 'bye');
    assert.equal(calls.at(-1), `closed ${CloseCode.GoingAway}`);
  });

  it('is told of a publish the store already held (same id, new seq) and of each append batch', async () => {
    const { calls, observer } = recorder();
    const { clock, connect } = hubHarness({ observer });
    const peer = await connect();
    peer.send({ type: 'pub', topic: 'chat', data: 1, seq: 1, id: 'm1' });
    peer.send({ type: 'pub', topic: 'chat', data: 2, seq: 2, id: 'm2' });
    await clock.idle();
    peer.send({ type: 'pub', topic: 'chat', data: 1, seq: 3, id: 'm1' });
    await clock.idle();
    assert.deepEqual(calls, ['opened', 'in reliable', 'in reliable', 'store append', 'in reliable', 'store append', 'duplicate'], 'one batch per turn; the third is a duplicate');
  });

  it('is told how much a resumed subscription replays, and of a snapshot sent instead', async () => {
    const { calls, observer } = recorder();
    const { clock, hub, store, connect } = hubHarness({
      observer,
      topics: { 'doc:*': { mode: 'reliable', snapshot: () => ({ state: 'now' }) }, '*': { mode: 'reliable' } },
    });
    for (const topic of ['chat', 'doc:1']) for (let i = 1; i <= 3; i++) await hub.publish(topic, i);
    const { epoch } = await store.info('chat');
    const peer = await connect();
    calls.length = 0;
    peer.send({ type: 'sub', topic: 'chat', epoch, offset: 1 }); // missed 2 and 3
    peer.send({ type: 'sub', topic: 'doc:1', epoch: 'gone', offset: 5 }); // an epoch the store no longer has
    await clock.idle();
    assert.deepEqual(calls.filter((call) => !call.startsWith('out')).sort(), ['replay 2', 'snapshot']);
    assert.equal(peer.socket.ofType('subscribed').find((frame) => frame.topic === 'doc:1')?.snapshot !== undefined, true);
  });

  it('counts exactly the ack frames the client gets', async () => {
    const { acks, observer } = recorder();
    const { clock, connect } = hubHarness({ observer });
    const peer = await connect();
    for (let seq = 1; seq <= 5; seq++) peer.send({ type: 'pub', topic: 'chat', data: seq, seq, id: `m${seq}` });
    await clock.idle();
    clock.advance(1000);
    const frames = peer.socket.ofType('ack');
    assert.ok(frames.length >= 1 && frames.length < 5, `cumulative acks: ${frames.length} for 5 publishes`);
    assert.equal(acks.sent, frames.length);
  });

  it('counts a heartbeat timeout as a drop (1006), and never a connection refused at once', async () => {
    const { calls, observer } = recorder();
    const { clock, hub, connect } = hubHarness({ observer, heartbeat: { interval: 1000, timeout: 1000 }, limits: { maxConnectionsPerAddress: 1 } });
    const peer = await connect();
    hub.open(new FakeSocket()); // the same (absent) address again: over the limit, closed with 4429
    clock.advance(3000);
    assert.equal(peer.socket.terminated, true);
    assert.deepEqual(calls, ['opened', `closed ${CloseCode.Abnormal}`, 'heartbeat timeout']);
  });

  it('an observer that throws is reported to onError and changes nothing for the client', async () => {
    const errors: unknown[] = [];
    const boom = () => {
      throw new Error('observer bug');
    };
    const { clock, connect } = hubHarness({ observer: { connectionOpened: boom, messageIn: boom, messageOut: boom }, onError: (error) => errors.push(error) });
    const peer = await connect();
    peer.send({ type: 'sub', topic: 'chat', from: 'now' });
    await clock.idle();
    peer.send({ type: 'pub', topic: 'chat', data: 'x', seq: 1, id: 'm1' });
    await clock.idle();
    clock.advance(100); // the ack batch
    assert.equal(peer.socket.ofType('msg').length, 1, 'delivered all the same');
    assert.ok(peer.socket.ofType('ack').length >= 1, 'acknowledged all the same');
    assert.deepEqual(
      errors.map((error) => (error as Error).message),
      ['observer bug', 'observer bug', 'observer bug'],
    );
  });
});
