import type { Publisher } from './http-api.js';

export interface PriceTick {
  symbol: string;
  price: number;
  /** Difference to the symbol's previous price: its sign tells the board which way to flash. */
  change: number;
}

export interface PriceFeedOptions {
  topic?: string;
  /** ms between ticks. @default 500 */
  interval?: number;
  /** Symbol → starting price. */
  symbols?: Record<string, number>;
  /** Source of randomness in [0, 1), replaceable for tests. @default Math.random */
  random?: () => number;
  /** @default console.error */
  onError?: (error: unknown) => void;
}

export const DEFAULT_SYMBOLS: Readonly<Record<string, number>> = {
  AAPL: 189.5,
  MSFT: 415.2,
  NVDA: 121.4,
  AMZN: 178.3,
  GOOG: 164.9,
  TSLA: 242.1,
  BTC: 64210,
  ETH: 3120.5,
};

/**
 * Demo traffic for the `latest` topic: a random walk per symbol, published with `key = symbol` so
 * the store keeps only each symbol's newest price and a (re)subscriber gets the whole board at once.
 * Every symbol is published on start; afterwards each tick moves a random half of them, so the
 * board changes unevenly, like a real one.
 */
export function startPriceFeed(publisher: Publisher, options: PriceFeedOptions = {}): { stop(): void } {
  const topic = options.topic ?? 'prices';
  const random = options.random ?? Math.random;
  const onError = options.onError ?? ((error: unknown) => console.error('[holdfast] price feed:', error));
  const prices = new Map(Object.entries(options.symbols ?? DEFAULT_SYMBOLS));
  let stopped = false;

  const publish = (symbol: string, price: number, change: number) => {
    const tick: PriceTick = { symbol, price, change };
    publisher.publish(topic, tick, { key: symbol }).catch((error: unknown) => {
      if (!stopped) onError(error); // a publish racing the shutdown is expected to fail
    });
  };

  for (const [symbol, price] of prices) publish(symbol, price, 0);

  const timer = setInterval(() => {
    for (const [symbol, price] of prices) {
      if (random() < 0.5) continue;
      // ±0.4 % per step; rounding keeps the numbers readable and the change exact.
      const next = Math.max(0.01, round(price * (1 + (random() - 0.5) * 0.008)));
      if (next === price) continue;
      prices.set(symbol, next);
      publish(symbol, next, round(next - price));
    }
  }, options.interval ?? 500);
  // The feed alone must not keep a process alive that is otherwise done.
  timer.unref();

  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
