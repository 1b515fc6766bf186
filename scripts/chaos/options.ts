import { parseArgs } from 'node:util';

export interface ChaosOptions {
  seed: number;
  minutes: number;
  nodes: number;
  publishers: number;
  subscribers: number;
  /** ms between two publishes of one publisher. */
  pace: number;
  /** Keep the logs folder even when the run passes. */
  keep: boolean;
}

/** What the flags default to (the replay line names only the others). */
export const CHAOS_DEFAULTS = { nodes: 3, publishers: 3, subscribers: 3, pace: 100 } as const;

export const CHAOS_USAGE = `usage: npm run chaos -- --seed S --minutes M [--nodes N] [--publishers N] [--subscribers N] [--pace MS] [--keep]
  --seed S          the fault schedule's seed (a whole number; default: a fresh one, printed)
  --minutes M       how long faults are injected (then a bounded drain); may be a fraction: 0.25
  --nodes N         holdfast serve nodes behind nginx (default 3)
  --publishers N    publisher processes (default 3)
  --subscribers N   subscriber processes (default 3)
  --pace MS         ms between two publishes of one publisher (default 100)
  --keep            keep the logs folder even when the run passes (it is always kept on a failure)`;

/** Parses the command line; throws an Error whose message is meant for the user. */
export function parseChaosArgs(argv: string[]): ChaosOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      seed: { type: 'string' },
      minutes: { type: 'string' },
      nodes: { type: 'string' },
      publishers: { type: 'string' },
      subscribers: { type: 'string' },
      pace: { type: 'string' },
      keep: { type: 'boolean' },
    },
  });
  const whole = (name: string, text: string | undefined, fallback: number, low: number, high: number): number => {
    if (text === undefined) return fallback;
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(value >= low && value <= high)) throw new Error(`--${name} must be a whole number from ${low} to ${high}: '${text}'`);
    return value;
  };
  if (values.minutes === undefined) throw new Error('--minutes is required');
  const minutes = Number(values.minutes);
  if (!(minutes > 0 && minutes <= 24 * 60)) throw new Error(`--minutes must be a number above 0: '${values.minutes}'`);
  return {
    seed: whole('seed', values.seed, Math.floor(Math.random() * 1_000_000), 0, 2 ** 32 - 1),
    minutes,
    nodes: whole('nodes', values.nodes, CHAOS_DEFAULTS.nodes, 1, 16),
    publishers: whole('publishers', values.publishers, CHAOS_DEFAULTS.publishers, 1, 32),
    subscribers: whole('subscribers', values.subscribers, CHAOS_DEFAULTS.subscribers, 1, 32),
    pace: whole('pace', values.pace, CHAOS_DEFAULTS.pace, 5, 60_000),
    keep: values.keep ?? false,
  };
}
