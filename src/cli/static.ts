import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';

/** Content types of the files the standalone server ships (demo page, built client, source maps). */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
};

/**
 * The demo page's Content-Security-Policy: its own scripts, styles and WebSocket only, so an injected
 * message that slipped past the page's escaping still could not run script or send data elsewhere.
 * `ws:`/`wss:` because `'self'` covers WebSockets to the page's own host only in recent browsers.
 */
export const DEMO_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function contentType(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Turns the raw, still percent-encoded part of a URL path below a mount point into path segments,
 * or `null` when it tries to leave the folder. The raw path is checked segment by segment after
 * decoding, so `..`, `%2e%2e`, `..%2f` and `..%5c` are all refused rather than normalised away.
 */
export function safeSegments(rawPath: string): string[] | null {
  const segments: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue; // `//` and the leading slash
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return null; // malformed percent-encoding
    }
    // A decoded separator would smuggle a `..` past the split; NUL truncates paths in some APIs.
    if (segment === '.' || segment === '..' || /[/\\\0]/.test(segment)) return null;
    segments.push(segment);
  }
  return segments;
}

export type StaticResult = 'served' | 'not-found' | 'refused';

/**
 * Sends `rawPath` (relative to `root`, percent-encoded as in the request) if it names a regular
 * file inside `root`. Only GET and HEAD reach here; the caller answers 404/400 for the other results
 * so that each mount point can fall through to the next.
 */
export async function serveFile(request: IncomingMessage, response: ServerResponse, root: string, rawPath: string): Promise<StaticResult> {
  const segments = safeSegments(rawPath);
  if (segments === null) return 'refused';
  if (segments.length === 0) return 'not-found';
  const file = join(root, ...segments);
  // Belt and braces: the segment check already rules this out.
  if (!file.startsWith(root.endsWith(sep) ? root : root + sep)) return 'refused';
  let size: number;
  let realFile: string;
  try {
    // A symlink inside the folder may point anywhere: only files really inside it are served.
    let realRoot: string;
    [realFile, realRoot] = await Promise.all([realpath(file), realpath(root)]);
    if (!realFile.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) return 'not-found';
    const info = await stat(realFile);
    if (!info.isFile()) return 'not-found';
    size = info.size;
  } catch {
    return 'not-found';
  }
  const type = contentType(file);
  response.writeHead(200, {
    'Content-Type': type,
    'Content-Length': size,
    // A demo and a client under development: always revalidate so a rebuild shows at once.
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    ...(type.startsWith('text/html') ? { 'Content-Security-Policy': DEMO_CSP } : {}),
  });
  if (request.method === 'HEAD') {
    response.end();
    return 'served';
  }
  const stream = createReadStream(realFile);
  stream.on('error', () => response.destroy());
  stream.pipe(response);
  return 'served';
}

/** A plain-text error page for the static routes. */
export function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', ...headers });
  response.end(`${text}\n`);
}
