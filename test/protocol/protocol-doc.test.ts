import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, ErrorCode, isRetryableClose } from '../../src/protocol/index.js';
import { documentedCloseCodes, documentedErrorCodes, documentedStartErrorCodes, tableRows } from '../support/protocol-doc.js';

/** Lists what one side has and the other lacks, so a failure names the code to document or remove. */
function assertSameSet(code: Iterable<string | number>, doc: Iterable<string | number>, what: string): void {
  const inCode = new Set(code);
  const inDoc = new Set(doc);
  const undocumented = [...inCode].filter((value) => !inDoc.has(value));
  const unknown = [...inDoc].filter((value) => !inCode.has(value));
  assert.deepEqual({ undocumented, unknown }, { undocumented: [], unknown: [] }, `${what}: "undocumented" are in src/protocol/codes.ts only, "unknown" in the documentation only`);
}

function duplicates<T>(values: T[]): T[] {
  return values.filter((value, i) => values.indexOf(value) !== i);
}

/**
 * PROTOCOL.md is the contract (a code it does not list does not exist), so every code in
 * src/protocol/codes.ts is in its tables and every code in its tables is in codes.ts.
 */
describe('PROTOCOL.md and src/protocol/codes.ts agree', () => {
  it('documents every close code, and no other', () => {
    const rows = documentedCloseCodes();
    assert.deepEqual(duplicates(rows.map((row) => row.code)), [], 'a close code listed twice');
    assertSameSet(Object.values(CloseCode), rows.map((row) => row.code), 'close codes');
  });

  it("says for every close code whether the client retries, as the client's isRetryableClose decides", () => {
    for (const [code, , , retries] of tableRows('PROTOCOL.md', '## Close codes')) {
      assert.ok(retries === 'no' || retries?.startsWith('yes'), `close ${code}: "client retries" is "${retries}"`);
      assert.equal(isRetryableClose(Number(code)), retries !== 'no', `close ${code}: PROTOCOL.md says "${retries}"`);
    }
  });

  it('documents every error code once: the wire codes in PROTOCOL.md, the start-up codes in docs/store.md', () => {
    const wire = documentedErrorCodes().map((row) => row.code);
    const start = documentedStartErrorCodes().map((row) => row.code);
    assert.deepEqual(duplicates([...wire, ...start]), [], 'an error code listed twice (or in both files)');
    assertSameSet(Object.values(ErrorCode), [...wire, ...start], 'error codes');
  });

  it('names only documented close codes in the "where" column of the error codes', () => {
    const closes = new Set(documentedCloseCodes().map((row) => row.code));
    for (const { code, where } of documentedErrorCodes()) {
      for (const match of where.matchAll(/close (\d+)/g)) {
        assert.ok(closes.has(Number(match[1])), `${code} names close ${match[1]}, which the close-code table lacks`);
      }
    }
  });
});
