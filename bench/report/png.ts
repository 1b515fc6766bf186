/**
 * Just enough raster graphics for the benchmark chart, with node built-ins only (no canvas
 * package, no browser): an RGB canvas with rectangles, lines and bitmap text, and a PNG encoder.
 */
import { deflateSync } from 'node:zlib';
import { CELL_WIDTH, GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './font.js';

/** 0xRRGGBB. */
export type Color = number;

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// CRC-32 (ISO 3309, polynomial 0xEDB88320) as the PNG specification defines it, one table lookup per byte.
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** length, type, data, CRC of type + data. */
function chunk(type: string, data: Uint8Array): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(8 + data.length + 4);
  out.writeUInt32BE(data.length, 0);
  typeAndData.copy(out, 4);
  out.writeUInt32BE(crc32(typeAndData), 8 + data.length);
  return out;
}

/**
 * PNG of 8-bit RGB (3 channels) or RGBA (4 channels) pixels, rows top to bottom. Every scanline
 * uses filter 0 (none): the chart is mostly flat colour, which deflate compresses well anyway.
 */
export function encodePng(width: number, height: number, pixels: Uint8Array, channels: 3 | 4 = 3): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) throw new Error(`bad size ${width}×${height}`);
  const stride = width * channels;
  if (pixels.length !== stride * height) throw new Error(`expected ${stride * height} bytes of pixels, got ${pixels.length}`);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = channels === 4 ? 6 : 2; // colour type: truecolour with / without alpha
  header[10] = 0; // compression: deflate
  header[11] = 0; // filter method 0
  header[12] = 0; // no interlace
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter type: none
    raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

export class Canvas {
  readonly pixels: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Color = 0xffffff,
  ) {
    this.pixels = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  /** Sets one pixel; anything outside the canvas is clipped, so callers need not check. */
  setPixel(x: number, y: number, color: Color): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const at = (y * this.width + x) * 3;
    this.pixels[at] = (color >>> 16) & 0xff;
    this.pixels[at + 1] = (color >>> 8) & 0xff;
    this.pixels[at + 2] = color & 0xff;
  }

  getPixel(x: number, y: number): Color | undefined {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return undefined;
    const at = (y * this.width + x) * 3;
    return (this.pixels[at]! << 16) | (this.pixels[at + 1]! << 8) | this.pixels[at + 2]!;
  }

  fillRect(x: number, y: number, width: number, height: number, color: Color): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + width));
    const y1 = Math.min(this.height, Math.round(y + height));
    for (let row = y0; row < y1; row++) for (let column = x0; column < x1; column++) this.setPixel(column, row, color);
  }

  /** A straight line (Bresenham), `thickness` pixels wide as a square brush. */
  line(x0: number, y0: number, x1: number, y1: number, color: Color, thickness = 1): void {
    let x = Math.round(x0);
    let y = Math.round(y0);
    const xEnd = Math.round(x1);
    const yEnd = Math.round(y1);
    const dx = Math.abs(xEnd - x);
    const dy = -Math.abs(yEnd - y);
    const sx = x < xEnd ? 1 : -1;
    const sy = y < yEnd ? 1 : -1;
    const offset = Math.floor((thickness - 1) / 2);
    let error = dx + dy;
    for (;;) {
      this.fillRect(x - offset, y - offset, thickness, thickness, color);
      if (x === xEnd && y === yEnd) return;
      const twice = 2 * error;
      if (twice >= dy) {
        error += dy;
        x += sx;
      }
      if (twice <= dx) {
        error += dx;
        y += sy;
      }
    }
  }

  /** Width in pixels of `text` drawn at `scale` (no trailing spacing column). */
  static measure(text: string, scale: number): number {
    const length = [...text].length;
    return length === 0 ? 0 : (length * CELL_WIDTH - 1) * scale;
  }

  /** Height in pixels of a line of text at `scale`, descenders included. */
  static lineHeight(scale: number): number {
    return GLYPH_HEIGHT * scale;
  }

  /** Draws `text` with its top-left corner at (x, y), each font pixel a scale × scale square; returns the width drawn. */
  text(x: number, y: number, text: string, color: Color, scale = 2): number {
    let left = Math.round(x);
    for (const char of text) {
      const columns = glyph(char);
      for (let column = 0; column < GLYPH_WIDTH; column++) {
        const bits = columns[column] ?? 0;
        for (let row = 0; row < GLYPH_HEIGHT; row++) {
          if ((bits >> row) & 1) this.fillRect(left + column * scale, Math.round(y) + row * scale, scale, scale, color);
        }
      }
      left += CELL_WIDTH * scale;
    }
    return Canvas.measure(text, scale);
  }

  toPng(): Buffer {
    return encodePng(this.width, this.height, this.pixels, 3);
  }
}
