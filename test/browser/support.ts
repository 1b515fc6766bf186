/**
 * End-to-end support: Chromium from the system (never a downloaded browser), the standalone server
 * as a child process that can be killed and started again on the same port and data folder, and a
 * Node observer that counts every chat message the server stored.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { HoldfastClient } from '../../src/client/index.js';
import { cli, listening, ROOT } from '../cli/helpers.js';

export const CHROMIUM = process.env.HOLDFAST_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. CI must not lack Chromium. */
export function missingBrowser(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const why = `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set HOLDFAST_CHROMIUM)`;
  if (process.env.CI === 'true') throw new Error(`browser tests: ${why}`);
  return why;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

/** Where screenshots of the demo's states go: `npm run screenshots` points this at docs/images. */
export const SCREENSHOTS = process.env.SCREENSHOT_DIR ?? join(ROOT, 'test-results', 'screenshots');

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** `holdfast serve --data <folder>` (SQLite) on a fixed port once known, so a restart is the same server. */
export class DemoServer {
  url = '';
  wsUrl = '';
  private child: ChildProcess | undefined;
  private port = 0;

  private constructor(readonly data: string) {}

  static async start(): Promise<DemoServer> {
    const server = new DemoServer(await mkdtemp(join(tmpdir(), 'holdfast-e2e-')));
    await server.restart();
    return server;
  }

  async restart(): Promise<void> {
    if (this.child !== undefined) throw new Error('the server is running');
    // With the demo's price feed, as `npm start` runs it: the screenshots show a live board.
    const child = cli(['serve', '--port', String(this.port), '--data', this.data]);
    this.child = child;
    const { url, wsUrl } = await listening(child);
    this.url = url;
    this.wsUrl = wsUrl;
    this.port = Number(new URL(url).port);
  }

  /** SIGKILL: no goodbye to the clients, no shutdown of the store. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.data, { recursive: true, force: true });
  }
}

/** A Node client reading the chat from the start: what the server stored, each message once. */
export class ChatObserver {
  readonly texts: string[] = [];
  private constructor(private readonly client: HoldfastClient) {}

  static async start(wsUrl: string): Promise<ChatObserver> {
    const client = new HoldfastClient({ url: wsUrl, WebSocket, reconnect: { initialDelay: 200, maxDelay: 1000 } });
    const observer = new ChatObserver(client);
    client.on('error', () => undefined);
    const subscription = client.subscribe(
      'chat:lobby',
      (data) => {
        const text = (data as { text?: unknown }).text;
        if (typeof text === 'string') observer.texts.push(text);
      },
      { from: 'start' },
    );
    await subscription.ready;
    return observer;
  }

  /** Texts starting with `prefix`, in the order received. */
  with(prefix: string): string[] {
    return this.texts.filter((text) => text.startsWith(prefix));
  }

  close(): void {
    this.client.close();
  }
}

export interface DemoPage {
  context: BrowserContext;
  page: Page;
}

/** A demo page in its own browser context (its own network, storage and offline switch), open. */
export async function openDemo(browser: Browser, url: string, query = ''): Promise<DemoPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[page] ${error.message}`));
  await page.goto(`${url}/${query}`);
  await waitForPhase(page, 'open');
  await recordPhases(page);
  return { context, page };
}

/** The indicator's phase: connecting, open, reconnecting, offline, closed (demo/app.js). */
export async function waitForPhase(page: Page, phase: string, timeout = 20_000): Promise<void> {
  await page.waitForFunction((wanted) => document.getElementById('connection')?.dataset.phase === wanted, phase, { timeout });
}

/** Records every phase the indicator shows from now on, in `window.phases`. */
export async function recordPhases(page: Page): Promise<void> {
  await page.evaluate(() => {
    const connection = document.getElementById('connection')!;
    const record = window as unknown as { phases: string[] };
    record.phases = [connection.dataset.phase ?? ''];
    new MutationObserver(() => {
      const phase = connection.dataset.phase ?? '';
      if (record.phases.at(-1) !== phase) record.phases.push(phase);
    }).observe(connection, { attributes: true, attributeFilter: ['data-phase'] });
  });
}

export function phases(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { phases: string[] }).phases);
}

/** Writes `text` in the chat box and sends it, as a user does. */
export async function send(page: Page, text: string): Promise<void> {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

/** The chat texts a page shows, top to bottom, that start with `prefix`. */
export function shown(page: Page, prefix: string): Promise<string[]> {
  return page.$$eval('#messages .text', (items, start) => items.map((item) => item.textContent ?? '').filter((text) => text.startsWith(start)), prefix);
}

/** How many of a page's own messages with `prefix` are in each status (pending, delivered, failed). */
export function statuses(page: Page, prefix: string): Promise<Record<string, number>> {
  return page.$$eval(
    '#messages .msg.mine',
    (items, start) => {
      const counts: Record<string, number> = {};
      for (const item of items) {
        if (!(item.querySelector('.text')?.textContent ?? '').startsWith(start)) continue;
        const status = (item as HTMLElement).dataset.status ?? 'none';
        counts[status] = (counts[status] ?? 0) + 1;
      }
      return counts;
    },
    prefix,
  );
}

/**
 * A WebSocket message without its frames of `type` (PROTOCOL.md: several frames per message, one
 * per line), or undefined when none is left; for routes that play a lossy network.
 */
export function withoutFrames(message: string | Buffer, type: string): string | undefined {
  const lines = message.toString().split('\n').filter((line) => !line.includes(`"type":"${type}"`));
  return lines.length === 0 ? undefined : lines.join('\n');
}

export const numbered = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);
