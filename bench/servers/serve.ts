import { childSafety, cpuSample, onParentMessage, toParent, type ServerCommand } from '../lib/ipc.js';
import { hasGc, settledMemory } from '../lib/memory.js';

export interface ServerUnderTest {
  url: string;
  connections(): number;
  close(): Promise<void>;
}

/** Runs a server under test: reports its URL, answers memory and CPU requests, stops on request. */
export async function serve(name: string, start: () => Promise<ServerUnderTest>): Promise<void> {
  childSafety(name, 240_000);
  if (!hasGc) console.error(`[bench] ${name}: run with --expose-gc for stable memory figures`);
  const server = await start();
  let stopping = false;
  onParentMessage<ServerCommand>((command) => {
    switch (command.type) {
      case 'memory':
        void settledMemory().then((memory) => toParent({ type: 'memory', memory, connections: server.connections() }));
        return;
      case 'cpu':
        toParent({ type: 'cpu', sample: cpuSample() });
        return;
      case 'stop':
        if (stopping) return;
        stopping = true;
        setTimeout(() => process.exit(0), 5000).unref();
        void server.close().finally(() => process.exit(0));
        return;
    }
  });
  toParent({ type: 'ready', url: server.url, pid: process.pid });
}

/** `--port N` of the server's command line (the storm restarts a server on its old port); 0: any. */
export function portArgument(): number {
  const arg = process.argv.find((a) => a.startsWith('--port='));
  return arg === undefined ? 0 : Number(arg.slice('--port='.length));
}
