import { connect, type Socket } from 'node:net';

/** A hand-written HTTP exchange on a raw TCP socket: for requests no HTTP client would send. */
export class RawHttp {
  /** Everything the server wrote so far. */
  received = '';
  /** Resolves when the server (or the test) closed the connection. */
  readonly closed: Promise<void>;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1').on('data', (chunk: string) => (this.received += chunk));
    socket.on('error', () => undefined); // a reset shows as the close
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Connects to 127.0.0.1:`port` and writes `bytes` (more may follow with `write`); the socket stays open. */
  static async send(port: number, bytes: string): Promise<RawHttp> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const exchange = new RawHttp(socket);
    socket.write(bytes, 'latin1');
    return exchange;
  }

  /** The status code of the answer, once the server closed the connection (rejects after `ms`). */
  async statusAtClose(ms = 10_000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the server did not close within ${ms} ms; received ${JSON.stringify(this.received)}`)), ms);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
    const match = /^HTTP\/1\.1 (\d{3}) /.exec(this.received);
    if (match === null) throw new Error(`no HTTP status line before the close: ${JSON.stringify(this.received)}`);
    return Number(match[1]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** An upgrade request to `target` with a valid key and version, ending the headers unless `complete` is false. */
export function upgradeRequest(target: string, extraHeaders: Record<string, string> = {}, complete = true): string {
  const headers = {
    Host: 'localhost',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...extraHeaders,
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `GET ${target} HTTP/1.1\r\n${lines.join('')}${complete ? '\r\n' : ''}`;
}
