import fc from 'fast-check';

/**
 * Generators of the bytes a hostile or broken HTTP client sends: request lines and headers around
 * a WebSocket upgrade (broken request-targets, wrong versions, missing or wrong keys, paths other
 * than the endpoint, absurd header sizes), mutated, or random bytes.
 */

const target: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('/holdfast', '/holdfast?x=1', '/holdfast/', '/HOLDFAST', '/', '/index.html', '/config.json', '/api/publish', '/lib/browser/x.js') },
  // Some no URL parser accepts (http://[, //, http://), some odd but valid.
  { weight: 4, arbitrary: fc.constantFrom('http://[', 'http://[::1', '//', '///', 'http://', 'http://a b/', 'http://[::1]/holdfast', '*', 'holdfast', '/%', '/%zz', '/\u0000', '/holdfast#x', 'ws://x/holdfast', ':') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 20_000 }).map((n) => `/${'a'.repeat(n)}`) },
);

const method = fc.oneof({ weight: 6, arbitrary: fc.constant('GET') }, { weight: 2, arbitrary: fc.constantFrom('POST', 'HEAD', 'PUT', 'OPTIONS', 'CONNECT', 'DELETE', 'PRI') }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) });

const version = fc.oneof({ weight: 6, arbitrary: fc.constant('HTTP/1.1') }, { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/1.1 x', '', 'FOO/1.1', 'HTTP/1.1\r') });

/** A header line's parts, or absent (null). */
type Header = [name: string, value: string] | null;

/** A header that is usually present with a sensible value, sometimes with an odd one, sometimes absent. */
const header = (name: string, usual: string, odd: string[], absent = 1): fc.Arbitrary<Header> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant<Header>([name, usual]) },
    { weight: 2, arbitrary: fc.constantFrom(...odd).map((value): Header => [name, value]) },
    { weight: absent, arbitrary: fc.constant(null) },
  );

/** An optional header: absent unless the case picks one of its values. */
const rare = (name: string, values: string[]): fc.Arbitrary<Header> =>
  fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...values).map((value): Header => [name, value]) });

const upgradeHeaders: fc.Arbitrary<Header[]> = fc.tuple(
  header('Host', '127.0.0.1', ['', 'x'.repeat(300), '[', 'a b']),
  // Node hands a request to the 'upgrade' listeners only with both Upgrade and Connection: upgrade.
  header('Upgrade', 'websocket', ['WebSocket', 'h2c', '', 'websocket, h2c']),
  header('Connection', 'Upgrade', ['keep-alive, Upgrade', 'close', '', 'upgrade, upgrade']),
  header('Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==', ['', 'abc', '!!!!!!!!!!!!!!!!!!!!!!!=', 'dGhlIHNhbXBsZSBub25jZQ==, x']),
  header('Sec-WebSocket-Version', '13', ['8', 'x', '13, 8', '', '-13']),
  rare('Sec-WebSocket-Extensions', ['permessage-deflate', 'x; y=', ';;;']),
  rare('Sec-WebSocket-Protocol', ['holdfast', '', ',,,']),
  rare('Content-Length', ['0', '5', '-1', 'x', '99999999999999999999']),
  rare('Transfer-Encoding', ['chunked', 'gzip, chunked', 'x']),
);

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,11}$/);

const extraHeaders: fc.Arbitrary<Header[]> = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.tuple(token, fc.string({ maxLength: 30 })), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 30 })), { minLength: 1, maxLength: 3 }) },
  // Past Node's 16 KiB header limit: one huge header, or very many.
  { weight: 1, arbitrary: fc.integer({ min: 8_000, max: 40_000 }).map((n): Header[] => [['X-Huge', 'a'.repeat(n)]]) },
  { weight: 1, arbitrary: fc.integer({ min: 50, max: 3000 }).map((n): Header[] => Array.from({ length: n }, (_, i): Header => [`X-${i}`, 'v'])) },
);

/** A request with its parts chosen at random, written with CRLF or bare LF line ends. */
const request: fc.Arbitrary<string> = fc
  .record({ method, target, version, headers: upgradeHeaders, extra: extraHeaders, body: fc.string({ maxLength: 40 }), eol: fc.constantFrom('\r\n', '\r\n', '\r\n', '\n') })
  .map(({ method, target, version, headers, extra, body, eol }) => {
    const lines = [`${method} ${target} ${version}`, ...[...headers, ...extra].filter((h): h is [string, string] => h !== null).map(([name, value]) => `${name}: ${value}`)];
    return `${lines.join(eol)}${eol}${eol}${body}`;
  });

/**
 * The bytes one socket sends, as a latin1 string (one character per byte, so a counterexample
 * reads as the request it is): a request, one cut short or with bytes spliced in, or random bytes.
 */
export const requestBytes: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: request },
  { weight: 2, arbitrary: fc.tuple(request, fc.nat()).map(([text, cut]) => text.slice(0, cut % (text.length + 1))) },
  {
    weight: 1,
    arbitrary: fc.tuple(request, fc.nat(), latin1(1, 16)).map(([text, at, bytes]) => {
      const i = at % (text.length + 1);
      return text.slice(0, i) + bytes + text.slice(i);
    }),
  },
  { weight: 1, arbitrary: latin1(0, 2000) },
);

function latin1(minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.uint8Array({ minLength, maxLength }).map((bytes) => Buffer.from(bytes).toString('latin1'));
}

/** One case: the bytes of a few sockets, each sent (then its writing side ended) at once. */
export const requestBurst: fc.Arbitrary<string[]> = fc.array(requestBytes, { minLength: 1, maxLength: 4 });
