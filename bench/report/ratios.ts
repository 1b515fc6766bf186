/**
 * The four headline figures that are compared against reference systems, and how: one definition
 * used by both the markdown tables and the chart, so the two can never disagree.
 *
 * A ratio is always system ÷ reference. For throughput and fan-out above 1.00× is better; for p99
 * latency and memory per connection below 1.00× is better (we keep the same direction rather than
 * inverting, so a number in the chart is the number in the table).
 */
import { isFigures, type BenchResults, type Entry, type PerSystem, type SystemId } from '../lib/results.js';

/** The systems everything is compared against: raw ws (the floor) and Socket.IO emit + ack (the common choice). */
export const REFERENCES = ['ws', 'socketio'] as const satisfies readonly SystemId[];
export type Reference = (typeof REFERENCES)[number];

export const REFERENCE_LABELS: Record<Reference, string> = {
  ws: 'raw ws',
  socketio: 'Socket.IO (emit + ack)',
};

export type RatioMetricId = 'throughput' | 'fanout' | 'latency' | 'memory';

export interface RatioMetric {
  id: RatioMetricId;
  /** Short name for chart group headings. */
  title: string;
  /** What the headline figure is, with its unit. */
  unit: string;
  lowerIsBetter: boolean;
  /** The headline figure of one system, undefined when it failed, does not apply, or was not run. */
  value(results: BenchResults, system: SystemId): number | undefined;
}

const figure =
  <T extends object>(pick: (workloads: BenchResults['workloads']) => PerSystem<T> | undefined, read: (figures: T) => number | undefined) =>
  (results: BenchResults, system: SystemId): number | undefined => {
    const entry: Entry<T> | undefined = pick(results.workloads)?.[system];
    return isFigures(entry) ? read(entry) : undefined;
  };

export const RATIO_METRICS: readonly RatioMetric[] = [
  {
    id: 'throughput',
    title: 'Throughput',
    unit: 'msg/s',
    lowerIsBetter: false,
    value: figure((w) => w.throughput, (f) => f.messagesPerSecond),
  },
  {
    id: 'fanout',
    title: 'Fan-out',
    unit: 'deliveries/s',
    lowerIsBetter: false,
    value: figure((w) => w.fanout, (f) => f.deliveriesPerSecond),
  },
  {
    id: 'latency',
    title: 'p99 latency',
    unit: 'ms',
    lowerIsBetter: true,
    value: figure((w) => w.latency, (f) => f.p99),
  },
  {
    id: 'memory',
    title: 'Memory per idle connection',
    unit: 'bytes RSS',
    lowerIsBetter: true,
    value: figure((w) => w.memory, (f) => f.perConnection.rss),
  },
];

export function metric(id: RatioMetricId): RatioMetric {
  const found = RATIO_METRICS.find((m) => m.id === id);
  if (found === undefined) throw new Error(`unknown metric ${id}`);
  return found;
}

/**
 * system ÷ reference for one metric; undefined when either side is missing, or when the reference
 * is not positive (a ratio to zero says nothing).
 */
export function ratioTo(results: BenchResults, m: RatioMetric, system: SystemId, reference: Reference): number | undefined {
  const value = m.value(results, system);
  const base = m.value(results, reference);
  if (value === undefined || base === undefined || !Number.isFinite(value) || !Number.isFinite(base) || base <= 0) return undefined;
  return value / base;
}
