import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { HoldfastClient } from '../../src/client/index.js';
import { createServerMetrics } from '../../src/cli/metrics.js';
import { startStandalone } from '../../src/cli/standalone.js';
import { cli, http, listening } from './helpers.js';

const children: ChildProcess[] = [];
const clients: HoldfastClient[] = [];

after(() => {
  for (const client of clients) client.close();
  for (const child of children) child.kill('SIGKILL');
});

/** In memory: a data folder would carry messages over from the last run. */
async function serve(args: string[] = [], env: Record<string, string> = {}) {
  const child = cli(['serve', '--port', '0', '--no-prices', '--memory', ...args], { env });
  children.push(child);
  return listening(child);
}

/** Every sample of a scrape, by `name{labels}` exactly as written (labels in prom-client's order). */
function samples(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const response = await http(url, '/metrics', { headers });
  assert.equal(response.status, 200, response.body);
  assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return samples(response.body);
}

/** A sample's value; a missing series fails the test rather than counting as 0. */
function value(scraped: Map<string, number>, series: string): number {
  const found = scraped.get(series);
  assert.notEqual(found, undefined, `no series ${series}`);
  return found!;
}

function client(wsUrl: string): HoldfastClient {
  const created = new HoldfastClient({ url: wsUrl, WebSocket: WebSocket as never });
  clients.push(created);
  return created;
}

async function until(check: () => Promise<boolean>, what: () => string, timeout = 5000): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('GET /metrics of holdfast serve', () => {
  it('counts exactly the traffic of real clients: publishes in, deliveries out per subscriber, connections, close codes', async () => {
    const { url, wsUrl } = await serve();
    const before = await scrape(url);
    assert.equal(value(before, 'holdfast_connections'), 0);
    assert.ok(value(before, 'nodejs_eventloop_lag_seconds') >= 0, 'default Node metrics are there');

    const N = 7;
    const topic = 'chat:metrics';
    const publisher = client(wsUrl);
    const listener = client(wsUrl);
    const got: unknown[][] = [[], []];
    await Promise.all([
      publisher.subscribe(topic, (data) => got[0]!.push(data), { from: 'start' }).ready,
      listener.subscribe(topic, (data) => got[1]!.push(data), { from: 'start' }).ready,
    ]);
    // Each publish resolves on the server's ack: stored once, whatever a resend might do.
    await Promise.all(Array.from({ length: N }, (_, i) => publisher.publish(topic, { i })));
    await until(async () => got[0]!.length === N && got[1]!.length === N, () => `both subscribers to get every message (got ${got.map((list) => list.length).join(', ')} of ${N})`);

    const during = await scrape(url);
    const delta = (series: string) => value(during, series) - value(before, series);
    assert.equal(delta('holdfast_messages_in_total{mode="reliable"}'), N);
    assert.equal(delta('holdfast_messages_out_total{mode="reliable"}'), 2 * N, 'one per subscriber');
    assert.equal(delta('holdfast_messages_in_total{mode="volatile"}'), 0);
    assert.equal(value(during, 'holdfast_connections'), 2);
    assert.equal(value(during, 'holdfast_sessions'), 2);
    assert.equal(value(during, 'holdfast_subscriptions'), 2);
    assert.equal(delta('holdfast_connections_opened_total'), 2);
    assert.equal(delta('holdfast_duplicates_dropped_total'), 0, 'every publish was new');
    const acks = delta('holdfast_acks_sent_total');
    assert.ok(acks >= 1 && acks <= N, `cumulative acks: ${acks} for ${N} publishes`);
    // Group commit: N publishes in at most N batches, at least one.
    const batches = delta('holdfast_store_operation_seconds_count{operation="append"}');
    assert.ok(batches >= 1 && batches <= N, `append batches: ${batches}`);
    assert.ok(delta('holdfast_store_operation_seconds_sum{operation="append"}') > 0);
    assert.equal(during.get('holdfast_connections_closed_total{code="1000"}'), undefined, 'nothing closed yet');

    listener.close();
    let after = during;
    await until(async () => value((after = await scrape(url)), 'holdfast_connections') === 1, () => 'the server to see the close');
    assert.equal(value(after, 'holdfast_connections_closed_total{code="1000"}'), 1, 'a client close() is 1000');
    assert.equal(value(after, 'holdfast_subscriptions'), 1);
  });

  it('with --metrics-key (or HOLDFAST_METRICS_KEY) refuses a scrape without the key (401) and answers one with it', async () => {
    const { url } = await serve([], { HOLDFAST_METRICS_KEY: 'scrape-me' });
    const refused = await http(url, '/metrics');
    assert.equal(refused.status, 401, refused.body);
    assert.equal(refused.headers['www-authenticate'], 'Bearer');
    assert.doesNotMatch(refused.body, /holdfast_/);
    assert.equal((await http(url, '/metrics', { headers: { Authorization: 'Bearer wrong' } })).status, 401);
    // Garbage in the header is a refusal, never a crash of the server.
    for (const garbage of ['Bearer', 'Bearer    ', 'Basic c2NyYXBlLW1l', 'scrape-me', 'Bearer scrape-me extra', 'x'.repeat(8000)]) {
      assert.equal((await http(url, '/metrics', { headers: { Authorization: garbage } })).status, 401, JSON.stringify(garbage.slice(0, 30)));
    }
    const scraped = await scrape(url, { Authorization: 'Bearer scrape-me' });
    assert.equal(value(scraped, 'holdfast_connections'), 0);
    assert.equal((await http(url, '/healthz')).status, 200, '/healthz stays open');
  });

  it('labels close codes outside the protocol as other: a client cannot make the server keep a series per code', async () => {
    const metrics = createServerMetrics();
    for (const code of [1000, 4413, 4001, 3000, 4999, 4998]) metrics.observer.connectionClosed!(code);
    const scraped = samples(await metrics.registry.metrics());
    const closed = [...scraped].filter(([series]) => series.startsWith('holdfast_connections_closed_total'));
    assert.deepEqual(new Map(closed), new Map([
      ['holdfast_connections_closed_total{code="1000"}', 1],
      ['holdfast_connections_closed_total{code="4413"}', 1],
      ['holdfast_connections_closed_total{code="4001"}', 1],
      ['holdfast_connections_closed_total{code="other"}', 3],
    ]));
  });

  it('startStandalone tells an observer given in server too, and counts all the same', async () => {
    const seen: string[] = [];
    const app = await startStandalone({
      port: 0,
      priceFeed: false,
      store: 'memory',
      server: { observer: { connectionOpened: () => seen.push('opened'), messageIn: (mode) => seen.push(`in ${mode}`) } },
    });
    try {
      const one = client(app.wsUrl);
      await one.publish('chat:own', 'x');
      assert.deepEqual(seen, ['opened', 'in reliable']);
      const scraped = await scrape(app.url);
      assert.equal(value(scraped, 'holdfast_messages_in_total{mode="reliable"}'), 1);
      assert.equal(value(scraped, 'holdfast_connections_opened_total'), 1);
      one.close();
    } finally {
      await app.close();
    }
  });
});
