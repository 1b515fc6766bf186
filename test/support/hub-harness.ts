import assert from 'node:assert/strict';
import { afterEach } from 'node:test';
import { Hub, MemoryStore, type HubOptions, type Store } from '../../src/server/index.js';
import { FakeClock } from './fake-clock.js';
import { FakeSocket } from './fake-socket.js';

const hubs: Hub[] = [];
afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
});

export type Peer = Awaited<ReturnType<ReturnType<typeof hubHarness>['connect']>>;

/**
 * A Hub on fake time and fake sockets: deterministic tests of the server core. Errors the hub
 * reports fail the test unless `onError` is given.
 */
export function hubHarness(options: Omit<HubOptions, 'store'> & { store?: Store } = {}) {
  const clock = new FakeClock();
  const store = options.store ?? new MemoryStore();
  const hub = new Hub({ clock, onError: (error) => assert.fail(String(error)), ...options, store });
  hubs.push(hub);
  const connect = async (hello: object = { type: 'hello', v: 1 }) => {
    const socket = new FakeSocket();
    const connection = hub.open(socket);
    const send = (frame: object | string) => hub.receive(connection, typeof frame === 'string' ? frame : JSON.stringify(frame));
    send(hello);
    await clock.idle();
    return { socket, connection, send };
  };
  return { clock, store, hub, connect };
}
