/** Load for test 1: one `ws` client keeping `inFlight` echo round trips going. */
import { WebSocket } from 'ws';
import { loadProcess, measure, Meter, withTimeout } from './common.js';

loadProcess('ws throughput load', {
  async throughput(config) {
    const ws = new WebSocket(config.url, { perMessageDeflate: false });
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      }),
      10_000,
      'ws open',
    );
    const meter = new Meter();
    const text = JSON.stringify(config.payload);
    let outstanding = 0;
    let drained: () => void = () => undefined;
    const allBack = new Promise<void>((resolve) => (drained = resolve));
    ws.on('error', (error) => {
      meter.errors[error.message] = (meter.errors[error.message] ?? 0) + 1;
    });
    ws.on('message', () => {
      meter.completed++;
      if (meter.running) ws.send(text);
      else if (--outstanding === 0) drained();
    });
    for (let i = 0; i < config.inFlight; i++) ws.send(text);
    outstanding = config.inFlight;
    const result = await measure(config, meter);
    await withTimeout(allBack, 5000, 'last echoes').catch(() => undefined);
    ws.terminate();
    return result;
  },
});
