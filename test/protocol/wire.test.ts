import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, decodeClientFrame, decodeServerFrame, encodeFrame, ErrorCode, isRetryableClose, isValidTopic, jsonDepth, nestsDeeperThan, payloadSize, utf8Length } from '../../src/protocol/index.js';

const decode = (value: unknown) => decodeClientFrame(typeof value === 'string' ? value : JSON.stringify(value));

describe('wire: client frames', () => {
  it('accepts every well-formed frame of PROTOCOL.md', () => {
    const frames = [
      { type: 'hello', v: 1 },
      { type: 'hello', v: 1, auth: { token: 'x' }, resume: { session: 's', token: 't' } },
      { type: 'sub', topic: 'a' },
      { type: 'sub', topic: 'a', epoch: 'e', offset: 0 },
      { type: 'sub', topic: 'a', from: 'start' },
      { type: 'unsub', topic: 'a' },
      { type: 'pub', topic: 'a', data: null },
      { type: 'pub', topic: 'a', data: { x: 1 }, key: 'k', seq: 1, id: 'i' },
      { type: 'req', seq: 3, id: 'i', method: 'm', data: [1] },
      { type: 'ack', offsets: { a: 3 }, replies: [1, 2] },
      { type: 'ack' },
      { type: 'ping' },
      { type: 'pong' },
    ];
    for (const frame of frames) assert.deepEqual(decode(frame), { ok: true, frame }, JSON.stringify(frame));
  });

  it('calls text that is not a JSON object with a type MALFORMED_FRAME', () => {
    for (const text of ['{nope', '[]', '42', 'null', '"hello"', '{"v":1}', '{"type":5}']) {
      const result = decode(text);
      assert.equal(result.ok, false, text);
      assert.equal(!result.ok && result.code, ErrorCode.MalformedFrame, text);
    }
  });

  it('calls an unknown type UNKNOWN_FRAME_TYPE, including inherited property names', () => {
    for (const type of ['frobnicate', 'toString', '__proto__', 'constructor']) {
      const result = decode({ type });
      assert.equal(!result.ok && result.code, ErrorCode.UnknownFrameType, type);
    }
  });

  it('calls a known frame with wrong fields INVALID_FRAME and says which field', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ type: 'hello' }, /v is required/],
      [{ type: 'hello', v: '1' }, /v must be a non-negative integer/],
      [{ type: 'hello', v: 1, resume: { session: 1 } }, /resume/],
      [{ type: 'sub' }, /topic is required/],
      [{ type: 'sub', topic: 'a', offset: -1 }, /offset/],
      [{ type: 'sub', topic: 'a', offset: 1.5 }, /offset/],
      [{ type: 'sub', topic: 'a', from: 'yesterday' }, /from must be one of/],
      [{ type: 'pub', topic: 'a' }, /data is required/],
      [{ type: 'pub', topic: 'a', data: 1, seq: 1 }, /seq and id must come together/],
      [{ type: 'pub', topic: 'a', data: 1, seq: 0, id: 'x' }, /seq starts at 1/],
      [{ type: 'req', seq: 1, id: 'x', data: 1 }, /method is required/],
      [{ type: 'ack', offsets: { a: 'x' } }, /offsets/],
      [{ type: 'ack', replies: 'x' }, /replies/],
    ];
    for (const [frame, reason] of cases) {
      const result = decode(frame);
      assert.equal(!result.ok && result.code, ErrorCode.InvalidFrame, JSON.stringify(frame));
      assert.match(!result.ok ? result.message : '', reason);
    }
  });
});

describe('wire: server frames', () => {
  it('validates what a client receives', () => {
    assert.equal(decodeServerFrame('{"type":"ack","seq":3}').ok, true);
    assert.equal(decodeServerFrame('{"type":"ack"}').ok, false);
    assert.equal(decodeServerFrame('{"type":"reply","seq":1,"ok":false}').ok, false);
    assert.equal(decodeServerFrame('{"type":"msg","topic":"t","data":1,"offset":4}').ok, true);
  });

  it('encodes a frame as one line that decodes to the same frame', () => {
    const frame = { type: 'msg' as const, topic: 't', data: { text: 'two\nlines' }, offset: 4 };
    const text = encodeFrame(frame);
    assert.equal(text.includes('\n'), false);
    assert.deepEqual(decodeServerFrame(text), { ok: true, frame });
  });
});

describe('sizes, topics and close codes', () => {
  it('counts UTF-8 bytes like Buffer.byteLength', () => {
    for (const text of ['', 'abc', 'é', '€', '😀', 'a😀b€é', '\u0000']) {
      assert.equal(utf8Length(text), Buffer.byteLength(text), text);
    }
    assert.equal(payloadSize({ a: 'é' }), Buffer.byteLength(JSON.stringify({ a: 'é' })));
  });

  it('checks topic names', () => {
    assert.ok(isValidTopic('chat:lobby'));
    assert.ok(isValidTopic('x'.repeat(256)));
    for (const bad of ['', 'x'.repeat(257), 'a\nb', 'a\u0000', 5, null]) assert.equal(isValidTopic(bad), false, String(bad));
    // Names that display as other names or break logs: C1 controls, bidi marks, separators, BOM.
    for (const bad of ['chat:\u202enimda', 'a\u2066b', 'a\u200fb', 'a\u061cb', 'a\u0085b', 'a\u009fb', 'a\u2028b', '\ufeffchat']) {
      assert.equal(isValidTopic(bad), false, JSON.stringify(bad));
    }
    // Lone surrogates are not text (a UTF-8 store would change them); a pair is a character.
    for (const bad of ['a\ud800', '\udc00a', 'a\udc00\ud800b']) assert.equal(isValidTopic(bad), false, JSON.stringify(bad));
    assert.ok(isValidTopic('chat:\ud83d\ude00')); // 😀
    assert.ok(isValidTopic('chat:日本語:ünïcödé'));
  });

  it('retries every close code except the final ones', () => {
    assert.equal(CloseCode.SlowConsumer, 4413);
    for (const code of [1000, 4400, 4401, 4426]) assert.equal(isRetryableClose(code), false, String(code));
    for (const code of [1001, 1006, 1009, 1012, 4001, 4408, 4409, 4413, 4429, 4500, 4503, 3000, 4999]) assert.equal(isRetryableClose(code), true, String(code));
  });
});

describe('json: nestsDeeperThan', () => {
  it('agrees with jsonDepth, with or without brackets inside strings', () => {
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    const texts = [
      '1',
      '{"a":"{{{{{{[[[["}',
      JSON.stringify({ a: [1, { b: [2, { c: 3 }] }], s: '[{[{' }),
      nested(3),
      nested(4),
      nested(5),
      `{"x":${nested(4)},"y":"]]]]"}`,
      `[${'{},'.repeat(20)}{}]`,
    ];
    for (const text of texts) {
      for (const limit of [0, 1, 2, 3, 4, 5, 6]) {
        assert.equal(nestsDeeperThan(text, limit), jsonDepth(text, limit) > limit, `${text} / ${limit}`);
      }
    }
  });
});
