import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../src/store/memory/index.js';
import type { RetentionPolicy, TrimResult } from '../../src/store/types.js';
import { RetentionSchedule } from '../../src/server/retention-schedule.js';
import { MAX_AGE_TRIMS_PER_SWEEP } from '../../src/server/sweeper.js';
import { hubHarness } from '../support/hub-harness.js';

const DAY = 24 * 60 * 60 * 1000;

/** A MemoryStore that counts trim calls, per topic. */
class CountingStore extends MemoryStore {
  readonly trims = new Map<string, number>();
  total = 0;

  override async trim(topic: string, policy: RetentionPolicy, now: number): Promise<TrimResult> {
    this.total++;
    this.trims.set(topic, (this.trims.get(topic) ?? 0) + 1);
    return super.trim(topic, policy, now);
  }
}

describe('Retention sweeps', () => {
  // Guards issue 10 item 6: the sweep trimmed every topic ever seen every 30 sweeps (Sweeper.knownTopics
  // never shrank), so 300,000 idle topics blocked the event loop for seconds on each pass.
  it('costs trims in proportion to the topics appended to or due, never to the idle ones', async () => {
    const store = new CountingStore();
    const { hub, clock } = hubHarness({ store });
    const IDLE = 10_000;
    await Promise.all(Array.from({ length: IDLE }, (_, i) => hub.publish(`idle:${i}`, i)));
    hub.sweep(); // count retention for the topics just appended to
    await clock.idle();
    assert.equal(store.total, IDLE, 'each new topic trimmed once');

    const perSweep: number[] = [];
    for (let i = 0; i < 100; i++) {
      await hub.publish('busy', i);
      clock.advance(1000);
      const before = store.total;
      hub.sweep();
      await clock.idle();
      perSweep.push(store.total - before);
    }
    assert.deepEqual(new Set(perSweep), new Set([1]), 'one trim per sweep (the busy topic), whatever the idle topics');

    // A day later the idle topics come of age: trimmed at most MAX_AGE_TRIMS_PER_SWEEP a sweep, then forgotten.
    clock.advance(DAY);
    const ageSweeps: number[] = [];
    for (let i = 0; i < IDLE / MAX_AGE_TRIMS_PER_SWEEP + 2; i++) {
      const before = store.total;
      hub.sweep();
      await clock.idle();
      ageSweeps.push(store.total - before);
    }
    assert.ok(Math.max(...ageSweeps) <= MAX_AGE_TRIMS_PER_SWEEP, `at most ${MAX_AGE_TRIMS_PER_SWEEP} age trims a sweep: ${ageSweeps.join(',')}`);
    for (const i of [0, 4321, IDLE - 1]) {
      assert.equal(store.trims.get(`idle:${i}`), 2, `idle:${i} trimmed once for count, once for age`);
      assert.deepEqual(await store.info(`idle:${i}`), { epoch: (await store.info(`idle:${i}`)).epoch, head: 0, first: 1 }, 'forgotten by the store');
    }

    // Forgotten topics left the schedule: another two days of sweeps never trim them again.
    const idleTrims = () => [...store.trims].filter(([topic]) => topic.startsWith('idle:')).reduce((sum, [, n]) => sum + n, 0);
    const settled = idleTrims();
    for (let i = 0; i < 48; i++) {
      clock.advance(DAY / 24);
      hub.sweep();
      await clock.idle();
    }
    assert.equal(idleTrims(), settled, 'no trims of forgotten topics');
  });

  // Guards issue 10 item 6: a topic whose messages all aged out stays out of every later sweep, and
  // comes back on the schedule (in a new epoch) when it is published to again.
  it('drops a topic trimmed to nothing from the schedule until it is appended to again', async () => {
    const store = new CountingStore();
    const { hub, clock } = hubHarness({ store, topics: { 'short:*': { mode: 'reliable', retention: { maxAgeMs: 1000 } } } });
    const first = await hub.publish('short:a', 'one');
    assert.equal(first.offset, 1);
    const { epoch } = await store.info('short:a');
    hub.sweep();
    await clock.idle();
    assert.equal(store.trims.get('short:a'), 1);

    clock.advance(1000);
    hub.sweep(); // the message is 1000 ms old: not older than maxAgeMs yet
    await clock.idle();
    assert.equal(store.trims.get('short:a'), 1, 'not due before the message is older than maxAgeMs');
    clock.advance(1);
    hub.sweep();
    await clock.idle();
    assert.equal(store.trims.get('short:a'), 2, 'due once the oldest message is older than maxAgeMs');
    assert.equal((await store.info('short:a')).head, 0, 'trimmed to nothing: forgotten');

    for (let i = 0; i < 100; i++) {
      clock.advance(1000);
      hub.sweep();
      await clock.idle();
    }
    assert.equal(store.trims.get('short:a'), 2, 'a forgotten topic is never trimmed again');

    const again = await hub.publish('short:a', 'two');
    assert.equal(again.offset, 1, 'its history starts over');
    assert.notEqual((await store.info('short:a')).epoch, epoch, 'in a new epoch');
    hub.sweep();
    await clock.idle();
    clock.advance(1001);
    hub.sweep();
    await clock.idle();
    assert.equal(store.trims.get('short:a'), 4, 'count-trimmed when appended to, age-trimmed when due');
    assert.equal((await store.info('short:a')).head, 0);
  });
});

describe('RetentionSchedule', () => {
  // Randomized against a plain map; RETENTION_SEED=<n> replays a run.
  it('hands out due topics soonest first, with moves and removals', () => {
    const seed = Number(process.env['RETENTION_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`[retention-schedule] seed ${seed} (RETENTION_SEED=${seed} to replay)`);
    let state = seed;
    const random = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    const schedule = new RetentionSchedule();
    const model = new Map<string, number>();
    let now = 0;
    for (let step = 0; step < 20_000; step++) {
      const topic = `t${random(300)}`;
      const action = random(10);
      if (action < 6) {
        const at = now + random(1000);
        schedule.set(topic, at);
        model.set(topic, at);
      } else if (action < 7) {
        schedule.delete(topic);
        model.delete(topic);
      } else {
        now += random(100);
        const limit = 1 + random(20);
        const taken = schedule.takeDue(now, limit);
        const due = [...model].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]);
        assert.equal(taken.length, Math.min(limit, due.length), `seed ${seed} step ${step}: how many are due`);
        const times = taken.map((t) => model.get(t)!);
        assert.deepEqual(times, due.slice(0, taken.length).map(([, at]) => at), `seed ${seed} step ${step}: soonest first`);
        for (const t of taken) model.delete(t);
      }
      assert.equal(schedule.size, model.size, `seed ${seed} step ${step}: size`);
    }
    for (const [topic, at] of model) assert.equal(schedule.dueAt(topic), at, `seed ${seed}: ${topic} due`);
  });
});
