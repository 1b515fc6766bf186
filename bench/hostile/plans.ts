/**
 * The floods of the `hostile` workload (issue 10): what each attacker sends, to which store, and
 * how big. Each plan runs against a fresh server process; bench/hostile/measure.ts runs them and
 * bench/hostile/floods.ts is the attacker's side.
 */

export const HOSTILE_KINDS = [
  'control',
  'never-read-errors',
  'never-read-pongs',
  'never-read-replies',
  'never-read-acks',
  'catchup-non-readers',
  'kept-replies-acks',
  'topic-flood',
  'early-frames',
  'bulk-reliable',
  'bulk-latest-keys',
] as const;
export type HostileKind = (typeof HOSTILE_KINDS)[number];
export type HostileStore = 'memory' | 'sqlite';

/** What the attacker process is asked to do; one variant per kind. */
export type AttackConfig =
  | { kind: 'control'; messages: number }
  | { kind: 'never-read-errors'; durationMs: number; maxBytes: number; topicBytes: number }
  | { kind: 'never-read-pongs'; durationMs: number; maxBytes: number }
  | { kind: 'never-read-replies'; durationMs: number; maxBytes: number; dataBytes: number }
  | { kind: 'never-read-acks'; durationMs: number; maxBytes: number; dataBytes: number }
  | { kind: 'catchup-non-readers'; subscribers: number; topic: string; holdMs: number }
  | { kind: 'kept-replies-acks'; requests: number; dataBytes: number; ackPhaseMs: number }
  | { kind: 'topic-flood'; durationMs: number; dataBytes: number }
  | { kind: 'early-frames'; durationMs: number; maxBytes: number; frameBytes: number }
  | { kind: 'bulk-reliable'; messages: number; dataBytes: number; topic: string }
  | { kind: 'bulk-latest-keys'; keys: number; dataBytes: number; topic: string };

export interface FloodPlan {
  kind: HostileKind;
  store: HostileStore;
  /** Attacking connections (the target is per connection). */
  connections: number;
  /** One line for the report: what the attacker does. */
  what: string;
  attack: AttackConfig;
  /** Extra arguments of bench/servers/hostile.ts (e.g. the slow authenticate hook). */
  serverArgs: string[];
  /** Messages the server publishes to a topic before the baseline is taken. */
  prefill?: { topic: string; messages: number; bytes: number };
  /** After the attacker left: how long to watch the server's event loop (the next retention sweeps). */
  observeMs?: number;
}

const MiB = 2 ** 20;

/**
 * The plans of one run. Sizes are those of issue 10; `quick` shortens every flood and caps the
 * volumes so the workload checks itself in well under a minute.
 */
export function floodPlans(quick: boolean): FloodPlan[] {
  const seconds = (full: number, short: number): number => (quick ? short : full) * 1000;
  const cap = quick ? 64 * MiB : 1024 * MiB;
  const prefill = { topic: 'chat:history', messages: quick ? 100 : 500, bytes: 256 * 1024 };
  const catchup = (store: HostileStore): FloodPlan => ({
    kind: 'catchup-non-readers',
    store,
    connections: 4,
    what: `${prefill.messages} messages of 256 KiB retained; 4 subscribers from 'start' that never read`,
    attack: { kind: 'catchup-non-readers', subscribers: 4, topic: prefill.topic, holdMs: seconds(10, 2) },
    serverArgs: [],
    prefill,
  });
  const kept = (store: HostileStore): FloodPlan => ({
    kind: 'kept-replies-acks',
    store,
    connections: 1,
    what: `${quick ? '2,000' : '9,900'} requests whose replies are never confirmed, then one small ack frame per reply, about 1 ms apart, for at most ${seconds(10, 2) / 1000} s`,
    // Just under maxKeptReplies (10,000), where the server stops reading and the acks could not arrive.
    attack: { kind: 'kept-replies-acks', requests: quick ? 2000 : 9900, dataBytes: 100, ackPhaseMs: seconds(10, 2) },
    serverArgs: [],
  });
  const topics = (store: HostileStore): FloodPlan => ({
    kind: 'topic-flood',
    store,
    connections: 1,
    what: `fire-and-forget publishes to ever-new topics chat:<n> for ${seconds(15, 2) / 1000} s`,
    attack: { kind: 'topic-flood', durationMs: seconds(15, 2), dataBytes: 100 },
    serverArgs: [],
    // Longer than the sweeper's slow pass (every 30 sweeps of 1 s): one always falls in the window.
    observeMs: seconds(32, 2),
  });
  return [
    {
      kind: 'control',
      store: 'memory',
      connections: 1,
      what: 'a well-behaved client: 100 acknowledged publishes and 100 confirmed requests, reading everything',
      attack: { kind: 'control', messages: 100 },
      serverArgs: [],
    },
    {
      kind: 'never-read-errors',
      store: 'memory',
      connections: 1,
      what: `sub to invalid 64 KiB topic names (each answered by an error echoing the name), never reading, ${seconds(10, 2) / 1000} s`,
      attack: { kind: 'never-read-errors', durationMs: seconds(10, 2), maxBytes: cap, topicBytes: 64 * 1024 },
      serverArgs: [],
    },
    {
      kind: 'never-read-pongs',
      store: 'memory',
      connections: 1,
      what: `ping frames (each answered by pong), never reading, ${seconds(10, 2) / 1000} s`,
      attack: { kind: 'never-read-pongs', durationMs: seconds(10, 2), maxBytes: cap },
      serverArgs: [],
    },
    {
      kind: 'never-read-replies',
      store: 'memory',
      connections: 1,
      what: `requests to an echo handler with 60 KB of data (reply as large), never reading, ${seconds(10, 2) / 1000} s`,
      attack: { kind: 'never-read-replies', durationMs: seconds(10, 2), maxBytes: cap, dataBytes: 60_000 },
      serverArgs: [],
    },
    {
      kind: 'never-read-acks',
      store: 'memory',
      connections: 1,
      what: `reliable publishes of 100 bytes (each confirmed by an ack), never reading, ${seconds(10, 2) / 1000} s`,
      attack: { kind: 'never-read-acks', durationMs: seconds(10, 2), maxBytes: cap, dataBytes: 100 },
      serverArgs: [],
    },
    catchup('memory'),
    catchup('sqlite'),
    kept('memory'),
    kept('sqlite'),
    topics('memory'),
    topics('sqlite'),
    {
      kind: 'early-frames',
      store: 'memory',
      connections: 1,
      what: 'hello, then 1 MB frames before welcome while authenticate takes 5 s (then refuses)',
      attack: { kind: 'early-frames', durationMs: 6000, maxBytes: cap, frameBytes: 1_000_000 },
      serverArgs: ['--auth-delay=5000'],
    },
    {
      kind: 'bulk-reliable',
      store: 'memory',
      connections: 1,
      what: `${quick ? 30 : 300} acknowledged publishes of 1 MiB to one reliable topic`,
      attack: { kind: 'bulk-reliable', messages: quick ? 30 : 300, dataBytes: 1_048_000, topic: 'chat:bulk' },
      serverArgs: [],
    },
    {
      kind: 'bulk-latest-keys',
      store: 'memory',
      connections: 1,
      what: `${quick ? '2,000' : '20,000'} distinct keys of 1 KB to one latest topic`,
      attack: { kind: 'bulk-latest-keys', keys: quick ? 2000 : 20_000, dataBytes: 1000, topic: 'prices' },
      serverArgs: [],
    },
  ];
}
