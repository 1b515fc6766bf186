/**
 * One subscriber incarnation of the chaos run, a process of its own so that it can be SIGKILLed:
 * `node --import tsx scripts/chaos/subscriber.ts --url U --name sub0.2 --log sub-0.log`.
 * Like an application that stores its position with its data, it appends every message with its
 * epoch and offset to its log before the handler returns, and a new incarnation reads the log and
 * subscribes from the last position recorded there (or from the start when there is none), so
 * nothing is handed over twice across incarnations. Exits 0 on SIGTERM.
 */
import { existsSync, readFileSync } from 'node:fs';
import { HoldfastClient, type StreamPosition, type Subscription } from 'holdfast/client';
import { appendLine, parseLines } from './log-lines.js';
import { clientOptions, logConnection, namedArgs, TOPIC } from './client-options.js';

const args = namedArgs(process.argv.slice(2), ['url', 'name', 'log']);
const s = args['name']!;
const log = args['log']!;

let position: StreamPosition | null = null;
if (existsSync(log)) {
  for (const line of parseLines(readFileSync(log, 'utf8'), log)) {
    if (line['k'] === 'msg') position = { epoch: String(line['e']), offset: line['o'] as number };
  }
}
let stopping = false;
let client: HoldfastClient | undefined;
// Before the `start` line: an incarnation that logged it always stops cleanly (see ClientProcess).
process.on('SIGTERM', () => {
  stopping = true;
  client?.close();
  process.exit(0);
});
appendLine(log, { k: 'start', s, position });

client = new HoldfastClient(clientOptions(args['url']!));
logConnection(client, log, s, () => stopping);
const subscription: Subscription = client.subscribe(
  TOPIC,
  (data, meta) => {
    const { p, n } = data as { p: string; n: number };
    // The position's epoch is the one this message belongs to (set before the handler runs).
    appendLine(log, { k: 'msg', s, p, n, e: subscription.position?.epoch ?? '', o: meta.offset ?? -1 });
  },
  position === null ? { from: 'start' } : { position },
);
subscription.on('subscribed', (info) =>
  appendLine(log, { k: 'subscribed', s, epoch: info.epoch, offset: info.offset, recovering: info.recovering, recovered: info.recovered, resubscribe: info.resubscribe }),
);
// A refused `sub` (FORBIDDEN, STORE_UNAVAILABLE…): written down, with the state it left the subscription in.
subscription.on('error', (error) => appendLine(log, { k: 'sub-error', s, code: error.code, message: error.message, state: subscription.state }));
