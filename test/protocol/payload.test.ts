import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkPayload, encodeFrame, ErrorCode, framedPayloadError, measurePayload, payloadError, type PayloadLimits } from '../../src/protocol/index.js';

const limits: PayloadLimits = { maxPayload: 40, maxDepth: 3 };
const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);
const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;

/** Payloads around every limit, with the verdict the protocol gives (PROTOCOL.md, Transport). */
const cases: Array<[what: string, data: unknown, code: string | undefined]> = [
  ['null', null, undefined],
  ['a number', 42, undefined],
  ['3 levels', nested(3), undefined],
  ['4 levels', nested(4), ErrorCode.InvalidPayload],
  ['brackets inside a string', { s: '[[[[[[[[' }, undefined],
  ['40 bytes', 'x'.repeat(38), undefined],
  ['41 bytes', 'x'.repeat(39), ErrorCode.PayloadTooLarge],
  ['40 bytes of 2-byte characters', 'é'.repeat(19), undefined],
  ['42 bytes of 2-byte characters', 'é'.repeat(20), ErrorCode.PayloadTooLarge],
  ['40 bytes with a surrogate pair', `${'x'.repeat(34)}😀`, undefined],
  ['41 bytes with a surrogate pair', `${'x'.repeat(35)}😀`, ErrorCode.PayloadTooLarge],
];

describe('payload: one verdict, however it is asked', () => {
  it('payloadError, checkPayload and framedPayloadError agree on every case', () => {
    for (const [what, data, code] of cases) {
      assert.equal(payloadError(data, limits)?.code, code, `payloadError: ${what}`);
      const checked = checkPayload(data, limits);
      assert.equal(typeof checked === 'number' ? undefined : checked.code, code, `checkPayload: ${what}`);
      if (typeof checked === 'number') assert.equal(checked, Buffer.byteLength(JSON.stringify(data)), `checkPayload bytes: ${what}`);
      const frame = encodeFrame({ type: 'pub', topic: 't', data, seq: 1, id: 'i' });
      assert.equal(framedPayloadError(data, frame, limits)?.code, code, `framedPayloadError: ${what}`);
    }
  });

  it('refuses what JSON cannot hold, and lets undefined travel (as null)', () => {
    for (const data of [10n, cyclic]) {
      assert.equal(payloadError(data, limits)?.code, ErrorCode.InvalidPayload);
      const checked = checkPayload(data, limits);
      assert.equal(typeof checked !== 'number' && checked.code, ErrorCode.InvalidPayload);
    }
    assert.equal(payloadError(undefined, limits), undefined);
    assert.equal(checkPayload(undefined, limits), 0);
  });

  it('counts the bytes of data, not of the frame around it', () => {
    // The frame is over 40 bytes, its data is not: the frame's own fields do not count.
    const data = 'x'.repeat(38);
    const frame = encodeFrame({ type: 'pub', topic: 'a-long-topic-name', data, seq: 1, id: 'some-id' });
    assert.ok(Buffer.byteLength(frame) > limits.maxPayload);
    assert.equal(framedPayloadError(data, frame, limits), undefined);
  });

  it('says which limit, and how far over', () => {
    assert.equal(payloadError(nested(4), limits)?.message, 'data nests deeper than 3 levels');
    assert.equal(payloadError('x'.repeat(39), limits)?.message, 'data is 41 bytes; the limit is 40 bytes');
  });

  it('gives the verdict of a full measurement, for any JSON value and any limits', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 6 }), (data, maxPayload, maxDepth) => {
        const measure = measurePayload(data)!;
        const expected = measure.depth > maxDepth ? ErrorCode.InvalidPayload : measure.bytes > maxPayload ? ErrorCode.PayloadTooLarge : undefined;
        const frame = encodeFrame({ type: 'req', seq: 1, id: 'i', method: 'm', data });
        assert.equal(payloadError(data, { maxPayload, maxDepth })?.code, expected);
        assert.equal(framedPayloadError(data, frame, { maxPayload, maxDepth })?.code, expected);
      }),
    );
  });
});
