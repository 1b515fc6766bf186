import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planFaults } from '../../scripts/chaos/plan.js';

describe('the chaos fault plan', () => {
  const shape = { durationMs: 120_000, nodes: 3, clients: 6 };

  it('is the same for the same seed and differs for another', () => {
    assert.deepEqual(planFaults(42, shape), planFaults(42, shape));
    assert.notDeepEqual(planFaults(42, shape), planFaults(43, shape));
  });

  it('draws a fault every 0.3-1.5 s, of every kind, Redis kills the rarest', () => {
    const plan = planFaults(42, shape);
    const gaps = plan.map((fault, i) => fault.at - (plan[i - 1]?.at ?? 0));
    assert.ok(gaps.every((gap) => gap >= 300 && gap <= 1500), String(gaps));
    assert.ok(plan.at(-1)!.at < shape.durationMs);
    const count = (kind: string) => plan.filter((fault) => fault.kind === kind).length;
    for (const kind of ['cut', 'half-open', 'delay', 'node-kill', 'client-kill', 'redis-kill']) assert.ok(count(kind) > 0, kind);
    assert.ok(count('redis-kill') < Math.min(count('node-kill'), count('client-kill'), count('cut')));
  });

  it('never kills a process the plan still has down or restarting, and spaces Redis kills', () => {
    for (const seed of [1, 2, 3, 42, 1234]) {
      const plan = planFaults(seed, shape);
      const up = new Map<string, number>();
      for (const fault of plan) {
        if (fault.kind !== 'node-kill' && fault.kind !== 'client-kill' && fault.kind !== 'redis-kill') continue;
        const key = `${fault.kind}:${fault.target}`;
        assert.ok((up.get(key) ?? 0) <= fault.at, `seed ${seed}: ${key} at ${fault.at} while down until ${up.get(key)}`);
        up.set(key, fault.at + fault.ms + (fault.kind === 'redis-kill' ? 10_000 : 1500));
        const bound = fault.kind === 'node-kill' ? shape.nodes : fault.kind === 'client-kill' ? shape.clients : 1;
        assert.ok(fault.target >= 0 && fault.target < bound, key);
      }
    }
  });
});
