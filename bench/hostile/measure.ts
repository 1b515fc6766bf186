/**
 * Runs one flood of the `hostile` workload: a fresh server under test (bench/servers/hostile.ts,
 * `--expose-gc`, pinned to the server core) and a fresh attacker (bench/hostile/attacker.ts, on
 * the load core). Baseline after a full GC; the peak from the kernel (VmHWM) while the attacker
 * floods; settled memory while it is still connected, and again after it left and the server
 * went idle. Both processes are stopped whatever happens.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuShare, type CpuSample, type MemorySample } from '../lib/ipc.js';
import { withTempFolder, type Setup } from '../lib/scenarios.js';
import { Child, pinning } from '../lib/spawn.js';
import { judge, type AckPhaseFigures, type AttackReport, type HostileFigures, type HostileLimits, type LoopFigures } from './figures.js';
import type { WatchFigures } from './messages.js';
import type { FloodPlan } from './plans.js';
import { PeakWatch, resetPeak } from './proc.js';

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** The server under test as this workload drives it; every question answers undefined once it died. */
class HostileServer {
  constructor(readonly child: Child) {}

  async memory(): Promise<{ memory: MemorySample; connections: number } | undefined> {
    return this.child.ask<{ memory: MemorySample; connections: number }>({ type: 'memory' }, 60_000).catch(() => undefined);
  }

  async watch(): Promise<WatchFigures | undefined> {
    return this.child.ask<{ figures: WatchFigures }>({ type: 'watch' }, 30_000).then((answer) => answer.figures, () => undefined);
  }

  async cpu(): Promise<CpuSample | undefined> {
    return this.child.ask<{ sample: CpuSample }>({ type: 'cpu' }, 30_000).then((answer) => answer.sample, () => undefined);
  }

  /** Waits (at least `minMs`, at most `maxMs`) until the server used under 5 % of a core over 250 ms. */
  async idle(minMs: number, maxMs: number): Promise<void> {
    const started = performance.now();
    await sleep(minMs);
    let previous = await this.cpu();
    while (previous !== undefined && performance.now() - started < maxMs) {
      await sleep(250);
      const now = await this.cpu();
      if (now === undefined || cpuShare(previous, now) < 0.05) return;
      previous = now;
    }
  }
}

/** The server's heap peaks and event-loop stalls over consecutive watch windows (a watch-start ends one). */
class FloodPeaks {
  heapUsed: number | undefined;
  external: number | undefined;
  /** The longest stall of the flood's windows, and their total time. */
  stall: LoopFigures | undefined;

  /** A window after the flood: its heap counts, its stalls are reported apart. */
  heap(figures: WatchFigures | undefined): WatchFigures | undefined {
    if (figures !== undefined) {
      this.heapUsed = Math.max(this.heapUsed ?? 0, figures.maxHeapUsed);
      this.external = Math.max(this.external ?? 0, figures.maxExternal);
    }
    return figures;
  }

  /** A window of the flood. */
  flood(figures: WatchFigures | undefined): WatchFigures | undefined {
    if (figures === undefined) return undefined;
    this.heap(figures);
    this.stall = { maxMs: Math.max(this.stall?.maxMs ?? 0, figures.loopMaxMs), windowMs: (this.stall?.windowMs ?? 0) + figures.windowMs };
    return figures;
  }
}

export interface FloodRun {
  figures: HostileFigures;
  limits: HostileLimits;
}

export async function runFloodPlan(setup: Setup, plan: FloodPlan, safetyCapBytes: number): Promise<FloodRun> {
  return withTempFolder('holdfast-bench-hostile-', async (folder) => {
    const attacker = new Child('hostile attacker', 'bench/hostile/attacker.ts', { cwd: setup.root, nodeArgs: [], cpu: pinning?.load });
    const args = [...plan.serverArgs, '--port=0'];
    if (plan.store === 'sqlite') args.push(`--data=${join(folder, 'data')}`);
    const child = new Child(`hostile server (${plan.kind}, ${plan.store})`, 'bench/servers/hostile.ts', {
      cwd: setup.root,
      nodeArgs: ['--expose-gc', ...setup.profileArgs],
      args,
      cpu: pinning?.server,
    });
    const server = new HostileServer(child);
    let stopping = false;
    let died: string | undefined;
    void child.exited.then((code) => {
      if (!stopping) died ??= `the server process exited during the flood (code ${code})`;
    });
    let watch: PeakWatch | undefined;
    try {
      const ready = await child.next<{ url: string; pid: number }>('ready', 30_000);
      const { limits } = await child.next<{ limits: HostileLimits }>('limits', 5000);
      if (plan.prefill !== undefined) {
        child.send({ type: 'prefill', ...plan.prefill });
        await child.next('prefilled', 120_000);
      }
      attacker.send({ type: 'warm-up', url: ready.url });
      await attacker.next('warmed', 30_000);
      await server.idle(300, 5000); // start-up and warm-up work done before the baseline
      const baseline = (await server.memory())?.memory;
      if (baseline === undefined) throw new Error('no baseline memory from the server');

      watch = new PeakWatch(
        ready.pid,
        safetyCapBytes,
        (rss) => {
          died = `killed by the bench at ${mib(rss)} RSS (safety cap ${mib(safetyCapBytes)})`;
          child.kill();
        },
        resetPeak(ready.pid),
      );
      child.send({ type: 'watch-start' });
      const seen = new FloodPeaks();
      attacker.send({ type: 'attack', url: ready.url, config: plan.attack });
      const budget = 120_000;
      let ackPhase: AckPhaseFigures | undefined;
      let attack: AttackReport;
      if (plan.attack.kind === 'kept-replies-acks') {
        await attacker.next('phase', budget);
        seen.flood(await server.watch());
        child.send({ type: 'watch-start' });
        const started = performance.now();
        attacker.send({ type: 'continue' });
        attack = (await attacker.next<{ report: AttackReport }>('attacked', budget)).report;
        await server.idle(200, 30_000);
        const spent = seen.flood(await server.watch());
        child.send({ type: 'watch-start' });
        ackPhase = {
          frames: attack.counts['ackFrames'] ?? 0,
          cpuMs: spent === undefined ? NaN : spent.cpuUs / 1000,
          wallMs: performance.now() - started,
          writeBytes: spent?.writeBytes,
          wchar: spent?.wchar,
        };
      } else {
        attack = (await attacker.next<{ report: AttackReport }>('attacked', budget)).report;
      }

      await sleep(500); // what the server already read is handled
      seen.flood(await server.watch());
      const heldAnswer = await server.memory();
      const topics =
        plan.kind === 'topic-flood' ? await child.ask<{ count: number | undefined }>({ type: 'topics' }, 30_000).then((a) => a.count, () => undefined) : undefined;

      attacker.send({ type: 'leave' });
      await attacker.next('left', 10_000);
      let loopAfter: LoopFigures | undefined;
      if (plan.observeMs !== undefined) {
        child.send({ type: 'watch-start' });
        await sleep(plan.observeMs);
        const observed = seen.heap(await server.watch());
        if (observed !== undefined) loopAfter = { maxMs: observed.loopMaxMs, windowMs: observed.windowMs };
      }
      await server.idle(1000, 10_000);
      const after = (await server.memory())?.memory;
      const peakRss = watch.stop();

      const peak = { rss: Math.max(peakRss, baseline.rss), heapUsed: seen.heapUsed, external: seen.external };
      const held = heldAnswer?.memory;
      const figures: HostileFigures = {
        kind: plan.kind,
        store: plan.store,
        connections: plan.connections,
        what: plan.what,
        attack,
        baseline,
        peak,
        held,
        after,
        connectionsAtEnd: heldAnswer?.connections,
        ...(died === undefined ? {} : { serverDied: died }),
        ...(ackPhase === undefined ? {} : { ackPhase }),
        loopDuringFlood: seen.stall,
        ...(plan.kind === 'topic-flood' ? { topics, loopAfter } : {}),
        judged: judge(limits, { connections: plan.connections, baseline, peak, held, after, serverDied: died }),
      };
      return { figures, limits };
    } finally {
      watch?.stop();
      stopping = true;
      attacker.send({ type: 'stop' });
      child.send({ type: 'stop' });
      await Promise.all([attacker.finish(5000), child.finish(10_000)]);
    }
  });
}
