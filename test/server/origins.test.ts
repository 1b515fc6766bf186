/** The origin rules behind the 403 of an upgrade and of the publish API (src/server/origins.ts). */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { isOriginEntry, LOOPBACK_ORIGINS, originAllowed, originMatches } from '../../src/server/origins.js';

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('originAllowed', () => {
  it('allows a request without Origin and a same-origin one, default ports and case included', () => {
    assert.equal(originAllowed(request({ host: 'a.example' }), undefined), true);
    const same: Array<[string, string]> = [
      ['http://a.example:8080', 'a.example:8080'],
      ['https://a.example', 'a.example'],
      ['https://a.example', 'a.example:443'],
      ['http://A.Example', 'a.example:80'],
      ['http://[::1]:3000', '[::1]:3000'],
    ];
    for (const [origin, host] of same) assert.equal(originAllowed(request({ origin, host }), undefined), true, `${origin} ${host}`);
  });

  it('refuses another host, port or an opaque origin unless the policy allows it', () => {
    const other: Array<[string, string]> = [
      ['http://a.example:8081', 'a.example:8080'],
      ['https://a.example', 'a.example:80'],
      ['http://evil.example', 'a.example'],
      ['null', 'a.example'],
      ['not a url', 'a.example'],
      ['http://a.example', ''],
    ];
    for (const [origin, host] of other) assert.equal(originAllowed(request({ origin, host }), undefined), false, `${origin} ${host}`);
    assert.equal(originAllowed(request({ origin: 'null', host: 'a' }), '*'), true);
    assert.equal(originAllowed(request({ origin: 'http://localhost:5173', host: 'a' }), LOOPBACK_ORIGINS), true);
    assert.equal(originAllowed(request({ origin: 'https://localhost:5173', host: 'a' }), LOOPBACK_ORIGINS), false, 'the scheme counts');
  });
});

describe('originMatches and isOriginEntry', () => {
  it('matches exact origins, any port with :*, and *', () => {
    assert.equal(originMatches('https://app.example', 'https://app.example:443'), true);
    assert.equal(originMatches('https://app.example:8443', 'https://app.example'), false);
    assert.equal(originMatches('http://127.0.0.1:9', 'http://127.0.0.1:*'), true);
    assert.equal(originMatches('http://127.0.0.2:9', 'http://127.0.0.1:*'), false);
    assert.equal(originMatches('https://sub.app.example', 'https://app.example'), false);
    assert.equal(originMatches('anything', '*'), true);
  });

  it('accepts origins and patterns only', () => {
    for (const entry of ['*', 'https://app.example', 'http://host:*', 'http://[::1]:*', ...LOOPBACK_ORIGINS]) assert.equal(isOriginEntry(entry), true, entry);
    for (const entry of ['app.example', 'https://app.example/', 'https://app.example/x', 'ftp://a.example', 'null', '']) assert.equal(isOriginEntry(entry), false, entry);
  });
});
