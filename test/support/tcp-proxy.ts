import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket;
  /** When true, bytes are swallowed in both directions but neither socket is closed. */
  silent: boolean;
}

/**
 * A TCP proxy on loopback that tests use to break connections the way networks do: abruptly
 * (`killAll`: both sides reset) or silently (`blackholeAll`: the sockets stay open but nothing
 * gets through, like a dead NAT entry or a half-open TCP connection). Given several target ports
 * it is a round-robin load balancer with no stickiness: each new connection goes to the next one.
 */
export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  /** Connections accepted so far. */
  accepted = 0;
  /** While true, new connections are reset at once (the server looks unreachable). */
  refusing = false;

  private constructor(
    private readonly server: Server,
    private readonly targetPorts: readonly number[],
  ) {}

  static async start(target: number | readonly number[]): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, typeof target === 'number' ? [target] : target);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get openPairs(): number {
    return this.pairs.size;
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.targetPorts[this.accepted % this.targetPorts.length]!, '127.0.0.1');
    this.accepted++;
    const pair: Pair = { client, upstream, silent: false };
    this.pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk) => pair.silent || upstream.write(chunk));
    upstream.on('data', (chunk) => pair.silent || client.write(chunk));
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  }

  /** Resets every open connection in both directions, as a network failure would. */
  killAll(): number {
    const count = this.pairs.size;
    for (const pair of [...this.pairs]) {
      this.pairs.delete(pair);
      pair.client.resetAndDestroy();
      pair.upstream.resetAndDestroy();
    }
    return count;
  }

  /** Stops forwarding on every open connection without closing anything. */
  blackholeAll(): number {
    for (const pair of this.pairs) pair.silent = true;
    return this.pairs.size;
  }

  async close(): Promise<void> {
    this.killAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
