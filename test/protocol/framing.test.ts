import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forEachFrame, FrameWriter, MAX_BATCH_BYTES, MAX_BATCH_FRAMES } from '../../src/protocol/index.js';

const frames = (message: string): string[] => {
  const out: string[] = [];
  forEachFrame(message, (text) => void out.push(text));
  return out;
};

/** A writer whose messages are recorded; `settle` lets the end-of-tick flush run. */
function recorder(): { writer: FrameWriter; messages: string[] } {
  const messages: string[] = [];
  return { writer: new FrameWriter((message) => messages.push(message)), messages };
}
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('framing: several frames per message', () => {
  it('splits a message at line feeds, in order; a message without one is one frame', () => {
    assert.deepEqual(frames('{"type":"ping"}'), ['{"type":"ping"}']);
    assert.deepEqual(frames('{"type":"ping"}\n{"type":"pong"}\n{"a":"x\\ny"}'), ['{"type":"ping"}', '{"type":"pong"}', '{"a":"x\\ny"}']);
  });

  it('keeps empty lines as (malformed) empty frames instead of skipping them', () => {
    assert.deepEqual(frames('\n'), ['', '']);
    assert.deepEqual(frames('{"type":"ping"}\n'), ['{"type":"ping"}', '']);
    assert.deepEqual(frames(''), ['']);
  });

  it('stops when the callback returns false', () => {
    const seen: string[] = [];
    forEachFrame('a\nb\nc', (text) => {
      seen.push(text);
      return text !== 'b';
    });
    assert.deepEqual(seen, ['a', 'b']);
  });

  it('writes the first frame of a tick at once and joins the rest at the end of the tick', async () => {
    const { writer, messages } = recorder();
    writer.send('{"n":1}');
    assert.deepEqual(messages, ['{"n":1}']);
    writer.send('{"n":2}');
    writer.send('{"n":3}');
    assert.equal(messages.length, 1, 'the rest wait for the end of the tick');
    assert.equal(writer.bufferedBytes, '{"n":2}\n{"n":3}'.length);
    await settle();
    assert.deepEqual(messages, ['{"n":1}', '{"n":2}\n{"n":3}']);
    assert.equal(writer.bufferedBytes, 0);
    writer.send('{"n":4}');
    assert.deepEqual(messages.at(-1), '{"n":4}', 'a new tick starts at once again');
  });

  it(`puts at most ${MAX_BATCH_FRAMES} frames in one message`, async () => {
    const { writer, messages } = recorder();
    const total = 1 + MAX_BATCH_FRAMES * 2 + 3;
    for (let i = 0; i < total; i++) writer.send(`{"n":${i}}`);
    await settle();
    assert.deepEqual(
      messages.map((message) => frames(message).length),
      [1, MAX_BATCH_FRAMES, MAX_BATCH_FRAMES, 3],
    );
    assert.deepEqual(messages.flatMap(frames), Array.from({ length: total }, (_, i) => `{"n":${i}}`), 'order kept');
  });

  it(`keeps a message of several frames within ${MAX_BATCH_BYTES} bytes of UTF-8; a larger frame goes alone`, async () => {
    const { writer, messages } = recorder();
    const third = 'é'.repeat(Math.floor(MAX_BATCH_BYTES / 6) + 1); // 2 bytes a character: just over a third of the limit
    const big = 'x'.repeat(MAX_BATCH_BYTES + 10);
    writer.send('first');
    for (let i = 0; i < 4; i++) writer.send(third);
    writer.send(big);
    writer.send('last');
    await settle();
    const sizes = messages.map((message) => Buffer.byteLength(message));
    assert.deepEqual(messages.map((message) => frames(message).length), [1, 2, 2, 1, 1]);
    for (const [i, message] of messages.entries()) {
      if (frames(message).length > 1) assert.ok(sizes[i]! <= MAX_BATCH_BYTES, `message ${i}: ${sizes[i]} bytes`);
    }
    assert.equal(messages[3], big);
    assert.equal(messages[4], 'last');
  });

  it('flush writes waiting frames now; discard forgets them', async () => {
    const { writer, messages } = recorder();
    writer.send('a');
    writer.send('b');
    writer.flush();
    assert.deepEqual(messages, ['a', 'b']);
    writer.send('c');
    writer.discard();
    assert.equal(writer.bufferedBytes, 0);
    await settle();
    assert.deepEqual(messages, ['a', 'b'], 'nothing written after discard');
  });
});
