import fc from 'fast-check';
import type { FuzzMessage } from './fuzz-peer.js';

/**
 * Generators of what a hostile or broken client sends: the frames of PROTOCOL.md with random
 * fields, then mutated (wrong types, missing fields, huge or deep values, garbage JSON, binary),
 * joined several to a message. Small pools of topics, seqs and ids make frames of one run meet
 * (a reused seq, a resent id, a sub then a pub on the same topic).
 */

/** Topics of the fuzz server (see FUZZ_TOPICS), names it does not serve, and names it must refuse. */
const topic: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('chat:a', 'chat:b', 'last:a', 'tick:a') },
  { weight: 1, arbitrary: fc.constantFrom('elsewhere', '', 'x'.repeat(257), 'bad\u0000name', 'chat:\n') },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);

/** Seqs that meet each other within a run (resends, reuses, gaps) and stay within maxSeqAhead. */
const seq: fc.Arbitrary<number> = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 8 }) }, { weight: 1, arbitrary: fc.integer({ min: 9, max: 40 }) });

const id: fc.Arbitrary<string> = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('id-a', 'id-b', 'id-c') }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) });

/** Field values decodeClientFrame must refuse (INVALID_FRAME, close 4400). */
const badSeq = fc.constantFrom(0, -1, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 51, 200, 1e9);
const badString = fc.constantFrom('x'.repeat(257), 'é'.repeat(300));

/** Application data: small JSON, big strings (around and past maxPayload), deep nesting. */
const data: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 6000 }).map((n) => 'é'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }).map(nested) },
);

function nested(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { v: value };
  return value;
}

const method = fc.constantFrom('echo', 'refuse', 'nope', '__proto__', 'constructor', 'toString');

const hello = fc.record(
  { type: fc.constant('hello'), v: fc.constant(1), resume: fc.record({ session: fc.string({ maxLength: 30 }), token: fc.string({ maxLength: 30 }) }) },
  { requiredKeys: ['type', 'v'] },
);
const sub = fc.record(
  { type: fc.constant('sub'), topic, epoch: fc.string({ maxLength: 10 }), offset: fc.nat(50), from: fc.constantFrom('now', 'start') },
  { requiredKeys: ['type', 'topic'] },
);
const ack = fc.record(
  { type: fc.constant('ack'), offsets: fc.dictionary(topic, fc.integer({ min: -5, max: 100 }), { maxKeys: 3 }), replies: fc.array(seq, { maxLength: 4 }) },
  { requiredKeys: ['type'] },
);

/** Well-formed frames of every client type but hello (a second hello ends the connection: see frameText). */
export const wellFormedFrame: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 4, arbitrary: sub },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('unsub'), topic }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('pub'), topic, data, key: fc.string({ maxLength: 8 }) }, { requiredKeys: ['type', 'topic', 'data'] }) },
  { weight: 6, arbitrary: fc.record({ type: fc.constant('pub'), topic, data, seq, id }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('req'), seq, id, method, data }) },
  { weight: 3, arbitrary: ack },
  { weight: 2, arbitrary: fc.constantFrom({ type: 'ping' }, { type: 'pong' }, { type: 'teleport', to: 'mars' }) },
);

/** A frame with one field broken: dropped, of a random type, or the frame's type changed. */
const brokenFrame: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(wellFormedFrame, fc.nat(), fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('drop', 'retype', 'rename'))
  .map(([frame, pick, value, how]) => {
    const keys = Object.keys(frame);
    const key = keys[pick % keys.length]!;
    const broken: Record<string, unknown> = { ...frame };
    if (how === 'drop') delete broken[key];
    else if (how === 'retype') broken[key] = value;
    else broken.type = typeof value === 'string' ? value : 'hello';
    return broken;
  });

/** Frames of a known type with a field decodeClientFrame refuses: a seq out of range, a key, id or method too long. */
const invalidFieldFrame: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ type: fc.constant('pub'), topic, data, seq: badSeq, id }),
  fc.record({ type: fc.constant('req'), seq: badSeq, id, method, data }),
  fc.record({ type: fc.constant('req'), seq, id: badString, method, data }),
  fc.record({ type: fc.constant('req'), seq, id, method: badString, data }),
  fc.record({ type: fc.constant('pub'), topic, data, key: badString }),
);

/** The text of one frame, sometimes not a frame at all: a JSON non-object, cut-off JSON, raw deep nesting. */
export const frameText: fc.Arbitrary<string> = fc.oneof(
  { weight: 24, arbitrary: wellFormedFrame.map((frame) => JSON.stringify(frame)) },
  { weight: 3, arbitrary: brokenFrame.map((frame) => JSON.stringify(frame)) },
  { weight: 2, arbitrary: invalidFieldFrame.map((frame) => JSON.stringify(frame)) },
  { weight: 1, arbitrary: hello.map((frame) => JSON.stringify(frame)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.tuple(wellFormedFrame, fc.nat()).map(([frame, cut]) => JSON.stringify(frame).slice(0, 1 + (cut % 20))) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('pub', 'req', 'sub'), fc.integer({ min: 10, max: 100_000 }))
      .map(([type, depth]) => `{"type":"${type}","topic":"chat:a","seq":1,"id":"deep","method":"echo","data":${'['.repeat(depth)}${']'.repeat(depth)}}`),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

export interface AttackOptions {
  /**
   * Also send text messages whose bytes may not be UTF-8. The WebSocket layer closes those with
   * 1007, a code PROTOCOL.md does not list yet: off in `npm test` until it does (test/fuzz/README.md).
   */
  invalidUtf8: boolean;
}

/** Well-formed frames joined to one message: the hub processes all of them (or refuses some, staying open). */
const cleanMessage: fc.Arbitrary<FuzzMessage> = fc
  .array(wellFormedFrame.map((frame) => JSON.stringify(frame)), { minLength: 1, maxLength: 4 })
  .map((texts) => ({ kind: 'text', text: texts.join('\n') }));

/** A message that is probably wrong somewhere: frames of any kind joined, empty lines, too big, binary, maybe not UTF-8. */
function hostileMessage(options: AttackOptions): fc.Arbitrary<FuzzMessage> {
  const kinds: Array<fc.WeightedArbitrary<FuzzMessage>> = [
    { weight: 10, arbitrary: fc.array(frameText, { minLength: 1, maxLength: 4 }).map((texts): FuzzMessage => ({ kind: 'text', text: texts.join('\n') })) },
    { weight: 1, arbitrary: fc.constantFrom<FuzzMessage>({ kind: 'text', text: '' }, { kind: 'text', text: '\n' }, { kind: 'text', text: '{"type":"ping"}\n\n{"type":"ping"}' }) },
    { weight: 1, arbitrary: fc.integer({ min: 70 * 1024, max: 80 * 1024 }).map((n): FuzzMessage => ({ kind: 'text', text: `{"type":"pub","topic":"chat:a","data":"${'x'.repeat(n)}"}` })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): FuzzMessage => ({ kind: 'binary', bytes })) },
  ];
  if (options.invalidUtf8) kinds.push({ weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): FuzzMessage => ({ kind: 'raw-text', bytes })) });
  return fc.oneof(...kinds);
}

const HELLO: FuzzMessage = { kind: 'text', text: '{"type":"hello","v":1}' };

/**
 * What one connection sends: mostly a hello first (so the frames after it reach the hub), then
 * either well-formed messages with at most one hostile message among them (most hostile messages
 * end the connection, so one goes last-ish and the frames before it get deep into the hub), or
 * hostile messages only.
 */
function attackerScript(options: AttackOptions): fc.Arbitrary<FuzzMessage[]> {
  const greeted = (greet: number, rest: FuzzMessage[]) => (greet === 0 ? rest : [HELLO, ...rest]);
  const mostlyClean = fc
    .tuple(fc.nat(3), fc.array(cleanMessage, { maxLength: 10 }), fc.option(hostileMessage(options), { freq: 2 }), fc.nat())
    .map(([greet, clean, poison, at]) => {
      const rest = [...clean];
      if (poison !== null) rest.splice(at % (rest.length + 1), 0, poison);
      return greeted(greet, rest);
    });
  const hostile = fc.tuple(fc.nat(3), fc.array(hostileMessage(options), { maxLength: 8 })).map(([greet, rest]) => greeted(greet, rest));
  return fc.oneof({ weight: 3, arbitrary: mostlyClean }, { weight: 1, arbitrary: hostile });
}

/** One case: a few connections, each with its script. */
export function attack(options: AttackOptions): fc.Arbitrary<FuzzMessage[][]> {
  return fc.array(attackerScript(options), { minLength: 1, maxLength: 3 });
}

/** The server's topics for frame fuzzing: one of each mode. */
export const FUZZ_TOPICS = {
  'chat:*': { mode: 'reliable' },
  'last:*': { mode: 'latest' },
  'tick:*': { mode: 'volatile' },
} as const;
