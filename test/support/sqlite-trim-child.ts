/**
 * Trims one topic of a SQLite database in a child process a test can SIGKILL half-way:
 *
 *   node --import tsx test/support/sqlite-trim-child.ts <database file> <topic> <maxCount>
 *
 * Prints `start <first> <head>` before the trim, `progress <first>` every few ms while it runs
 * (the store yields to the event loop between its delete steps), and `done <removed>` at the end.
 */
import { SqliteStore } from '../../src/store/sqlite/index.js';

const [file, topic, maxCountText] = process.argv.slice(2);
if (file === undefined || topic === undefined || maxCountText === undefined) {
  process.stderr.write('usage: sqlite-trim-child.ts <database file> <topic> <maxCount>\n');
  process.exit(2);
}

const store = new SqliteStore({ file });
const before = await store.info(topic);
process.stdout.write(`start ${before.first} ${before.head}\n`);
const progress = setInterval(() => {
  void store.info(topic).then((info) => process.stdout.write(`progress ${info.first}\n`));
}, 5);
const { removed } = await store.trim(topic, { maxCount: Number(maxCountText) }, Date.now());
clearInterval(progress);
process.stdout.write(`done ${removed}\n`);
await store.close();
