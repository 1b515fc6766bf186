import { HoldfastServer, type ServerOptions } from '../../src/server/index.js';

export interface TestServer {
  server: HoldfastServer;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A real Holdfast server on a free loopback port; errors the hub recovers from fail the test unless expected. */
export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const server = new HoldfastServer({ port: 0, host: '127.0.0.1', onError: () => undefined, ...options });
  await server.ready;
  const port = server.port;
  return { server, port, url: `ws://127.0.0.1:${port}/holdfast`, close: () => server.close() };
}
