import type { Cursor, KeptReply, RequestOutcome, SessionRecord, SessionState, StoreEvent, StoredMessage } from '../types.js';

/** A stream entry as XRANGE returns it: its ID and its fields, name then value. */
export type StreamEntry = [id: string, fields: string[]];

/** Data as stored and published: its JSON (undefined is stored as null). */
export const encodeData = (data: unknown): string => JSON.stringify(data ?? null) ?? 'null';

export function decodeEntry(topic: string, [id, fields]: StreamEntry): StoredMessage {
  let data = 'null';
  let time = 0;
  let key: string | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    const value = fields[i + 1]!;
    if (fields[i] === 'd') data = value;
    else if (fields[i] === 't') time = Number(value);
    else if (fields[i] === 'k') key = value;
  }
  const offset = Number(id.slice(0, id.indexOf('-')));
  const parsed: unknown = JSON.parse(data);
  return key === undefined ? { topic, offset, data: parsed, time } : { topic, offset, data: parsed, key, time };
}

/** A message on a topic's channel: an append (published by the append script) or a volatile message. */
export function decodeTopicEvent(topic: string, payload: string): StoreEvent {
  const body = JSON.parse(payload) as { e: string; m: Array<[number, number, unknown, string?]> } | { v: { topic: string; data: unknown; key?: string } };
  if ('v' in body) return { kind: 'volatile', message: body.v };
  return {
    kind: 'appended',
    topic,
    epoch: body.e,
    messages: body.m.map(([offset, time, data, key]) => (key === undefined ? { topic, offset, data, time } : { topic, offset, data, key, time })),
  };
}

/** A message on an instance's own channel: a session taken over, or a request finished. */
export function decodeInstanceEvent(payload: string): StoreEvent {
  const body = JSON.parse(payload) as { s: [string, number] } | { r: [string, RequestOutcome] };
  if ('s' in body) return { kind: 'session', id: body.s[0], version: body.s[1] };
  return { kind: 'request', key: body.r[0], outcome: body.r[1] };
}

/**
 * A session's hash: i identity (JSON), h tokenHash, p previousTokenHash, x expiresAt, v version,
 * q lastSeq, a doneAbove (JSON), o the instance holding it, `c:<topic>` a cursor (JSON).
 */
export function sessionFields(state: SessionState, holder: string): string[] {
  const fields = ['i', JSON.stringify(state.identity), 'h', state.tokenHash, 'x', String(state.expiresAt), 'v', String(state.version)];
  if (state.previousTokenHash !== undefined) fields.push('p', state.previousTokenHash);
  fields.push('q', String(state.lastSeq), 'a', JSON.stringify(state.doneAbove), 'o', holder);
  for (const [topic, cursor] of Object.entries(state.cursors)) fields.push(`c:${topic}`, encodeCursor(cursor));
  return fields;
}

export const encodeCursor = (cursor: Cursor): string => JSON.stringify({ epoch: cursor.epoch, offset: cursor.offset });

export function decodeSession(id: string, state: string[], replies: string[]): SessionRecord {
  const record: SessionRecord = { id, identity: null, tokenHash: '', expiresAt: 0, version: 0, lastSeq: 0, doneAbove: [], cursors: {}, replies: [] };
  for (let i = 0; i < state.length; i += 2) {
    const [name, value] = [state[i]!, state[i + 1]!];
    if (name.startsWith('c:')) record.cursors[name.slice(2)] = JSON.parse(value) as Cursor;
    else if (name === 'i') record.identity = JSON.parse(value) as string | null;
    else if (name === 'h') record.tokenHash = value;
    else if (name === 'p') record.previousTokenHash = value;
    else if (name === 'x') record.expiresAt = Number(value);
    else if (name === 'v') record.version = Number(value);
    else if (name === 'q') record.lastSeq = Number(value);
    else if (name === 'a') record.doneAbove = JSON.parse(value) as number[];
  }
  for (let i = 1; i < replies.length; i += 2) record.replies.push(JSON.parse(replies[i]!) as KeptReply);
  record.replies.sort((a, b) => a.seq - b.seq);
  return record;
}
