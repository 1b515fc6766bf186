/**
 * Server under test 2: HoldfastServer with the memory store and default options. With the argument
 * `--no-rate-limit` the per-connection frame rate limit (default 1000/s, burst 2000) is lifted;
 * `--options=<json>` merges further HoldfastServer options (for experiments, e.g. {"ackBatch":10}).
 */
import { HoldfastServer, type ServerOptions } from '../../src/server/index.js';
import { serve } from './serve.js';

const unlimited = process.argv.includes('--no-rate-limit');
const extra = process.argv.find((arg) => arg.startsWith('--options='));

await serve('holdfast server', async () => {
  const options: ServerOptions = { port: 0 };
  if (unlimited) options.limits = { messageRate: { perSecond: 1e12, burst: 1e12 } };
  if (extra !== undefined) Object.assign(options, JSON.parse(extra.slice('--options='.length)) as ServerOptions);
  const server = new HoldfastServer(options);
  await server.ready;
  return {
    url: `ws://127.0.0.1:${server.port}${server.path}`,
    connections: () => server.hub.stats().connections,
    close: () => server.close(),
  };
});
