/**
 * A Holdfast server on a SQLite database, as a child process a test can SIGKILL:
 *
 *   node --import tsx test/support/sqlite-server-child.ts <port> <database file>
 *
 * Prints `listening <port>` on stdout once it accepts connections, and `duplicates <n>` for every
 * append batch in which the store dropped n resent publishes by their id. Errors the hub recovers from
 * go to stderr as `onError …` lines (the test shows them when it fails). SIGTERM closes the server
 * and the store cleanly and exits with 0.
 */
import { HoldfastServer } from '../../src/server/index.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';

const [portText, file] = process.argv.slice(2);
if (portText === undefined || file === undefined) {
  process.stderr.write('usage: sqlite-server-child.ts <port> <database file>\n');
  process.exit(2);
}

const store = new SqliteStore({ file });
// Resends the store recognised by their id: evidence that a crash hit appended-but-unacknowledged publishes.
const append = store.append.bind(store);
store.append = async (entries) => {
  const outcomes = await append(entries);
  const duplicates = outcomes.filter((outcome) => 'duplicate' in outcome && outcome.duplicate).length;
  if (duplicates > 0) process.stdout.write(`duplicates ${duplicates}\n`);
  return outcomes;
};
const server = new HoldfastServer({
  port: Number(portText),
  host: '127.0.0.1',
  store,
  onError: (error) => process.stderr.write(`onError ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`),
});
await server.ready;
process.stdout.write(`listening ${server.port}\n`);

process.once('SIGTERM', () => {
  void (async () => {
    await server.close();
    await store.close();
    process.exit(0);
  })();
});
