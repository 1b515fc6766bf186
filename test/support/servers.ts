import { inspect } from 'node:util';
import { HoldfastServer, type ServerOptions } from '../../src/server/index.js';

export interface TestServerOptions extends ServerOptions {
  /**
   * Errors the test provokes on purpose (a failing store, a throwing hook): `true` for any, or a
   * predicate that accepts the expected ones. Ignored when the test passes its own `onError`.
   */
  expectErrors?: boolean | ((error: unknown) => boolean);
}

export interface TestServer {
  server: HoldfastServer;
  url: string;
  port: number;
  /** Every error the server reported through `onError` (unless the test passed its own). */
  errors: unknown[];
  /** Closes the server; rejects when it reported an error the test did not expect. */
  close(): Promise<void>;
}

/**
 * A real Holdfast server on a free loopback port. An error the server reports and recovers from
 * (onError) is a bug unless the test provoked it, so `close()` fails the test on an unexpected one.
 */
export async function startServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { expectErrors = false, ...serverOptions } = options;
  const errors: unknown[] = [];
  const unexpected: unknown[] = [];
  const expected = typeof expectErrors === 'function' ? expectErrors : () => expectErrors;
  const onError = (error: unknown): void => {
    errors.push(error);
    if (!expected(error)) unexpected.push(error);
  };
  const server = new HoldfastServer({ port: 0, host: '127.0.0.1', onError, ...serverOptions });
  await server.ready;
  const port = server.port;
  return {
    server,
    port,
    url: `ws://127.0.0.1:${port}/holdfast`,
    errors,
    async close() {
      await server.close();
      if (unexpected.length > 0) {
        const list = unexpected.map((error) => inspect(error, { depth: 2 })).join('\n');
        throw new AggregateError(unexpected, `the server reported ${unexpected.length} unexpected error(s) through onError:\n${list}`);
      }
    },
  };
}
