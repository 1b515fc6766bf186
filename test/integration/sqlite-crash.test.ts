import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { WebSocket } from 'ws';
import { HoldfastClient, type SubscribedInfo } from '../../src/client/index.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { Child, freePort, killChildren } from '../support/child-process.js';
import { sleep, waitFor } from '../support/wait.js';

/** Messages each client publishes to its own topic. */
const N = 3000;
const CLIENTS = 3;
const KILLS = 10;
/** Publishes of one client sent and not yet acknowledged, at most. */
const WINDOW = 100;
/** Publishes a client sends at once (when its window and the pace allow). */
const BURST = 50;
/** A kill waits (briefly) for at least this many publishes in flight, so it lands in traffic. */
const KILL_IN_FLIGHT = 20;

const folder = mkdtempSync(join(tmpdir(), 'holdfast-crash-'));
after(async () => {
  await killChildren();
  rmSync(folder, { recursive: true, force: true });
});

const randomBetween = (low: number, high: number) => low + Math.random() * (high - low);

/** `promise`, or a failure saying `what()` after `ms`; the timer never outlives the race. */
async function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what())), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function integrityCheck(file: string): string {
  const db = new Database(file, { fileMustExist: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

/**
 * What each topic of the (closed) database holds, in one line: `<topic>: <n> messages, offsets
 * 1..n, values 0..n-1` when it is a dense, in-order prefix of what its client published, or what
 * is wrong with it (a lost or duplicated value shows here).
 */
async function storedTopics(file: string, topics: string[]): Promise<string> {
  const store = new SqliteStore({ file });
  try {
    const lines: string[] = [];
    for (const topic of topics) {
      const { messages } = await store.read(topic, 0, 1_000_000);
      const n = messages.length;
      const badOffset = messages.findIndex((m, i) => m.offset !== i + 1);
      const badValue = messages.findIndex((m, i) => m.data !== i);
      if (badOffset < 0 && badValue < 0) {
        lines.push(`${topic}: ${n} messages, offsets 1..${n}, values 0..${n - 1}`);
      } else {
        const at = Math.max(0, Math.min(...[badOffset, badValue].filter((i) => i >= 0)) - 2);
        const around = messages.slice(at, at + 6).map((m) => `${m.offset}=${JSON.stringify(m.data)}`);
        lines.push(`${topic}: ${n} messages, NOT a dense in-order prefix near index ${at}: ${around.join(' ')}`);
      }
    }
    return lines.join('; ');
  } finally {
    await store.close();
  }
}

/**
 * The durability promise with a real process crash: the server (a child process on a SQLite
 * file) is SIGKILLed 10 times while 3 clients publish and subscribe, and restarted on the same
 * file and port each time. Publishes cut off by a crash are resent by their clients and recognised
 * by their id; nothing acknowledged is lost, nothing is stored or delivered twice.
 */
describe('sqlite crash: the server process is SIGKILLed 10 times during traffic', () => {
  const file = join(folder, 'holdfast.db');
  let port = 0;
  let server: Child | undefined;
  const servers: Child[] = [];
  const clients: HoldfastClient[] = [];
  /** Set when the test ends, however it ends: the publisher and kill loops stop. */
  let stopped = false;

  /** Starts the server on the same file and port; resolves once it listens. */
  async function startServer(): Promise<Child> {
    const child = new Child('./sqlite-server-child.ts', [String(port), file]);
    servers.push(child);
    await child.waitForLine((line) => line.startsWith('listening '), 30_000);
    return child;
  }

  before(async () => {
    port = await freePort();
  });
  after(async () => {
    stopped = true;
    for (const client of clients) client.close();
    await killChildren();
  });

  it('loses nothing, stores nothing twice and delivers every message once, in order', { timeout: 180_000 }, async () => {
    server = await startServer();
    const url = `ws://127.0.0.1:${port}/holdfast`;
    const topics = Array.from({ length: CLIENTS }, (_, i) => `t${i}`);

    // What each client's application sees: per client, per topic, the values in order.
    const received = topics.map(() => topics.map(() => [] as unknown[]));
    const subscribed = topics.map(() => topics.map(() => [] as SubscribedInfo[]));
    const opens = topics.map(() => [] as boolean[]);
    for (let c = 0; c < CLIENTS; c++) {
      const client = new HoldfastClient({ url, WebSocket: WebSocket as never, reconnect: { initialDelay: 20, maxDelay: 200 } });
      clients.push(client);
      client.on('open', ({ resumed }) => opens[c]!.push(resumed));
    }
    await Promise.all(
      clients.flatMap((client, c) =>
        topics.map((topic, t) => {
          const subscription = client.subscribe(topic, (data) => received[c]![t]!.push(data), { from: 'start' });
          subscription.on('subscribed', (info) => subscribed[c]![t]!.push(info));
          return subscription.ready;
        }),
      ),
    );

    // The kill schedule paces the publishers: by the end of stage k (k kills done and the server
    // back, then a random 0.3–1.5 s) about N·(k+1)/(KILLS+1) values may be published. Within that
    // budget each client publishes in bursts of BURST as fast as its window of WINDOW allows, so
    // traffic flows in every stage whatever the machine's speed, and ends after the last restart.
    let kills = 0;
    let down = false;
    let stageStart = Date.now();
    let stageLength = randomBetween(300, 1500);
    const budget = () => {
      // Up to 1.5: the budget keeps growing while the kill at the end of a stage is aimed.
      const fraction = down ? 0 : Math.min(1.5, (Date.now() - stageStart) / stageLength);
      return Math.min(N, Math.floor((N * (kills + fraction)) / (KILLS + 1)));
    };

    const published = topics.map(() => 0);
    const settled = topics.map(() => 0);
    const rejected: unknown[] = [];
    const inFlight = () => published.reduce((sum, n, c) => sum + n - settled[c]!, 0);
    const publishers = clients.map(async (client, c) => {
      const pending: Array<Promise<void>> = [];
      let lastBurst = Date.now();
      while (published[c]! < N && !stopped) {
        const limit = Math.min(budget(), settled[c]! + WINDOW);
        const room = limit - published[c]!;
        // A burst when BURST fit, or whatever fits after 100 ms, or the rest at the end.
        if (room <= 0 || (room < BURST && Date.now() - lastBurst < 100 && limit < N)) {
          await sleep(2);
          continue;
        }
        for (let value = published[c]!; value < limit; value++) {
          pending.push(
            client.publish(topics[c]!, value).then(
              () => void settled[c]!++,
              (error: unknown) => {
                settled[c]!++;
                rejected.push(error);
              },
            ),
          );
        }
        published[c] = limit;
        lastBurst = Date.now();
        await sleep(2);
      }
      await Promise.all(pending);
    });

    const duplicatesOf = (child: Child) => child.lines.filter((l) => l.startsWith('duplicates ')).reduce((sum, l) => sum + Number(l.split(' ')[1]), 0);
    const inFlightAtKill: number[] = [];
    const chaos = (async () => {
      while (kills < KILLS && !stopped) {
        await sleep(stageLength);
        // Aim at a burst (up to 300 ms for KILL_IN_FLIGHT publishes in flight), then at a random
        // point of the server's work on it, while publishes are still unacknowledged.
        const aimed = Date.now();
        for (;;) {
          while (inFlight() < KILL_IN_FLIGHT && Date.now() - aimed < 300) await sleep(1);
          await sleep(randomBetween(0, 5));
          if (inFlight() > 0) break;
          assert.ok(Date.now() - aimed < 3000, `kill ${kills + 1}: no publish in flight for 3 s`);
        }
        assert.ok(published.some((n) => n < N), `kill ${kills + 1}: the publishers are still at work`);
        inFlightAtKill.push(inFlight());
        down = true;
        await server!.kill();
        kills++;
        server = await startServer();
        // Every client back and resubscribed before the next stage: each kill hits all of them.
        await waitFor(
          () => opens.every((o) => o.length > kills) && subscribed.flat().every((events) => events.length > kills),
          `all clients reconnected and resubscribed after kill ${kills}`,
          30_000,
        );
        down = false;
        stageStart = Date.now();
        stageLength = kills < KILLS ? randomBetween(300, 1500) : 1000;
      }
    })();

    const started = Date.now();
    const progress = () =>
      topics
        .map((topic, c) => {
          const stored = Math.min(...received.map((r) => r[c]!.length)); // every subscriber has seen them, so they are stored
          return `client ${c}: published ${published[c]}, settled ${settled[c]}, ${topic} delivered to all ${stored}`;
        })
        .join('; ') + `; kills ${kills}; server stderr:\n${server?.stderr ?? ''}`;
    await chaos;
    // Every publish settles once the server is up for good; fail when that stops making progress.
    let last = -1;
    let lastChange = Date.now();
    while (settled.some((n) => n < N)) {
      const total = settled.reduce((a, b) => a + b, 0);
      if (total !== last) [last, lastChange] = [total, Date.now()];
      if (Date.now() - lastChange > 15_000) {
        const stuck = progress();
        await server.stop();
        assert.fail(`publishes stopped settling for 15 s (stored and delivered but never acknowledged?): ${stuck}\ndatabase: ${await storedTopics(file, topics)}`);
      }
      await sleep(20);
    }
    await withTimeout(Promise.all(publishers), 10_000, () => `the publishers did not finish: ${progress()}`);
    await waitFor(() => received.every((r) => r.every((t) => t.length >= N)), `every subscriber to have ${N} messages per topic`, 60_000).catch(
      (error: Error) => assert.fail(`${error.message}: ${progress()}`),
    );
    await sleep(300); // anything delivered twice would arrive now
    const elapsed = Date.now() - started;
    const duplicates = servers.reduce((sum, child) => sum + duplicatesOf(child), 0);

    // Stopped cleanly, so that this process can open the file.
    assert.equal(await server.stop(), 0, `the last server stopped cleanly; stderr:\n${server.stderr}`);
    for (const client of clients) client.close();

    const expected = Array.from({ length: N }, (_, i) => i);
    assert.equal(kills, KILLS);
    assert.deepEqual(rejected, [], 'every publish resolved, none rejected');
    assert.deepEqual(settled, topics.map(() => N));
    for (let c = 0; c < CLIENTS; c++) {
      for (let t = 0; t < CLIENTS; t++) {
        assert.deepEqual(received[c]![t], expected, `client ${c} saw ${topics[t]} exactly once each, in order`);
      }
    }

    // The epoch survives restarts: every resubscription recovered its position.
    const allSubscribed = subscribed.flat(2);
    const epochs = new Set(allSubscribed.map((info) => info.epoch));
    assert.equal(epochs.size, 1, 'one epoch across all restarts');
    const resubscribes = allSubscribed.filter((info) => info.resubscribe);
    for (const events of subscribed.flat()) assert.ok(events.length >= KILLS + 1, `each subscription resubscribed after each restart (${events.length - 1})`);
    for (const info of resubscribes) {
      assert.equal(info.recovering, true, 'a resubscription continues from its position');
      assert.equal(info.recovered, true, `recovered after a restart: ${JSON.stringify(info)}`);
    }

    // The database itself: each topic holds N messages, offsets 1..N, values 0..N-1, nothing twice.
    assert.equal(integrityCheck(file), 'ok');
    const store = new SqliteStore({ file });
    try {
      for (const topic of topics) {
        const info = await store.info(topic);
        assert.deepEqual({ head: info.head, first: info.first }, { head: N, first: 1 }, `${topic}: head and first`);
        const { messages } = await store.read(topic, 0, N + 100);
        assert.deepEqual(
          messages.map((m) => m.offset),
          Array.from({ length: N }, (_, i) => i + 1),
          `${topic}: dense offsets 1..N`,
        );
        assert.deepEqual(
          messages.map((m) => m.data),
          expected,
          `${topic}: values 0..N-1 in order, none stored twice`,
        );
      }
    } finally {
      await store.close();
    }
    assert.equal(await storedTopics(file, topics), topics.map((topic) => `${topic}: ${N} messages, offsets 1..${N}, values 0..${N - 1}`).join('; '));

    const resumed = opens.flat().filter(Boolean).length;
    console.log(
      `[sqlite-crash] ${KILLS} kills in ${elapsed} ms; publishes in flight at the kills: ${inFlightAtKill.join(', ')}; ` +
        `resends dropped as duplicates by the store: ${duplicates}; connections ${opens.flat().length} (${resumed} resumed a session)`,
    );
  });
});

const TRIM_TOPIC = 'big';
const TOTAL = 1_000_000;
const KEEP = 1000;

/**
 * A retention trim removes a million rows in many small transactions. Killing the process half-way
 * must leave a sound database whose topic is a contiguous range ending at the old head.
 */
describe('sqlite crash: SIGKILL in the middle of a large trim', () => {
  const file = join(folder, 'trim.db');
  after(async () => {
    await killChildren();
  });

  it('leaves a contiguous suffix, the same head, and a trim that can finish', { timeout: 180_000 }, async () => {
    // Fill: 1,000,000 messages, 10,000 per append (one transaction each); data = offset.
    const fillStarted = Date.now();
    const filler = new SqliteStore({ file });
    for (let from = 1; from <= TOTAL; from += 10_000) {
      const entries = Array.from({ length: Math.min(10_000, TOTAL - from + 1) }, (_, i) => ({ topic: TRIM_TOPIC, data: from + i, time: fillStarted }));
      await filler.append(entries);
    }
    assert.deepEqual(await filler.info(TRIM_TOPIC), { epoch: filler.epoch, head: TOTAL, first: 1 });
    const epoch = filler.epoch;
    await filler.close();
    const fillMs = Date.now() - fillStarted;

    // Trim in a child, killed once it has visibly removed a random share of what it will remove.
    const child = new Child('./sqlite-trim-child.ts', [file, TRIM_TOPIC, String(KEEP)]);
    const startLine = await child.waitForLine((line) => line.startsWith('start '), 30_000);
    assert.equal(startLine, `start 1 ${TOTAL}`);
    const trimStarted = Date.now();
    const target = Math.floor(randomBetween(0.1, 0.7) * (TOTAL - KEEP));
    await child.waitForLine((line) => line.startsWith('progress ') && Number(line.split(' ')[1]) > target, 60_000);
    await child.kill();
    const trimMs = Date.now() - trimStarted;
    assert.ok(!child.lines.some((line) => line.startsWith('done ')), 'the trim was killed before it finished');
    const lastSeen = Math.max(...child.lines.filter((l) => l.startsWith('progress ')).map((l) => Number(l.split(' ')[1])));

    // The file after the crash, read raw: sound, and the topic is one contiguous range up to the old head.
    assert.equal(integrityCheck(file), 'ok');
    const raw = new Database(file, { fileMustExist: true });
    let first: number;
    try {
      const range = raw.prepare('SELECT COUNT(*) AS count, MIN(offset) AS first, MAX(offset) AS last FROM messages WHERE topic = ?').get(TRIM_TOPIC) as {
        count: number;
        first: number;
        last: number;
      };
      first = range.first;
      assert.equal(range.last, TOTAL, 'the newest message is still there');
      assert.equal(range.count, range.last - range.first + 1, `no holes: ${range.count} messages from ${range.first} to ${range.last}`);
      assert.ok(range.first > 1 && range.first < TOTAL - KEEP + 1, `the kill landed mid-trim (first ${range.first})`);
      assert.ok(range.first >= lastSeen, `nothing the trim had removed came back (first ${range.first}, progress seen ${lastSeen})`);
      const head = raw.prepare('SELECT head FROM topics WHERE topic = ?').get(TRIM_TOPIC) as { head: number };
      assert.equal(head.head, TOTAL, 'the stored head is unchanged');
      const wrong = raw.prepare("SELECT COUNT(*) AS n FROM messages WHERE topic = ? AND data <> CAST(offset AS TEXT)").get(TRIM_TOPIC) as { n: number };
      assert.equal(wrong.n, 0, 'every remaining message has its own data');
    } finally {
      raw.close();
    }

    // The store agrees, takes new messages after the head, and can finish the trim.
    const store = new SqliteStore({ file });
    try {
      assert.equal(store.epoch, epoch, 'the epoch survived the crash');
      assert.deepEqual(await store.info(TRIM_TOPIC), { epoch, head: TOTAL, first });
      const [outcome] = await store.append([{ topic: TRIM_TOPIC, data: TOTAL + 1, time: Date.now() }]);
      assert.deepEqual(outcome, { offset: TOTAL + 1, epoch, duplicate: false });
      const { removed } = await store.trim(TRIM_TOPIC, { maxCount: KEEP }, Date.now());
      assert.equal(removed, TOTAL + 1 - KEEP - first + 1, 'the finished trim removed the rest');
      const info = await store.info(TRIM_TOPIC);
      assert.deepEqual(info, { epoch, head: TOTAL + 1, first: TOTAL + 2 - KEEP });
      const { messages } = await store.read(TRIM_TOPIC, 0, KEEP + 10);
      assert.deepEqual(
        messages.map((m) => [m.offset, m.data]),
        Array.from({ length: KEEP }, (_, i) => [TOTAL + 2 - KEEP + i, TOTAL + 2 - KEEP + i]),
        `exactly the newest ${KEEP} remain`,
      );
    } finally {
      await store.close();
    }
    assert.equal(integrityCheck(file), 'ok');
    console.log(`[sqlite-crash] filled ${TOTAL} messages in ${fillMs} ms; trim killed after ${trimMs} ms at first = ${first}`);
  });
});
