/**
 * The attacker's side of each flood (bench/hostile/plans.ts). A flood returns once it stopped
 * sending, with its connections still open (a non-reader still not reading): the orchestrator
 * measures the server, then asks the attacker to leave. Every wait is bounded, and a connection
 * the server closed simply ends that connection's part.
 */
import { randomUUID } from 'node:crypto';
import type { AttackConfig } from './plans.js';
import type { AttackReport } from './figures.js';
import { mergeReports, RawClient } from './raw-client.js';

export interface FloodOutcome {
  report: AttackReport;
  clients: RawClient[];
}

/** Lets the orchestrator sample the server between two steps of a flood (kept-replies-acks). */
export type Phase = (name: string) => Promise<void>;

const text = (bytes: number, fill = 'x'): string => fill.repeat(bytes);
const frame = (value: object): string => JSON.stringify(value);

/**
 * Resolves once `done()` holds, the connection closed, or nothing moved for `quietMs`
 * (`progress()` unchanged): a defended server may stop answering, and the bench goes on.
 */
async function until(client: RawClient, done: () => boolean, progress: () => number, quietMs: number): Promise<void> {
  let last = progress();
  let movedAt = performance.now();
  while (!done() && !client.isClosed && performance.now() - movedAt < quietMs) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = progress();
    if (now !== last) [last, movedAt] = [now, performance.now()];
  }
}

/** Highest `ack.seq` seen, kept up to date. */
function ackWatcher(client: RawClient): { seq: number } {
  const state = { seq: 0 };
  client.onFrame((f) => {
    if (f.type === 'ack' && typeof f['seq'] === 'number') state.seq = Math.max(state.seq, f['seq']);
  });
  return state;
}

export async function runFlood(url: string, config: AttackConfig, phase: Phase): Promise<FloodOutcome> {
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  switch (config.kind) {
    case 'control': {
      // Subscribes to its own topic, publishes, requests, confirms everything: every usual path once.
      const client = await RawClient.greeted(url);
      const acks = ackWatcher(client);
      const replies = new Set<number>();
      let delivered = 0;
      client.onFrame((f) => {
        if (f.type === 'reply') replies.add(f['seq'] as number);
        else if (f.type === 'msg') delivered = Math.max(delivered, f['offset'] as number);
      });
      client.send(frame({ type: 'sub', topic: 'chat:control' }));
      await client.next((f) => f.type === 'subscribed', 5000);
      const data = text(100);
      let seq = 0;
      for (let i = 0; i < config.messages; i++) client.send(frame({ type: 'pub', topic: 'chat:control', data, seq: ++seq, id: randomUUID() }));
      for (let i = 0; i < config.messages; i++) client.send(frame({ type: 'req', seq: ++seq, id: randomUUID(), method: 'echo', data }));
      await until(client, () => acks.seq >= seq && replies.size >= config.messages, () => acks.seq + replies.size, 5000);
      client.send(frame({ type: 'ack', replies: [...replies], offsets: { 'chat:control': delivered } }));
      client.send(frame({ type: 'ping' }));
      await client.next((f) => f.type === 'pong', 5000);
      return { report: client.report(elapsed(), { acked: acks.seq, replies: replies.size, delivered }), clients: [client] };
    }
    case 'never-read-errors': {
      const client = await RawClient.greeted(url, false);
      // Over 256 characters: refused with INVALID_TOPIC, and the refusal names the topic.
      const name = text(config.topicBytes - 12, 't');
      await client.flood(config.durationMs, config.maxBytes, (i) => `{"type":"sub","topic":"${name}${i}"}`);
      return { report: client.report(elapsed()), clients: [client] };
    }
    case 'never-read-pongs': {
      const client = await RawClient.greeted(url, false);
      await client.flood(config.durationMs, config.maxBytes, () => '{"type":"ping"}');
      return { report: client.report(elapsed()), clients: [client] };
    }
    case 'never-read-replies': {
      const client = await RawClient.greeted(url, false);
      const data = text(config.dataBytes);
      await client.flood(config.durationMs, config.maxBytes, (i) => `{"type":"req","seq":${i + 1},"id":"${randomUUID()}","method":"echo","data":"${data}"}`);
      return { report: client.report(elapsed()), clients: [client] };
    }
    case 'never-read-acks': {
      const client = await RawClient.greeted(url, false);
      const data = text(config.dataBytes);
      await client.flood(config.durationMs, config.maxBytes, (i) => `{"type":"pub","topic":"chat:acks","seq":${i + 1},"id":"${randomUUID()}","data":"${data}"}`);
      return { report: client.report(elapsed()), clients: [client] };
    }
    case 'catchup-non-readers': {
      const clients: RawClient[] = [];
      for (let i = 0; i < config.subscribers; i++) {
        const client = await RawClient.greeted(url, false);
        client.send(frame({ type: 'sub', topic: config.topic, from: 'start' }));
        clients.push(client);
      }
      await new Promise((resolve) => setTimeout(resolve, config.holdMs));
      return { report: mergeReports(clients.map((c) => c.report(elapsed())), elapsed()), clients };
    }
    case 'kept-replies-acks': {
      const client = await RawClient.greeted(url);
      const acks = ackWatcher(client);
      const replies: number[] = [];
      client.onFrame((f) => f.type === 'reply' && replies.push(f['seq'] as number));
      const data = text(config.dataBytes);
      for (let seq = 1; seq <= config.requests && !client.isClosed; seq++) {
        await client.room();
        client.send(`{"type":"req","seq":${seq},"id":"${randomUUID()}","method":"echo","data":"${data}"}`);
      }
      await until(client, () => acks.seq >= config.requests, () => acks.seq + replies.length, 10_000);
      const kept = replies.length;
      await phase('ack-phase');
      // One frame per reply, each its own message about a millisecond apart, as a client confirming
      // replies one by one as they are handled: each may cost the server a save of the whole session.
      const framesBefore = client.framesSent;
      const end = performance.now() + config.ackPhaseMs;
      for (const seq of replies) {
        if (client.isClosed || performance.now() >= end) break;
        await client.room(end);
        client.send(`{"type":"ack","replies":[${seq}]}`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const ackFrames = client.framesSent - framesBefore;
      client.send(frame({ type: 'ping' }));
      await client.next((f) => f.type === 'pong', 60_000);
      return { report: client.report(elapsed(), { keptReplies: kept, ackFrames, acked: acks.seq }), clients: [client] };
    }
    case 'topic-flood': {
      const client = await RawClient.greeted(url);
      const data = text(config.dataBytes);
      await client.flood(config.durationMs, Infinity, (i) => `{"type":"pub","topic":"chat:${i}","data":"${data}"}`);
      // What the server read is processed before the pong: its refusals have arrived by then.
      client.send(frame({ type: 'ping' }));
      await client.next((f) => f.type === 'pong', 30_000);
      return { report: client.report(elapsed(), { topicsSent: client.framesSent - 2 }), clients: [client] };
    }
    case 'early-frames': {
      const client = await RawClient.open(url);
      client.send(frame({ type: 'hello', v: 1, auth: 'attacker' }));
      const data = text(config.frameBytes);
      await client.flood(config.durationMs, config.maxBytes, () => `{"type":"pub","topic":"chat:early","data":"${data}"}`);
      // Past the byte cap, the frames stay queued until authenticate answers: hold on until then.
      const left = config.durationMs - elapsed();
      if (left > 0) await Promise.race([client.closed, new Promise((resolve) => setTimeout(resolve, left))]);
      return { report: client.report(elapsed()), clients: [client] };
    }
    case 'bulk-reliable':
    case 'bulk-latest-keys': {
      const client = await RawClient.greeted(url);
      const acks = ackWatcher(client);
      const count = config.kind === 'bulk-reliable' ? config.messages : config.keys;
      const data = text(config.dataBytes);
      for (let seq = 1; seq <= count && !client.isClosed; seq++) {
        await client.room();
        const key = config.kind === 'bulk-latest-keys' ? `,"key":"k${seq}"` : '';
        client.send(`{"type":"pub","topic":"${config.topic}","seq":${seq},"id":"${randomUUID()}"${key},"data":"${data}"}`);
      }
      await until(client, () => acks.seq >= count, () => acks.seq, 10_000);
      return { report: client.report(elapsed(), { acked: acks.seq }), clients: [client] };
    }
  }
}
