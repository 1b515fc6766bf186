/**
 * The demo in real Chromium against the real standalone server (SQLite data folder): chat between
 * pages, going offline, a killed server, a reload with unacknowledged messages, and the online and
 * visibility triggers. Every message is counted in both pages and by a Node observer of the topic:
 * nothing lost, nothing twice, order kept.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import {
  ChatObserver,
  DemoServer,
  launchChromium,
  missingBrowser,
  numbered,
  openDemo,
  phases,
  recordPhases,
  screenshot,
  send,
  shown,
  statuses,
  waitForPhase,
  withoutFrames,
  type DemoPage,
} from './support.js';
import { sleep, waitFor } from '../support/wait.js';

const skip = missingBrowser();
if (skip !== undefined) console.log(`# browser tests skipped: ${skip}`);

describe('the demo in Chromium', { skip, timeout: 120_000 }, () => {
  let browser: Browser;
  let server: DemoServer;
  let observer: ChatObserver;
  const pages: DemoPage[] = [];

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    server = await DemoServer.start();
    observer = await ChatObserver.start(server.wsUrl);
  });
  afterEach(async () => {
    for (const { context } of pages.splice(0)) await context.close();
    observer?.close();
    await server?.stop();
  });

  async function open(query = ''): Promise<Page> {
    const demo = await openDemo(browser, server.url, query);
    pages.push(demo);
    return demo.page;
  }

  /** Waits until `page` shows exactly `texts` (those with `prefix`), then checks they are all. */
  async function showsExactly(page: Page, prefix: string, texts: string[]): Promise<void> {
    await page.waitForFunction(
      ([start, count]) => [...document.querySelectorAll('#messages .text')].filter((item) => (item.textContent ?? '').startsWith(start)).length >= count,
      [prefix, texts.length] as const,
      { timeout: 20_000 },
    );
    assert.deepEqual(await shown(page, prefix), texts);
  }

  /** Waits until the observer has `texts` (with `prefix`); then a quiet moment shows nothing more comes. */
  async function storedExactly(prefix: string, texts: string[]): Promise<void> {
    await waitFor(() => observer.with(prefix).length >= texts.length, `the server to store ${texts.length} "${prefix}" messages`, 20_000);
    await sleep(500); // a duplicate would arrive meanwhile
    assert.deepEqual(observer.with(prefix), texts);
  }

  it('two pages exchange chat messages', async () => {
    const ann = await open();
    const bob = await open();
    await send(ann, 'hello from ann');
    await showsExactly(bob, 'hello from ann', ['hello from ann']);
    await send(bob, 'hello back from bob');
    await showsExactly(ann, 'hello back from bob', ['hello back from bob']);
    await showsExactly(ann, 'hello from ann', ['hello from ann']);
    await ann.waitForFunction(() => document.querySelector('#messages .msg.mine')?.getAttribute('data-status') === 'delivered');
    await storedExactly('hello', ['hello from ann', 'hello back from bob']);
    await screenshot(ann, 'demo-chat');
  });

  it('a page offline keeps 20 messages and delivers them once, in order, when the network is back', async () => {
    const demo = await openDemo(browser, server.url);
    pages.push(demo);
    const ann = demo.page;
    const bob = await open();
    const texts = numbered('offline ', 20);

    await demo.context.setOffline(true);
    await waitForPhase(ann, 'offline');
    for (const text of texts) await send(ann, text);
    assert.deepEqual(await statuses(ann, 'offline '), { pending: 20 });
    assert.equal(await ann.evaluate(() => (globalThis as unknown as { holdfast: { pending: number } }).holdfast.pending), 20);
    await screenshot(ann, 'demo-offline');
    assert.deepEqual(await shown(bob, 'offline '), [], 'nothing left the offline page');

    await demo.context.setOffline(false);
    await waitForPhase(ann, 'open');
    await showsExactly(bob, 'offline ', texts);
    await ann.waitForFunction(() => document.querySelectorAll('#messages .msg.mine[data-status="delivered"]').length === 20, undefined, { timeout: 20_000 });
    assert.deepEqual(await shown(ann, 'offline '), texts, 'the sender shows each once too');
    await storedExactly('offline ', texts);

    const seen = await phases(ann);
    const offline = seen.indexOf('offline');
    const reconnecting = seen.indexOf('reconnecting', offline);
    const reopened = seen.indexOf('open', reconnecting);
    assert.ok(offline >= 0 && reconnecting > offline && reopened > reconnecting, `indicator went offline → reconnecting → open: ${seen.join(' → ')}`);
  });

  it('after the server is killed and restarted, the pages reconnect by themselves and the chat has no gap', async () => {
    const ann = await open();
    const bob = await open();
    await send(ann, 'gap 1 before the crash');
    await showsExactly(bob, 'gap ', ['gap 1 before the crash']);

    observer.close(); // it would reconnect too; a fresh one reads the stored chat afterwards
    await server.kill();
    await waitForPhase(ann, 'reconnecting');
    await waitForPhase(bob, 'reconnecting');
    await send(ann, 'gap 2 written while the server is down');
    await send(bob, 'gap 3 also while down');
    await screenshot(ann, 'demo-reconnecting');

    await server.restart();
    await waitForPhase(ann, 'open');
    await waitForPhase(bob, 'open');
    await send(ann, 'gap 4 after the restart');
    const all = ['gap 1 before the crash', 'gap 2 written while the server is down', 'gap 3 also while down', 'gap 4 after the restart'];
    // Who sent first while down is a race between the pages; each page's own order is kept.
    for (const page of [ann, bob]) {
      await page.waitForFunction(() => [...document.querySelectorAll('#messages .text')].filter((item) => (item.textContent ?? '').startsWith('gap ')).length >= 4, undefined, { timeout: 20_000 });
      const texts = await shown(page, 'gap ');
      assert.deepEqual([...texts].sort(), all, 'each message once');
      assert.equal(texts[0], all[0]);
      assert.ok(texts.indexOf(all[1]!) < texts.indexOf(all[3]!), 'ann’s messages in her order');
    }
    await bob.waitForFunction(() => document.getElementById('state-detail')?.textContent?.includes('recovered everything'), undefined, { timeout: 20_000 });
    observer = await ChatObserver.start(server.wsUrl);
    await waitFor(() => observer.with('gap ').length >= 4, 'the stored chat', 20_000);
    const stored = observer.with('gap ');
    assert.deepEqual([...stored].sort(), all, 'stored once each');
    assert.ok(stored.indexOf(all[1]!) < stored.indexOf(all[3]!), 'stored in the order ann sent them');
    await screenshot(bob, 'demo-recovered');
  });

  it('a reload with unacknowledged messages sends them after the reload, exactly once (IndexedDB outbox)', async () => {
    // Between the page and the server: acks to the page can be swallowed (the server stored the
    // messages, the page does not know), and the page's publishes can be swallowed (never stored).
    let mode: 'pass' | 'drop-acks' | 'drop-publishes' = 'pass';
    const demo = await openDemo(browser, server.url);
    pages.push(demo);
    const ann = demo.page;
    await ann.routeWebSocket(/\/holdfast$/, (socket: WebSocketRoute) => {
      const upstream = socket.connectToServer();
      upstream.onMessage((message) => {
        const kept = mode === 'drop-acks' ? withoutFrames(message, 'ack') : message.toString();
        if (kept !== undefined) socket.send(kept);
      });
      socket.onMessage((message) => {
        const kept = mode === 'drop-publishes' ? withoutFrames(message, 'pub') : message.toString();
        if (kept !== undefined) upstream.send(kept);
      });
    });
    await ann.reload(); // the route applies to sockets opened from now on
    await waitForPhase(ann, 'open');
    const bob = await open();
    const texts = numbered('reload ', 6);

    mode = 'drop-acks';
    for (const text of texts.slice(0, 3)) await send(ann, text);
    await storedExactly('reload ', texts.slice(0, 3)); // stored, but the page was never told
    mode = 'drop-publishes';
    for (const text of texts.slice(3)) await send(ann, text);
    assert.deepEqual(await statuses(ann, 'reload '), { pending: 6 });
    await ann.evaluate(() => (globalThis as unknown as { holdfast: { outboxStored(): Promise<void> } }).holdfast.outboxStored());

    mode = 'pass';
    await ann.reload();
    await waitForPhase(ann, 'open');
    await waitFor(async () => (await ann.evaluate(() => (globalThis as unknown as { holdfast: { pending: number } }).holdfast.pending)) === 0, 'the restored outbox to empty', 20_000);
    await storedExactly('reload ', texts);
    await showsExactly(bob, 'reload ', texts);
    await showsExactly(ann, 'reload ', texts); // read back from the chat's history after the reload
    const rows = await ann.evaluate(
      () =>
        new Promise<number>((resolve, reject) => {
          const request = indexedDB.open('holdfast-demo');
          request.onsuccess = () => {
            const count = request.result.transaction('publishes').objectStore('publishes').count();
            count.onsuccess = () => resolve(count.result);
            count.onerror = () => reject(count.error);
          };
          request.onerror = () => reject(request.error);
        }),
    );
    assert.equal(rows, 0, 'IndexedDB forgets them once the server confirmed them');
  });

  it('a tab closed with unsent messages: the next tab of the app sends them, while an open tab keeps its own', async () => {
    const context = await browser.newContext();
    pages.push({ context, page: await context.newPage() });
    // The first tab's publishes never reach the server.
    const first = await context.newPage();
    await first.routeWebSocket(/\/holdfast$/, (socket: WebSocketRoute) => {
      const upstream = socket.connectToServer();
      socket.onMessage((message) => {
        const kept = withoutFrames(message, 'pub');
        if (kept !== undefined) upstream.send(kept);
      });
    });
    await first.goto(`${server.url}/`);
    await waitForPhase(first, 'open');
    const texts = numbered('orphan ', 2);
    for (const text of texts) await send(first, text);
    await first.evaluate(() => (globalThis as unknown as { holdfast: { outboxStored(): Promise<void> } }).holdfast.outboxStored());

    // A second tab while the first still lives: the first tab's rows are not its to send.
    const second = await context.newPage();
    await second.goto(`${server.url}/`);
    await waitForPhase(second, 'open');
    await sleep(1000);
    assert.deepEqual(observer.with('orphan '), [], 'a living tab keeps its own unsent messages');

    await first.close(); // closed with two messages unsent: its Web Lock is released
    const third = await context.newPage();
    await third.goto(`${server.url}/`);
    await waitForPhase(third, 'open');
    await storedExactly('orphan ', texts);
    await showsExactly(second, 'orphan ', texts);
  });

  it('the online event and a page becoming visible reconnect at once instead of waiting out the backoff', async () => {
    const demo = await openDemo(browser, server.url, '?retryDelay=120000');
    pages.push(demo);
    const ann = demo.page;
    type Status = { state: string; retryAt: number | undefined };
    const status = () => ann.evaluate(() => (globalThis as unknown as { holdfastStatus: { getSnapshot(): Status } }).holdfastStatus.getSnapshot());

    /** Kills the server and waits for a retry at least 10 s away, then restarts the server. */
    const longWait = async (): Promise<number> => {
      await server.kill();
      let retryAt = 0;
      await waitFor(async () => {
        const now = await status();
        retryAt = now.retryAt ?? 0;
        return now.state === 'reconnecting' && retryAt - Date.now() > 10_000;
      }, 'a retry at least 10 s away', 30_000);
      await server.restart();
      await sleep(300);
      assert.equal((await status()).state, 'reconnecting', 'still waiting out the backoff');
      return retryAt;
    };

    let retryAt = await longWait();
    await screenshot(ann, 'demo-waiting');
    await demo.context.setOffline(true);
    await demo.context.setOffline(false); // the browser fires 'online'
    await waitForPhase(ann, 'open', 5000);
    assert.ok(Date.now() < retryAt, 'open before the retry timer was due');

    retryAt = await longWait();
    await recordPhases(ann);
    // Headless Chromium reports every page as visible whatever is in front (Playwright emulates
    // focus), so the page's visibility is switched the way the browser does it: state, then event.
    // (A string, not a function: the test runner's TypeScript transform would add helpers the page lacks.)
    await ann.evaluate(`for (const state of ['hidden', 'visible']) {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
      document.dispatchEvent(new Event('visibilitychange'));
    }`);
    await waitForPhase(ann, 'open', 5000);
    assert.ok(Date.now() < retryAt, 'open before the retry timer was due');
    assert.deepEqual(await phases(ann), ['reconnecting', 'open'], 'no offline on the way: only visibility changed');
  });
});
