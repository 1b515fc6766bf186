/**
 * The benchmark report renderer (bench/report/*): the PNG is a valid file of the right size with
 * the bars in it, and RESULTS.md shows the ratios computed from the JSON, the failures and the
 * targets. All figures below are synthetic round numbers chosen so the expected ratios are obvious.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { inflateSync } from 'node:zlib';
import type { MemorySample } from '../../bench/lib/ipc.js';
import type {
  BenchResults,
  CatchupFigures,
  ClusterResults,
  ClusterThroughputFigures,
  FailoverFigures,
  FanoutFigures,
  LatencyFigures,
  MemoryFigures,
  StormFigures,
  SystemId,
  ThroughputFigures,
} from '../../bench/lib/results.js';
import { SYSTEM_COLORS, renderChart } from '../../bench/report/chart.js';
import { renderMarkdown } from '../../bench/report/markdown.js';
import { Canvas, crc32, encodePng } from '../../bench/report/png.js';
import { asBenchResults, writeReport } from '../../bench/report/render.js';

// ---------------------------------------------------------------------------------------------
// Synthetic results

const sample = (rss: number): MemorySample => ({ rss, heapUsed: rss / 4, heapTotal: rss / 2, external: 1000, arrayBuffers: 100 });

const throughput = (rate: number): ThroughputFigures => ({
  rates: [rate, rate, rate],
  completed: rate * 3,
  measuredMs: 3000,
  loadCpu: 0.5,
  errors: {},
  messagesPerSecond: rate,
  serverCpu: 0.75,
  otherCpu: 0.01,
});

const fanout = (deliveriesPerSecond: number): FanoutFigures => ({
  subscribers: 50,
  published: 1000,
  deliveries: 50_000,
  deliveriesPerSecond,
  measuredMs: 1000,
  incomplete: 0,
  serverCpu: 0.5,
  loadCpu: 0.5,
  errors: {},
});

const latency = (p99: number): LatencyFigures => ({
  ratePerSecond: 500,
  durationMs: 2000,
  sent: 1000,
  received: 1000,
  p50: p99 / 2,
  p99,
  p999: p99 * 2,
  max: p99 * 3,
  mean: p99 / 2,
  errors: {},
});

const memory = (rss: number): MemoryFigures => ({
  requested: 200,
  opened: 200,
  failed: 0,
  openMs: 1000,
  openErrors: {},
  before: sample(40_000_000),
  after: sample(40_000_000 + rss * 200),
  perConnection: { rss, heapUsed: rss / 2 },
});

const catchup = (catchupMs: number): CatchupFigures => ({
  messages: 1000,
  catchupMs,
  liveMs: 100,
  received: 1000,
  duplicates: 0,
  outOfOrder: 0,
  recovered: true,
  errors: {},
});

const storm = (allBackMs: number): StormFigures => ({
  clients: 100,
  downMs: 500,
  allBackMs,
  back: 100,
  resumed: 100,
  peakAttemptsPerSecond: 250,
  attempts: 120,
  attemptsPer100ms: [0, 100, 20],
  errors: {},
});

/**
 * Reference rates: ws 10,000 msg/s and Socket.IO 8,000, so Holdfast memory at 20,000 is 2.00× ws and
 * 2.50× Socket.IO; its p99 3 ms is 2.00× ws's 1.5 ms; its 30,000 B/conn is 3.00× ws's 10,000.
 * Holdfast SQLite failed or does not apply everywhere the chart looks.
 */
function synthetic(): BenchResults {
  return {
    date: '2031-02-03T04:05:06.000Z',
    quick: true,
    partial: false,
    command: 'npm run bench -- --quick',
    node: 'v20.99.0',
    v8: '11.3.0',
    platform: 'linux x64',
    cpuModel: 'Synthetic CPU 9000',
    cpuCount: 2,
    pinning: { server: 0, load: 1 },
    loadAverageAtStart: [0.5, 0.4, 0.3],
    loadAverageAtEnd: [1.25, 0.5, 0.4],
    durationSeconds: 61.5,
    versions: { ws: '8.0.0-synthetic' },
    sizes: {
      payloadBytes: 100,
      inFlight: 64,
      warmupMs: 500,
      windowMs: 1000,
      windows: 3,
      subscribers: 50,
      latencyRate: 500,
      latencyMs: 2000,
      idleConnections: 200,
      catchupMessages: 1000,
      stormClients: 100,
    },
    notes: ['synthetic note: not a measurement'],
    workloads: {
      throughput: {
        ws: throughput(10_000),
        socketio: throughput(8000),
        holdfastMemory: throughput(20_000),
        holdfastSqlite: { error: 'synthetic failure: server exited with code 7' },
      },
      fanout: { ws: fanout(100_000), socketio: fanout(50_000), holdfastMemory: fanout(150_000), holdfastSqlite: { error: 'synthetic fan-out failure' } },
      latency: { ws: latency(1.5), socketio: latency(6), holdfastMemory: latency(3), holdfastSqlite: { notApplicable: 'synthetic: skipped' } },
      memory: { ws: memory(10_000), socketio: memory(40_000), holdfastMemory: memory(30_000), holdfastSqlite: { error: 'synthetic memory failure' } },
      catchup: { ws: { notApplicable: 'raw ws keeps no history' }, holdfastMemory: catchup(50) },
      storm: { ws: storm(1234), holdfastMemory: storm(2500) },
    },
    targets: [
      { name: 'synthetic target met', value: 2, min: 1.5, met: true, how: 'holdfastMemory ÷ ws' },
      { name: 'synthetic target missed', value: 3, max: 1.5, met: false, how: 'holdfastMemory RSS ÷ ws RSS' },
      { name: 'synthetic target unmeasured', value: undefined, min: 2, met: undefined, how: 'holdfastSqlite ÷ socketio' },
    ],
    sqliteStall: { error: 'synthetic stall failure' },
  };
}

// ---------------------------------------------------------------------------------------------
// PNG helpers, written independently of bench/report/png.ts so that they check it

/** Bit-by-bit CRC-32 (no table), to check the encoder's table-driven one. */
function referenceCrc(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

interface Decoded {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  chunkTypes: string[];
  raw: Buffer;
}

/** Walks the chunks, checks every CRC, and inflates the image data. */
function decode(png: Buffer): Decoded {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  const chunkTypes: string[] = [];
  const idat: Buffer[] = [];
  let header: Buffer | undefined;
  let at = 8;
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    const stored = png.readUInt32BE(at + 8 + length);
    assert.equal(stored, referenceCrc(png.subarray(at + 4, at + 8 + length)), `CRC of ${type}`);
    chunkTypes.push(type);
    if (type === 'IHDR') header = data;
    if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  assert.equal(at, png.length, 'chunks end exactly at the end of the file');
  assert.ok(header !== undefined, 'IHDR present');
  return {
    width: header.readUInt32BE(0),
    height: header.readUInt32BE(4),
    bitDepth: header[8]!,
    colorType: header[9]!,
    chunkTypes,
    raw: inflateSync(Buffer.concat(idat)),
  };
}

/** Pixels of exactly `color` (0xRRGGBB) in an RGB image whose every row uses filter 0. */
function countColor(image: Decoded, color: number): number {
  const stride = 1 + image.width * 3;
  let count = 0;
  for (let y = 0; y < image.height; y++) {
    assert.equal(image.raw[y * stride], 0, `row ${y} uses filter 0`);
    for (let x = 0; x < image.width; x++) {
      const at = y * stride + 1 + x * 3;
      if (((image.raw[at]! << 16) | (image.raw[at + 1]! << 8) | image.raw[at + 2]!) === color) count++;
    }
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// PNG encoder and canvas

test('crc32 gives the standard check value', () => {
  assert.equal(crc32(Buffer.from('123456789', 'ascii')), 0xcbf43926);
  assert.equal(crc32(Buffer.from('IEND', 'ascii')), 0xae426082);
});

test('encodePng writes RGBA pixels that decode back byte for byte', () => {
  const pixels = Uint8Array.from([255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0, 10, 20, 30, 40, 1, 2, 3, 4, 250, 251, 252, 253]);
  const image = decode(encodePng(3, 2, pixels, 4));
  assert.equal(image.width, 3);
  assert.equal(image.height, 2);
  assert.equal(image.bitDepth, 8);
  assert.equal(image.colorType, 6);
  assert.deepEqual(image.chunkTypes, ['IHDR', 'IDAT', 'IEND']);
  assert.deepEqual([...image.raw], [0, ...pixels.subarray(0, 12), 0, ...pixels.subarray(12)]);
  assert.throws(() => encodePng(3, 2, pixels.subarray(1), 4), /expected 24 bytes/);
});

test('Canvas draws clipped rectangles, lines and text', () => {
  const canvas = new Canvas(40, 20, 0xffffff);
  canvas.fillRect(-5, -5, 10, 10, 0x123456);
  assert.equal(canvas.getPixel(0, 0), 0x123456);
  assert.equal(canvas.getPixel(4, 4), 0x123456);
  assert.equal(canvas.getPixel(5, 5), 0xffffff);
  canvas.line(0, 19, 39, 19, 0xff0000);
  for (let x = 0; x < 40; x++) assert.equal(canvas.getPixel(x, 19), 0xff0000);
  canvas.line(10, 0, 20, 10, 0x00ff00);
  for (let i = 0; i <= 10; i++) assert.equal(canvas.getPixel(10 + i, i), 0x00ff00, `diagonal at ${i}`);

  const text = new Canvas(60, 20, 0xffffff);
  const width = text.text(0, 0, 'H1', 0x000000, 2);
  assert.equal(width, Canvas.measure('H1', 2));
  assert.equal(width, (2 * 6 - 1) * 2);
  // 'H' is two full-height columns joined by a bar: its left column is 7 font pixels tall at 2×.
  for (let y = 0; y < 14; y++) assert.equal(text.getPixel(0, y), 0x000000, `H left stem at y=${y}`);
  assert.equal(text.getPixel(0, 14), 0xffffff, 'nothing below the H');
  assert.equal(text.getPixel(4, 0), 0xffffff, 'the H is open at the top');
  assert.equal(text.getPixel(4, 6), 0x000000, 'the H bar');
});

// ---------------------------------------------------------------------------------------------
// The chart

test('renderChart produces a valid PNG of about 1200×800 with every chunk CRC correct', () => {
  const image = decode(renderChart(synthetic()));
  assert.equal(image.width, 1200);
  assert.ok(image.height >= 700 && image.height <= 900, `height ${image.height}`);
  assert.equal(image.bitDepth, 8);
  assert.equal(image.colorType, 2);
  assert.equal(image.chunkTypes[0], 'IHDR');
  assert.equal(image.chunkTypes.at(-1), 'IEND');
  assert.equal(image.raw.length, image.height * (1 + image.width * 3));
});

test('renderChart draws bars in the system colours, and none where data is missing', () => {
  const image = decode(renderChart(synthetic()));
  // Only the legend swatch is left for a system with no figures at all.
  const swatchOnly = countColor(image, SYSTEM_COLORS.mqtt);
  assert.ok(swatchOnly > 0, 'the legend shows every system');
  // Holdfast SQLite failed or was n/a in all four compared workloads: no bar, just the swatch.
  assert.equal(countColor(image, SYSTEM_COLORS.holdfastSqlite), swatchOnly);
  // Holdfast memory has 8 bars (4 workloads × 2 references), each far larger than a swatch.
  assert.ok(countColor(image, SYSTEM_COLORS.holdfastMemory) > swatchOnly * 5, 'Holdfast memory bars drawn');

  // Giving SQLite a throughput figure adds its bars.
  const withSqlite = synthetic();
  withSqlite.workloads.throughput.holdfastSqlite = throughput(5000);
  assert.ok(countColor(decode(renderChart(withSqlite)), SYSTEM_COLORS.holdfastSqlite) > swatchOnly);
});

test('renderChart copes with no data at all', () => {
  const empty = synthetic();
  empty.workloads = { throughput: {}, fanout: {}, latency: {}, memory: {}, catchup: {}, storm: {} };
  const image = decode(renderChart(empty));
  assert.equal(image.width, 1200);
  assert.equal(countColor(image, SYSTEM_COLORS.holdfastMemory), countColor(image, SYSTEM_COLORS.mqtt));
});

// ---------------------------------------------------------------------------------------------
// The markdown

/** The cells of the table row for `label` in the section headed `## heading`. */
function row(markdown: string, heading: string, label: string): string[] {
  const section = markdown.split(/^## /m).find((part) => part.startsWith(`${heading}\n`));
  assert.ok(section !== undefined, `section ${heading}`);
  const line = section.split('\n').find((text) => text.startsWith(`| ${label} |`));
  assert.ok(line !== undefined, `row ${label} in ${heading}`);
  return line
    .slice(2, -2)
    .split(' | ')
    .map((cell) => cell.trim());
}

const LABEL: Partial<Record<SystemId, string>> = {
  ws: 'raw ws',
  socketio: 'Socket.IO 4 (emit + ack)',
  holdfastMemory: 'Holdfast reliable, memory store',
  holdfastSqlite: 'Holdfast reliable, SQLite store',
};

test('renderMarkdown shows headline figures and ratios against raw ws and Socket.IO', () => {
  const markdown = renderMarkdown(synthetic());
  // system | msg/s | vs ws | vs Socket.IO | …
  assert.deepEqual(row(markdown, 'Throughput', LABEL.holdfastMemory!).slice(1, 4), ['20,000', '2.00×', '2.50×']);
  assert.deepEqual(row(markdown, 'Throughput', LABEL.ws!).slice(1, 4), ['10,000', '1.00×', '1.25×']);
  assert.deepEqual(row(markdown, 'Fan-out', LABEL.holdfastMemory!).slice(1, 4), ['150,000', '1.50×', '3.00×']);
  // Latency and memory: the same direction (system ÷ reference), said to be lower-is-better.
  assert.deepEqual(row(markdown, 'Latency', LABEL.holdfastMemory!).slice(1, 4), ['3.00 ms', '2.00×', '0.50×']);
  assert.deepEqual(row(markdown, 'Memory per idle connection', LABEL.holdfastMemory!).slice(1, 4), ['30,000 B (29.3 KiB)', '3.00×', '0.75×']);
  assert.match(markdown, /Ratios compare p99, system ÷ reference: \*\*lower is better\*\*/);
  // Workloads without ratios still show their figures.
  assert.deepEqual(row(markdown, 'Catch-up', LABEL.holdfastMemory!).slice(1, 4), ['50.0 ms', '100 ms', '0.50×']);
  assert.equal(row(markdown, 'Reconnect storm', LABEL.ws!)[1], '1,234 ms');
});

test('renderMarkdown shows failures with their error, and n/a with its reason', () => {
  const markdown = renderMarkdown(synthetic());
  assert.equal(row(markdown, 'Throughput', LABEL.holdfastSqlite!)[1], '**failed**: synthetic failure: server exited with code 7');
  assert.equal(row(markdown, 'Latency', LABEL.holdfastSqlite!)[1], 'n/a: synthetic: skipped');
  assert.equal(row(markdown, 'Catch-up', LABEL.ws!)[1], 'n/a: raw ws keeps no history');
  // A ratio needs both sides: Socket.IO has no catch-up row at all, and a failed system gets no ratio.
  assert.ok(!markdown.split('## Catch-up')[1]!.split('## ')[0]!.includes(LABEL.socketio!));
  assert.match(markdown, /## SQLite store: event-loop stalls\n\n\*\*failed\*\*: synthetic stall failure/);
});

test('renderMarkdown marks each target ✓, ✗ or not measured', () => {
  const markdown = renderMarkdown(synthetic());
  assert.deepEqual(row(markdown, 'Targets', 'synthetic target met'), ['synthetic target met', '2', '≥ 1.50', '✓', 'holdfastMemory ÷ ws']);
  assert.deepEqual(row(markdown, 'Targets', 'synthetic target missed'), ['synthetic target missed', '3', '≤ 1.50', '✗', 'holdfastMemory RSS ÷ ws RSS']);
  const unmeasured = row(markdown, 'Targets', 'synthetic target unmeasured');
  assert.ok(!unmeasured.includes('✓') && !unmeasured.includes('✗'));
  assert.match(unmeasured[3]!, /input failed/);
});

test('renderMarkdown takes the run description, sizes and notes from the JSON', () => {
  const results = synthetic();
  const markdown = renderMarkdown(results);
  assert.match(markdown, /^# /);
  assert.ok(markdown.includes('2031-02-03 04:05 UTC'));
  assert.ok(markdown.includes('`npm run bench -- --quick` (quick run'));
  assert.ok(markdown.includes('Synthetic CPU 9000 × 2'));
  assert.ok(markdown.includes('node v20.99.0'));
  assert.ok(markdown.includes('server pinned to CPU 0, load generator to CPU 1'));
  assert.ok(markdown.includes('61.5 s'));
  assert.ok(markdown.includes('ws 8.0.0-synthetic'));
  assert.ok(markdown.includes('- fan-out: 50 subscribers'));
  assert.ok(markdown.includes('- memory: 200 idle connections'));
  assert.ok(markdown.includes('- synthetic note: not a measurement'));
  assert.ok(markdown.includes('results/chart.png'));
  assert.ok(markdown.includes('`npm run bench -- --quick`'));

  // Change the JSON, and the page follows.
  results.workloads.throughput.holdfastMemory = throughput(1_234_567);
  results.pinning = 'none (synthetic)';
  results.quick = false;
  const changed = renderMarkdown(results);
  assert.deepEqual(row(changed, 'Throughput', LABEL.holdfastMemory!).slice(1, 3), ['1,234,567', '123×']);
  assert.ok(changed.includes('CPU pinning: none (synthetic)'));
  assert.ok(changed.includes('(full run'));
});

test('renderMarkdown renders the SQLite stall figures when present', () => {
  const results = synthetic();
  const stall = { ms: 2000, rows: 100_000, maxStallMs: 12, ticks: 1500, loopDelay: { p50: 1, p99: 9, max: 12, mean: 1.5, samples: 1500 } };
  results.sqliteStall = {
    rows: 100_000,
    appendBatch: 500,
    deleteChunk: 5000,
    fill: { ms: 4000, rowsPerSecond: 25_000, databaseBytes: 50 * 2 ** 20, walBytes: 2 ** 20, maxBatchMs: 7 },
    idle: { ...stall, rows: 0, ms: 300, maxStallMs: 1.25 },
    trim: { ...stall, policy: { maxCount: 0 } },
    sweep: stall,
  };
  const markdown = renderMarkdown(results);
  assert.deepEqual(row(markdown, 'SQLite store: event-loop stalls', 'trim(topic, { maxCount: 0 })').slice(1, 5), ['100,000', '2,000 ms', '50,000', '12.0 ms']);
  assert.equal(row(markdown, 'SQLite store: event-loop stalls', 'idle loop (baseline)')[4], '1.25 ms');
  assert.ok(markdown.includes('deleteChunk 5,000'));
});

test('table cells cannot break the table', () => {
  const results = synthetic();
  results.workloads.throughput.holdfastSqlite = { error: 'bad | pipe\nand newline' };
  const line = renderMarkdown(results)
    .split('\n')
    .find((text) => text.startsWith(`| ${LABEL.holdfastSqlite} |`) && text.includes('pipe'));
  assert.equal(line, `| ${LABEL.holdfastSqlite} | **failed**: bad \\| pipe and newline |  |  |  |  |  |  |  |`);
});

// ---------------------------------------------------------------------------------------------
// Writing the files

// ---------------------------------------------------------------------------------------------
// The cluster section (issue 12)

const CLUSTER_LABEL = {
  socketioRedis: 'Socket.IO 4 + redis-adapter (pub/sub)',
  socketioStreams: 'Socket.IO 4 + redis-streams-adapter, connection state recovery',
  holdfastRedis: 'Holdfast reliable, Redis store',
};

const clusterThroughput = (rate: number, nodes: number): ClusterThroughputFigures => ({ ...throughput(rate), nodes });

const failoverFigures = (changes: Partial<FailoverFigures>): FailoverFigures => ({
  clients: 5000,
  loadProcesses: 2,
  ratePerSecond: 10,
  route: 'synthetic route: nginx, B primary, A backup',
  onKilledNode: 5000,
  reconnected: 5000,
  recovered: 5000,
  allReconnectedMs: 2000,
  allReceivingMs: 2100,
  allCompleteMs: 2500,
  completeP50Ms: 1200,
  reconnectP50Ms: 900,
  attempts: 5000,
  complete: 5000,
  published: 60,
  acknowledged: 60,
  lost: 0,
  clientsWithLosses: 0,
  duplicates: 0,
  openMs: 9000,
  errors: {},
  ...changes,
});

/**
 * Socket.IO + streams adapter at 10,000 msg/s on one node and 8,000 on two; Holdfast at 25,000 and
 * 24,000: 2.50× and 3.00×. Holdfast's p99 goes from 4 ms on one node to 6 ms across nodes: 1.50×.
 */
function syntheticCluster(): ClusterResults {
  return {
    sizes: {
      nodes: 2,
      inFlight: 100,
      warmupMs: 1000,
      windowMs: 5000,
      windows: 3,
      subscribers: 1000,
      latencyRate: 1000,
      latencyMs: 10_000,
      failoverClients: 5000,
      failoverRate: 10,
      failoverTimeoutMs: 30_000,
      redisFsync: 'everysec',
    },
    throughput: {
      oneNode: { socketioRedis: clusterThroughput(12_000, 1), socketioStreams: clusterThroughput(10_000, 1), holdfastRedis: clusterThroughput(25_000, 1) },
      twoNodes: { socketioRedis: { error: 'synthetic two-node failure' }, socketioStreams: clusterThroughput(8000, 2), holdfastRedis: clusterThroughput(24_000, 2) },
    },
    fanout: { socketioStreams: fanout(90_000), holdfastRedis: fanout(180_000) },
    latency: {
      oneNode: { socketioStreams: latency(5), holdfastRedis: latency(4) },
      crossNode: { socketioStreams: latency(7), holdfastRedis: latency(6) },
    },
    failover: {
      socketioRedis: failoverFigures({ recovered: 0, allCompleteMs: NaN, completeP50Ms: NaN, complete: 0, lost: 12_345, clientsWithLosses: 5000 }),
      socketioStreams: { error: 'synthetic failover failure' },
      holdfastRedis: failoverFigures({}),
    },
  };
}

/** The cells of the row for `label` in the table under `### heading` of the cluster section. */
function clusterRow(markdown: string, heading: string, label: string): string[] {
  const section = markdown.split(/^## /m).find((part) => part.startsWith('Cluster: two nodes on one Redis\n'));
  assert.ok(section !== undefined, 'the cluster section');
  const sub = section.split(/^### /m).find((part) => part.startsWith(`${heading}\n`));
  assert.ok(sub !== undefined, `### ${heading}`);
  const line = sub.split('\n').find((text) => text.startsWith(`| ${label} |`));
  assert.ok(line !== undefined, `row ${label} in ${heading}`);
  return line
    .slice(2, -2)
    .split(' | ')
    .map((cell) => cell.trim());
}

test('renderMarkdown has no cluster section for a run without the cluster workloads', () => {
  assert.ok(!renderMarkdown(synthetic()).includes('## Cluster'));
});

test('renderMarkdown renders the cluster section: one and two nodes side by side, ratios to the streams adapter', () => {
  const results = synthetic();
  results.cluster = syntheticCluster();
  const markdown = renderMarkdown(results);
  // After the per-system workloads, before the sizes.
  assert.ok(markdown.indexOf('## Reconnect storm') < markdown.indexOf('## Cluster') && markdown.indexOf('## Cluster') < markdown.indexOf('## Sizes'));
  assert.ok(markdown.includes('`appendfsync everysec`'));
  // system | one node | two nodes | two ÷ one | vs streams adapter | server CPU | errors
  assert.deepEqual(clusterRow(markdown, 'Publish + ack throughput', CLUSTER_LABEL.holdfastRedis).slice(1, 5), ['25,000', '24,000', '0.96×', '2.50× / 3.00×']);
  assert.deepEqual(clusterRow(markdown, 'Publish + ack throughput', CLUSTER_LABEL.socketioStreams).slice(1, 5), ['10,000', '8,000', '0.80×', '1.00× / 1.00×']);
  // A failed side leaves its cells empty and says why; the other side still shows.
  const redisAdapter = clusterRow(markdown, 'Publish + ack throughput', CLUSTER_LABEL.socketioRedis);
  assert.deepEqual(redisAdapter.slice(1, 3), ['12,000', '–']);
  assert.match(redisAdapter.at(-1)!, /failed: synthetic two-node failure/);
  assert.equal(clusterRow(markdown, 'Fan-out across nodes', CLUSTER_LABEL.holdfastRedis)[1], '180,000');
  // Latency: p50 / p99 / p99.9 on one node and across nodes, and cross ÷ one of p99.
  assert.deepEqual(clusterRow(markdown, 'Cross-node latency', CLUSTER_LABEL.holdfastRedis).slice(1, 4), ['2.00 ms / 4.00 ms / 8.00 ms', '3.00 ms / 6.00 ms / 12.0 ms', '1.50×']);
  // Failover: complete, or never when a gap stayed; the losses of a system without recovery.
  const holdfast = clusterRow(markdown, 'Failover', CLUSTER_LABEL.holdfastRedis);
  assert.deepEqual(holdfast.slice(1, 9), ['2,500 ms', '2,000 ms', '2,100 ms', '900 ms / 1,200 ms', '5,000 / 5,000', '5,000', '0', '0']);
  const plain = clusterRow(markdown, 'Failover', CLUSTER_LABEL.socketioRedis);
  assert.equal(plain[1], 'never (a gap not filled)');
  assert.deepEqual(plain.slice(5, 9), ['0 / 5,000', '0', '12,345', '5,000']);
  assert.equal(clusterRow(markdown, 'Failover', CLUSTER_LABEL.socketioStreams)[1], '**failed**: synthetic failover failure');
  assert.ok(markdown.includes('synthetic route: nginx, B primary, A backup'));
});

test('renderMarkdown shows a target in seconds or messages with its unit, and one never reached as never', () => {
  const results = synthetic();
  results.targets.push(
    { name: 'failover of 5,000 clients complete within 5 s (Redis store)', value: 2.5, max: 5, unit: 's', met: true, how: 'synthetic' },
    { name: 'failover: 0 messages lost (Redis store)', value: 3, max: 0, unit: 'messages', met: false, how: 'synthetic' },
    // Infinity in the run is null in the JSON.
    { name: 'failover never complete', value: null as unknown as number, max: 5, unit: 's', met: false, how: 'synthetic' },
  );
  const markdown = renderMarkdown(results);
  assert.deepEqual(row(markdown, 'Targets', 'failover of 5,000 clients complete within 5 s (Redis store)').slice(1, 4), ['2.50 s', '≤ 5', '✓']);
  assert.deepEqual(row(markdown, 'Targets', 'failover: 0 messages lost (Redis store)').slice(1, 4), ['3 messages', '≤ 0', '✗']);
  assert.deepEqual(row(markdown, 'Targets', 'failover never complete').slice(1, 4), ['never', '≤ 5', '✗']);
});

test('writeReport writes RESULTS.md and chart.png under the given root', () => {
  const root = mkdtempSync(join(tmpdir(), 'holdfast-report-test-'));
  try {
    const results = synthetic();
    const written = writeReport(results, root);
    assert.deepEqual(written, [join(root, 'bench', 'RESULTS.md'), join(root, 'bench', 'results', 'chart.png')]);
    assert.equal(readFileSync(written[0]!, 'utf8'), renderMarkdown(results));
    assert.equal(decode(readFileSync(written[1]!)).width, 1200);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('asBenchResults refuses JSON of another shape', () => {
  assert.throws(() => asBenchResults({ date: 'x', throughput: {} }, 'old.json'), /old\.json is not a BenchResults file.*no "workloads"/);
  assert.throws(() => asBenchResults(null, 'null.json'), /not a JSON object/);
  const results = synthetic();
  assert.equal(asBenchResults(JSON.parse(JSON.stringify(results)) as unknown, 'ok.json').date, results.date);
});
