import { appendOk } from '../support/append.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { storeConformance } from './conformance.js';

const folder = mkdtempSync(join(tmpdir(), 'holdfast-sqlite-'));
after(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;

/** Each store gets its own file: the conformance suite needs isolated stores. */
storeConformance('sqlite', () => new SqliteStore({ file: join(folder, `conformance-${files++}.db`), deleteChunk: 7 }));

describe('SqliteStore', () => {
  it('keeps messages, heads and the epoch across reopening the file', async () => {
    const file = join(folder, 'reopen.db');
    const first = new SqliteStore({ file });
    await first.append([1, 2, 3].map((i) => ({ topic: 't', data: { i }, time: i })));
    await first.trim('t', { maxCount: 0 }, 10);
    await first.close();
    const second = new SqliteStore({ file });
    assert.equal(second.epoch, first.epoch, 'same history, same epoch');
    const info = await second.info('t');
    assert.deepEqual([info.head, info.first], [3, 4], 'offsets are never reused after a trim');
    const [outcome] = await appendOk(second, [{ topic: 't', data: 'four', time: 4 }]);
    assert.equal(outcome!.offset, 4);
    await second.close();
  });
});
