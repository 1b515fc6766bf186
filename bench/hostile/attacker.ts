/**
 * The attacker process of the `hostile` workload: `node attacker.js`, pinned to the load core. It
 * runs one flood (bench/hostile/floods.ts) when asked, keeps its connections until told to leave,
 * and reports over IPC.
 */
import { childSafety, onParentMessage } from '../lib/ipc.js';
import type { RawClient } from './raw-client.js';
import { runFlood } from './floods.js';
import type { AttackerCommand, AttackerReport } from './messages.js';

childSafety('hostile attacker', 240_000);
const report = (message: AttackerReport): void => void process.send?.(message);

let clients: RawClient[] = [];
let resumePhase: (() => void) | undefined;

onParentMessage<AttackerCommand>((command) => {
  switch (command.type) {
    case 'attack':
      runFlood(command.url, command.config, (name) => {
        report({ type: 'phase', name });
        return new Promise<void>((resolve) => (resumePhase = resolve));
      }).then(
        (outcome) => {
          clients = outcome.clients;
          report({ type: 'attacked', report: outcome.report });
        },
        (error: unknown) => report({ type: 'fatal', message: `hostile attacker: ${error instanceof Error ? error.message : String(error)}` }),
      );
      return;
    case 'warm-up':
      // The server's usual paths compiled and its first-use allocations made before the baseline.
      runFlood(command.url, { kind: 'control', messages: 100 }, async () => undefined).then(
        (outcome) => {
          for (const client of outcome.clients) client.terminate();
          report({ type: 'warmed' });
        },
        // A server that refuses every hello (early-frames) is warmed up by the refusal.
        () => report({ type: 'warmed' }),
      );
      return;
    case 'continue':
      resumePhase?.();
      resumePhase = undefined;
      return;
    case 'leave':
      for (const client of clients) client.terminate();
      clients = [];
      report({ type: 'left' });
      return;
    case 'stop':
      for (const client of clients) client.terminate();
      setTimeout(() => process.exit(0), 100);
      return;
  }
});
