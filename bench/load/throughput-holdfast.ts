/** Load for test 2: one HoldfastClient keeping `inFlight` reliable publishes awaiting their ack. */
import { WebSocket } from 'ws';
import { HoldfastClient, isHoldfastError } from 'holdfast/client';
import { countInto } from '../lib/ipc.js';
import { loadProcess, measure, Meter, withTimeout } from './common.js';

const TOPIC = 'bench:throughput';

loadProcess('holdfast throughput load', {
  async throughput(config) {
    const meter = new Meter();
    const client = new HoldfastClient({ url: config.url, WebSocket });
    client.on('error', (error) => countInto(meter.errors, `client error ${error.code}`));
    const unwatch = client.on('disconnect', ({ code }) => countInto(meter.errors, `disconnect ${code}`));
    await withTimeout(new Promise<void>((resolve) => client.on('open', () => resolve())), 10_000, 'holdfast open');
    const worker = async (): Promise<void> => {
      while (meter.running) {
        try {
          await client.publish(TOPIC, config.payload);
          meter.completed++;
        } catch (error) {
          countInto(meter.errors, `publish rejected ${isHoldfastError(error) ? error.code : String(error)}`);
        }
      }
    };
    const workers = Array.from({ length: config.inFlight }, worker);
    const result = await measure(config, meter);
    await withTimeout(Promise.all(workers), 5000, 'last acks').catch(() => undefined);
    unwatch(); // our own close() below is no error
    client.close();
    return result;
  },
});
