import { WebSocket } from 'ws';
import type { ClientOptions, HoldfastClient } from 'holdfast/client';
import { appendLine } from './log-lines.js';

/** The topic every publisher and subscriber of the run uses (`serve` lets anonymous clients use `chat:*`). */
export const TOPIC = 'chat:chaos';

/**
 * The client settings of the run's processes. The nodes ping after 1 s of silence
 * (`--heartbeat-interval 1000`), so a link silent for 1 s + 3 s grace is dead: a half-open link is
 * noticed in about 4 s. Reconnects start at once and back off to 1 s at most, and a connection
 * attempt that hangs (through a held link) is abandoned after 3 s.
 */
export function clientOptions(url: string): ClientOptions {
  return {
    url,
    WebSocket: WebSocket as never,
    heartbeatGrace: 3000,
    connectTimeout: 3000,
    reconnect: { initialDelay: 100, maxDelay: 1000 },
  };
}

/** Reads `--name value` pairs: the client processes take only named string arguments. */
export function namedArgs(argv: string[], names: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]?.replace(/^--/, '');
    const value = argv[i + 1];
    if (name === undefined || value === undefined || !names.includes(name)) throw new Error(`unexpected argument ${argv[i]}`);
    values[name] = value;
  }
  for (const name of names) if (values[name] === undefined) throw new Error(`--${name} is required`);
  return values;
}

/**
 * Logs the client's disconnects, and a final close it came to by itself (`stopping()` false): a
 * client of the run must never give up, whatever the faults.
 */
export function logConnection(client: HoldfastClient, log: string, who: string, stopping: () => boolean): void {
  client.on('disconnect', ({ code, reason, willReconnect }) => appendLine(log, { k: 'disconnect', who, code, reason, willReconnect, t: Date.now() }));
  client.on('state', ({ newState, code, reason, error }) => {
    if (newState !== 'closed' || stopping()) return;
    appendLine(log, { k: 'gave-up', who, code: code ?? null, reason: reason ?? '', error: String(error), t: Date.now() });
  });
}
