/**
 * The lines the chaos run's processes append to their log files, one JSON object per line. The
 * publishers, subscribers and the fault scheduler write them; the checker reads nothing else.
 * Every line is appended synchronously (appendFileSync), so what a process wrote survives its
 * SIGKILL.
 */
import { appendFileSync } from 'node:fs';

/** A publisher incarnation started; `p` is its stream id (`pub1.3`: publisher 1, incarnation 3). */
export interface PubStart { k: 'start'; p: string }
/** About to publish `{ p, n }` (written before `publish` is called). */
export interface PubAttempt { k: 'attempt'; p: string; n: number }
/** `publish` resolved: the server acknowledged `{ p, n }`. */
export interface PubAck { k: 'ack'; p: string; n: number }
/** `publish` rejected (the client closed, the outbox was full…): not acknowledged. */
export interface PubFail { k: 'fail'; p: string; n: number; error: string }
/** The incarnation stopped on request after waiting for its acknowledgements; `pending` never came. */
export interface PubEnd { k: 'end'; p: string; pending: number }
/** The client's connection ended (`who`: the stream or subscriber id); 4001 is its heartbeat noticing a silent link. */
export interface ClientDisconnect { k: 'disconnect'; who: string; code: number; reason: string; willReconnect: boolean; t: number }
/** The client closed for good by itself (not asked to): it will never reconnect, which the run must not see. */
export interface ClientGaveUp { k: 'gave-up'; who: string; code: number | null; reason: string; error: string; t: number }
export type PublisherLine = PubStart | PubAttempt | PubAck | PubFail | PubEnd | ClientDisconnect | ClientGaveUp;

/** A subscriber incarnation started, from a recorded position or from the start. */
export interface SubStart { k: 'start'; s: string; position: { epoch: string; offset: number } | null }
/** A `subscribed` event: `recovered: false` means the server says history is gone. */
export interface SubSubscribed { k: 'subscribed'; s: string; epoch: string; offset: number; recovering: boolean; recovered: boolean; resubscribe: boolean }
/** A message handed to the subscriber: its data `{ p, n }`, and the epoch and offset it came with. */
export interface SubMsg { k: 'msg'; s: string; p: string; n: number; e: string; o: number }
/** The subscription's `error` event (a refusal of its `sub`), and the state it is in after it. */
export interface SubError { k: 'sub-error'; s: string; code: string; message: string; state: string }
export type SubscriberLine = SubStart | SubSubscribed | SubMsg | SubError | ClientDisconnect | ClientGaveUp;

/** The run's parameters, first line of faults.log. */
export interface RunLine { k: 'run'; seed: number; minutes: number; nodes: number; publishers: number; subscribers: number; pace: number }
/** A fault the scheduler carried out (`at`: ms since the traffic began). */
export interface FaultLine { k: 'fault'; at: number; kind: FaultKind; target: string; ms: number }
export type FaultsLine = RunLine | FaultLine;

export const FAULT_KINDS = ['cut', 'half-open', 'delay', 'node-kill', 'redis-kill', 'client-kill'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export function appendLine(file: string, line: PublisherLine | SubscriberLine | FaultsLine): void {
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}

/** The lines of a log file; a line that is not a JSON object is reported with its number. */
export function parseLines(text: string, file: string): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  const rows = text.split('\n');
  if (rows.at(-1) === '') rows.pop();
  for (const [index, row] of rows.entries()) {
    let value: unknown;
    try {
      value = JSON.parse(row);
    } catch {
      throw new Error(`${file}:${index + 1}: not JSON: ${row.slice(0, 200)}`);
    }
    if (typeof value !== 'object' || value === null || typeof (value as { k?: unknown }).k !== 'string') {
      throw new Error(`${file}:${index + 1}: not a log line: ${row.slice(0, 200)}`);
    }
    lines.push(value as Record<string, unknown>);
  }
  return lines;
}
