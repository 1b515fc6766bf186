/**
 * bench/results/chart.png: for throughput, fan-out, p99 latency and memory per idle connection,
 * each system's figure divided by raw ws (left panel) and by Socket.IO emit + ack (right panel).
 *
 * Horizontal bars start at the 1.0× line and run along a log scale, so 0.5× and 2× are the same
 * length either side of it, and a 20× gap does not squash everything else flat. The ratios are the
 * same numbers as in RESULTS.md (system ÷ reference); the groups where lower is better say so.
 */
import { SYSTEM_IDS, SYSTEM_LABELS, type BenchResults, type SystemId } from '../lib/results.js';
import { ratio, when } from './format.js';
import { Canvas, type Color } from './png.js';
import { RATIO_METRICS, REFERENCES, REFERENCE_LABELS, ratioTo, type Reference } from './ratios.js';

/** One colour per system, the same in every group (Tableau 10: distinct, and readable on white). */
export const SYSTEM_COLORS: Record<SystemId, Color> = {
  ws: 0x7f7f7f,
  socketio: 0x1f77b4,
  socketioRecovery: 0x17becf,
  mqtt: 0x8c564b,
  holdfastVolatile: 0xff7f0e,
  holdfastMemory: 0x2ca02c,
  holdfastSqlite: 0x9467bd,
  holdfastRedis: 0xd62728,
};

const INK = 0x222222;
const MUTED = 0x8a8a8a;
const GRID = 0xe2e2e2;
const BAND = 0xf4f5f7;

const WIDTH = 1200;
const MARGIN = 20;
/** Body text: the 5×7 font at 2×, 10×14 px glyphs. */
const TEXT = 2;
const TEXT_HEIGHT = Canvas.lineHeight(TEXT);
const TITLE = 3;
const BAR = 12;
const PITCH = 16;
const GROUP_HEADING = 24;
const GROUP_GAP = 8;
const GROUPS_TOP = 110;
/** Room either side of a panel's plot area for the value labels at the bar ends. */
const LABEL_ROOM = 84;
const LEGEND_ROW = 22;
const LEGEND_COLUMNS = 2;

/** The 1-2-5 steps a log axis is bounded and ticked at. */
function steps(from: number, to: number, mantissas: readonly number[]): number[] {
  const out: number[] = [];
  for (let exponent = Math.floor(Math.log10(from)) - 1; exponent <= Math.ceil(Math.log10(to)) + 1; exponent++) {
    for (const mantissa of mantissas) {
      const value = Number((mantissa * 10 ** exponent).toPrecision(3));
      if (value >= from * 0.999 && value <= to * 1.001) out.push(value);
    }
  }
  return out;
}

/** Axis bounds: every ratio visible, 1.0× inside with some air either side, rounded out to 1-2-5 steps, and not absurdly wide. */
function bounds(ratios: number[]): { low: number; high: number } {
  const low = Math.max(1e-3, Math.min(0.5, ...ratios));
  const high = Math.min(1e3, Math.max(2, ...ratios));
  const candidates = steps(1e-4, 1e4, [1, 2, 5]);
  return {
    low: [...candidates].reverse().find((value) => value <= low) ?? 1e-3,
    high: candidates.find((value) => value >= high) ?? 1e3,
  };
}

function tickLabel(value: number): string {
  return `${Number(value.toPrecision(2))}×`;
}

/** ASCII-safe, and cut with "..." to fit `width` pixels at `scale`. */
function fit(text: string, width: number, scale: number): string {
  if (Canvas.measure(text, scale) <= width) return text;
  let cut = [...text];
  while (cut.length > 0 && Canvas.measure(`${cut.join('')}...`, scale) > width) cut = cut.slice(0, -1);
  return `${cut.join('')}...`;
}

interface Panel {
  reference: Reference;
  left: number;
  right: number;
  /** x of a ratio on the log scale, clamped to the plot area. */
  x(value: number): number;
}

export function renderChart(results: BenchResults): Buffer {
  const barsHeight = SYSTEM_IDS.length * PITCH - (PITCH - BAR);
  const groupHeight = GROUP_HEADING + SYSTEM_IDS.length * PITCH + GROUP_GAP;
  const barsTop = (group: number): number => GROUPS_TOP + group * groupHeight + GROUP_HEADING;
  const axisTop = GROUPS_TOP + RATIO_METRICS.length * groupHeight;
  const legendTop = axisTop + TEXT_HEIGHT + 18;
  const legendRows = Math.ceil(SYSTEM_IDS.length / LEGEND_COLUMNS);
  const height = legendTop + legendRows * LEGEND_ROW + MARGIN - 6;
  const canvas = new Canvas(WIDTH, height);

  const ratios = RATIO_METRICS.flatMap((m) =>
    REFERENCES.flatMap((reference) => SYSTEM_IDS.map((system) => ratioTo(results, m, system, reference))),
  ).filter((value): value is number => value !== undefined && value > 0 && Number.isFinite(value));
  const { low, high } = bounds(ratios);
  const span = Math.log10(high) - Math.log10(low);

  const panelWidth = (WIDTH - 2 * MARGIN - MARGIN) / REFERENCES.length;
  const panels: Panel[] = REFERENCES.map((reference, index) => {
    const left = MARGIN + index * (panelWidth + MARGIN) + LABEL_ROOM;
    const right = left + panelWidth - 2 * LABEL_ROOM;
    return {
      reference,
      left,
      right,
      x: (value) => {
        const clamped = Math.min(high, Math.max(low, value));
        return Math.round(left + ((Math.log10(clamped) - Math.log10(low)) / span) * (right - left));
      },
    };
  });

  // Title and the run it comes from.
  const title = fit('Holdfast benchmark: system / reference, log scale', WIDTH - 2 * MARGIN, TITLE);
  canvas.text(MARGIN, 16, title, INK, TITLE);
  canvas.text(MARGIN + 1, 16, title, INK, TITLE);
  const subtitle =
    `${when(results.date)}, ${results.quick ? 'quick' : 'full'} run${results.partial ? ' (partial)' : ''}, ` +
    `${results.cpuModel.trim()} × ${results.cpuCount}, node ${results.node}, ` +
    (typeof results.pinning === 'string' ? 'no CPU pinning' : 'pinned');
  canvas.text(MARGIN, 52, fit(subtitle, WIDTH - 2 * MARGIN, TEXT), MUTED, TEXT);

  // Alternate bands behind the groups, so a bar reads against its own heading.
  RATIO_METRICS.forEach((_, index) => {
    if (index % 2 === 0) canvas.fillRect(0, GROUPS_TOP + index * groupHeight - 4, WIDTH, groupHeight, BAND);
  });

  for (const panel of panels) {
    const heading = `vs ${REFERENCE_LABELS[panel.reference]}`;
    const headingX = (panel.left + panel.right) / 2 - Canvas.measure(heading, TEXT) / 2;
    // Drawn twice, one pixel apart: a bold face without a second font.
    canvas.text(headingX, 84, heading, INK, TEXT);
    canvas.text(headingX + 1, 84, heading, INK, TEXT);

    // Grid lines and tick labels: 1-2-5 steps when they fit, else 1-3, else powers of ten.
    const ticks =
      [[1, 2, 5], [1, 3], [1]]
        .map((mantissas) => steps(low, high, mantissas))
        .find((candidate) =>
          candidate.every((value, i) => {
            const next = candidate[i + 1];
            if (next === undefined) return true;
            const room = panel.x(next) - panel.x(value);
            return room >= (Canvas.measure(tickLabel(value), TEXT) + Canvas.measure(tickLabel(next), TEXT)) / 2 + 12;
          }),
        ) ?? [low, 1, high];
    for (const tick of ticks) {
      const x = panel.x(tick);
      // Only across the bars: the group headings stay clear.
      RATIO_METRICS.forEach((_, index) => canvas.fillRect(x, barsTop(index) - 3, 1, barsHeight + 6, GRID));
      const label = tickLabel(tick);
      canvas.text(x - Canvas.measure(label, TEXT) / 2, axisTop + 6, label, tick === 1 ? INK : MUTED, TEXT);
    }
  }

  RATIO_METRICS.forEach((m, index) => {
    const top = GROUPS_TOP + index * groupHeight;
    const heading = `${m.title} (${m.unit}): ${m.lowerIsBetter ? 'LOWER is better' : 'higher is better'}`;
    canvas.text(MARGIN, top + 2, heading, INK, TEXT);

    for (const panel of panels) {
      const one = panel.x(1);
      SYSTEM_IDS.forEach((system, row) => {
        const y = top + GROUP_HEADING + row * PITCH;
        const textY = y + BAR / 2 - 7;
        if (system === panel.reference && m.value(results, system) !== undefined) {
          canvas.text(one + 6, textY, 'reference', MUTED, TEXT);
          return;
        }
        const value = ratioTo(results, m, system, panel.reference);
        if (value === undefined) {
          canvas.text(one + 6, textY, 'n/a', MUTED, TEXT);
          return;
        }
        const end = panel.x(value);
        const color = SYSTEM_COLORS[system];
        canvas.fillRect(Math.min(one, end), y, Math.max(2, Math.abs(end - one)), BAR, color);
        const label = ratio(value);
        const width = Canvas.measure(label, TEXT);
        canvas.text(value >= 1 ? Math.max(end, one + 2) + 5 : end - 5 - width, textY, label, INK, TEXT);
      });
    }
  });

  // The 1.0× lines last, over the bars' start.
  for (const panel of panels) {
    RATIO_METRICS.forEach((_, index) => canvas.fillRect(panel.x(1) - 1, barsTop(index) - 3, 2, barsHeight + 6, INK));
  }

  const legendWidth = (WIDTH - 2 * MARGIN) / LEGEND_COLUMNS;
  SYSTEM_IDS.forEach((system, index) => {
    const x = MARGIN + (index % LEGEND_COLUMNS) * legendWidth;
    const y = legendTop + Math.floor(index / LEGEND_COLUMNS) * LEGEND_ROW;
    canvas.fillRect(x, y + 1, 24, BAR, SYSTEM_COLORS[system]);
    canvas.text(x + 32, y, fit(SYSTEM_LABELS[system], legendWidth - 40, TEXT), INK, TEXT);
  });

  return canvas.toPng();
}
