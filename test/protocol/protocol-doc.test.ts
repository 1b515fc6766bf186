import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULTS as CLIENT_DEFAULTS } from '../../src/client/options.js';
import { CloseCode, ErrorCode, isRetryableClose, PROTOCOL_DEFAULTS } from '../../src/protocol/index.js';
import { DEFAULT_LIMITS, DEFAULTS as SERVER_DEFAULTS } from '../../src/server/options.js';
import { documentedCloseCodes, documentedDefaults, documentedErrorCodes, documentedOptionDefault, documentedStartErrorCodes, tableRows } from '../support/protocol-doc.js';

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

/** PROTOCOL_DEFAULTS flattened to the names PROTOCOL.md's Defaults table uses (`heartbeat.interval`). */
function protocolDefaults(): Map<string, number> {
  const flat = new Map<string, number>();
  for (const [name, value] of Object.entries(PROTOCOL_DEFAULTS)) {
    if (typeof value === 'number') flat.set(name, value);
    else for (const [field, inner] of Object.entries(value)) flat.set(`${name}.${field}`, inner as number);
  }
  return flat;
}

/**
 * Each default both sides share is defined once, in src/protocol/defaults.ts: PROTOCOL.md states
 * it, the server's and the client's options take it, and their documentation says the same.
 */
describe('PROTOCOL.md and src/protocol/defaults.ts agree', () => {
  it('lists every protocol default, with its value, and no other', () => {
    const rows = documentedDefaults();
    assert.deepEqual(duplicates(rows.map((row) => row.setting)), [], 'a default listed twice');
    const code = protocolDefaults();
    assertSameSet(code.keys(), rows.map((row) => row.setting), 'defaults');
    for (const { setting, value } of rows) assert.equal(value, code.get(setting), `PROTOCOL.md says ${setting} is ${value}`);
  });

  it("gives the server's and the client's options the protocol's defaults", () => {
    const { dedupWindow, maxPayload, maxDepth, heartbeat, ackDelay, ackBatch } = PROTOCOL_DEFAULTS;
    assert.deepEqual(
      { dedupWindow: SERVER_DEFAULTS.dedupWindow, heartbeat: SERVER_DEFAULTS.heartbeat, ackDelay: SERVER_DEFAULTS.ackDelay, ackBatch: SERVER_DEFAULTS.ackBatch },
      { dedupWindow, heartbeat, ackDelay, ackBatch },
    );
    assert.deepEqual({ maxPayload: DEFAULT_LIMITS.maxPayload, maxDepth: DEFAULT_LIMITS.maxDepth }, { maxPayload, maxDepth });
    assert.deepEqual(
      { outboxMaxAge: CLIENT_DEFAULTS.outboxMaxAge, ackDelay: CLIENT_DEFAULTS.ackDelay, ackBatch: CLIENT_DEFAULTS.ackBatch },
      { outboxMaxAge: dedupWindow, ackDelay, ackBatch },
    );
  });

  it('has docs/server.md and docs/client.md state the same defaults', () => {
    const { dedupWindow, maxPayload, maxDepth, heartbeat, ackDelay, ackBatch } = PROTOCOL_DEFAULTS;
    const server = (option: string) => documentedOptionDefault('docs/server.md', '## Options', option);
    const client = (option: string) => documentedOptionDefault('docs/client.md', '## Options', option);
    assert.equal(server('`heartbeat`'), `\`{ interval: ${heartbeat.interval}, timeout: ${heartbeat.timeout} }\``);
    assert.equal(server('`dedupWindow`'), `\`${dedupWindow}\``);
    assert.equal(server('`ackDelay`, `ackBatch`'), `\`${ackDelay}\`, \`${ackBatch}\``);
    assert.equal(server('`limits.maxPayload`'), `\`${maxPayload}\``);
    assert.equal(server('`limits.maxDepth`'), `\`${maxDepth}\``);
    assert.equal(client('`outboxMaxAge`'), `\`${dedupWindow}\``);
    assert.equal(client('`ackDelay`, `ackBatch`'), `\`${ackDelay}\`, \`${ackBatch}\``);
  });
});
