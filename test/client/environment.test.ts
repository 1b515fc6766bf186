import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alwaysOnline, detectEnvironment } from '../../src/client/index.js';

class FakeTarget {
  readonly listeners = new Map<string, Set<() => void>>();
  addEventListener(type: string, listener: () => void): void {
    const set = this.listeners.get(type) ?? new Set();
    set.add(listener);
    this.listeners.set(type, set);
  }
  removeEventListener(type: string, listener: () => void): void {
    this.listeners.get(type)?.delete(listener);
  }
  dispatch(type: string): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener();
  }
}

describe('ClientEnvironment', () => {
  it('alwaysOnline is online and never calls back', () => {
    assert.equal(alwaysOnline.isOnline(), true);
    alwaysOnline.onOnline(() => assert.fail())();
    alwaysOnline.onVisible(() => assert.fail())();
  });

  it('in Node (no navigator.onLine, no window events) it is always online', () => {
    const env = detectEnvironment();
    assert.equal(env.isOnline(), true);
    const stop = env.onOnline(() => {});
    stop();
  });

  it('in a browser it follows navigator.onLine, window online and document visibilitychange', () => {
    const window = new FakeTarget();
    const document = Object.assign(new FakeTarget(), { visibilityState: 'hidden' });
    const host = Object.assign(window, { navigator: { onLine: false }, document });
    const env = detectEnvironment(host);
    assert.equal(env.isOnline(), false);
    host.navigator.onLine = true;
    assert.equal(env.isOnline(), true);

    let online = 0;
    let visible = 0;
    let offline = 0;
    const stopOnline = env.onOnline(() => online++);
    const stopVisible = env.onVisible(() => visible++);
    const stopOffline = env.onOffline!(() => offline++);
    window.dispatch('online');
    window.dispatch('offline');
    document.dispatch('visibilitychange'); // still hidden
    document.visibilityState = 'visible';
    document.dispatch('visibilitychange');
    assert.deepEqual([online, visible, offline], [1, 1, 1]);
    stopOnline();
    stopVisible();
    stopOffline();
    window.dispatch('online');
    window.dispatch('offline');
    document.dispatch('visibilitychange');
    assert.deepEqual([online, visible, offline], [1, 1, 1]);
    assert.equal(window.listeners.get('online')?.size, 0);
    assert.equal(window.listeners.get('offline')?.size, 0);
    assert.equal(document.listeners.get('visibilitychange')?.size, 0);
  });
});
