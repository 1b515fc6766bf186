/**
 * One node of a Redis deployment with a request handler, as a child process a test can SIGKILL:
 *
 *   node --import tsx test/support/redis-node-child.ts <port> <redis url> <key prefix>
 *
 * The handler `work` counts its runs per `data.id` in Redis (INCR, shared by every node), takes
 * `data.ms` milliseconds (time for a connection to be cut while it runs) and replies with the count
 * and this node's port. Prints `listening <port>` once it accepts connections, and `claim <state>`
 * for every request claim (`running`: a resend found the run still going, here or on another node).
 */
import { Redis } from 'ioredis';
import { HoldfastServer } from '../../src/server/index.js';
import { RedisStore } from '../../src/store/redis/index.js';

const [portText, url, keyPrefix] = process.argv.slice(2);
if (portText === undefined || url === undefined || keyPrefix === undefined) {
  process.stderr.write('usage: redis-node-child.ts <port> <redis url> <key prefix>\n');
  process.exit(2);
}
const port = Number(portText);
const store = new RedisStore({ url, keyPrefix });
const claim = store.claimRequest.bind(store);
store.claimRequest = async (...args) => {
  const result = await claim(...args);
  process.stdout.write(`claim ${result.state}\n`);
  return result;
};
const counter = new Redis(url);
const server = new HoldfastServer({
  port,
  host: '127.0.0.1',
  store,
  handlers: {
    work: async (data) => {
      const { id, ms } = data as { id: string; ms: number };
      const runs = await counter.incr(`${keyPrefix}:runs:${id}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      return { id, runs, port };
    },
  },
  onError: (error) => process.stderr.write(`onError ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`),
});
await server.ready;
process.stdout.write(`listening ${server.port}\n`);
