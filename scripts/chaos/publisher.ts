/**
 * One publisher incarnation of the chaos run, a process of its own so that it can be SIGKILLed:
 * `node --import tsx scripts/chaos/publisher.ts --url U --stream pub1.3 --log pub-1.log --pace 100`.
 * Publishes `{ p, n }` (n = 0, 1, 2…) reliably every `pace` ms and logs each attempt before the call
 * and each acknowledgement when it comes. Its unacknowledged publishes live in memory only, so a
 * SIGKILL loses them; the next incarnation is a new stream. On SIGTERM it stops publishing, waits
 * (at most `--drain` ms) for the acknowledgements still owed, logs `end` and exits 0.
 */
import { HoldfastClient } from 'holdfast/client';
import { appendLine } from './log-lines.js';
import { clientOptions, logConnection, namedArgs, TOPIC } from './client-options.js';

const args = namedArgs(process.argv.slice(2), ['url', 'stream', 'log', 'pace', 'drain']);
const p = args['stream']!;
const log = args['log']!;
const pace = Number(args['pace']);
const drainMs = Number(args['drain']);

let stopping = false;
let wake: (() => void) | undefined;
// Before the `start` line: an incarnation that logged it always stops cleanly (see ClientProcess).
process.on('SIGTERM', () => {
  stopping = true;
  wake?.();
});
appendLine(log, { k: 'start', p });
const client = new HoldfastClient(clientOptions(args['url']!));
const pending = new Set<Promise<void>>();
logConnection(client, log, p, () => stopping);

for (let n = 0; !stopping; n++) {
  appendLine(log, { k: 'attempt', p, n });
  const done: Promise<void> = client.publish(TOPIC, { p, n }).then(
    () => appendLine(log, { k: 'ack', p, n }),
    (error: unknown) => appendLine(log, { k: 'fail', p, n, error: String(error) }),
  );
  pending.add(done);
  void done.finally(() => pending.delete(done));
  await new Promise<void>((resolve) => {
    wake = resolve;
    setTimeout(resolve, pace);
  });
}

const deadline = new Promise<void>((resolve) => setTimeout(resolve, drainMs).unref());
await Promise.race([Promise.allSettled([...pending]), deadline]);
appendLine(log, { k: 'end', p, pending: pending.size });
client.close();
process.exit(0);
