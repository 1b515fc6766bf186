/**
 * Measuring JSON text the way the protocol's limits count it: `maxPayload` in UTF-8 bytes,
 * `maxDepth` in levels of arrays and objects (PROTOCOL.md, Transport).
 */

/** UTF-8 byte length of a string, without allocating (works the same in browsers and Node). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x7f) continue;
    // Each half of a surrogate pair is one code unit of a 4-byte sequence: 2 more bytes each.
    bytes += c <= 0x7ff || (c >= 0xd800 && c <= 0xdfff) ? 1 : 2;
  }
  return bytes;
}

/** UTF-8 size of a value's JSON, as the payload limit counts it. Throws for what JSON cannot hold. */
export function payloadSize(data: unknown): number {
  const text = JSON.stringify(data);
  return text === undefined ? 0 : utf8Length(text);
}

/**
 * How deeply arrays and objects nest in JSON text, counting stops just past `limit`. A linear scan
 * that skips string contents; it exists because JSON.parse accepts any depth while JSON.stringify
 * throws on values nested a few thousand levels deep, and the server must re-encode what it stores.
 */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \\ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return deepest;
}

/**
 * Whether JSON text nests arrays and objects deeper than `limit`. Each level needs an opening
 * bracket, so text with at most `limit` of them cannot, and counting them takes a few native
 * `indexOf` scans where jsonDepth walks every character in JavaScript: the server checks every
 * frame it receives, and almost none come near the limit.
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let brackets = 0;
  for (let i = text.indexOf('{'); i !== -1 && brackets <= limit; i = text.indexOf('{', i + 1)) brackets++;
  for (let i = text.indexOf('['); i !== -1 && brackets <= limit; i = text.indexOf('[', i + 1)) brackets++;
  return brackets > limit && jsonDepth(text, limit) > limit;
}

export interface PayloadMeasure {
  bytes: number;
  depth: number;
}

/**
 * Size and nesting of `data`, or undefined when JSON cannot represent it (BigInt, cycles).
 * Deciding whether a payload may travel is `payloadError`'s (payload.ts); this only measures.
 */
export function measurePayload(data: unknown, depthLimit = Infinity): PayloadMeasure | undefined {
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch {
    return undefined;
  }
  return text === undefined ? { bytes: 0, depth: 0 } : { bytes: utf8Length(text), depth: jsonDepth(text, depthLimit) };
}
