import type { ServerFrame } from '../../src/protocol/index.js';
import type { HubSocket } from '../../src/server/index.js';

/** An in-process socket for driving the Hub without a network: records what the hub sends. */
export class FakeSocket implements HubSocket {
  readonly sent: string[] = [];
  bufferedAmount = 0;
  closedWith: { code: number; reason: string } | undefined;
  terminated = false;
  paused = false;

  send(text: string): void {
    this.sent.push(text);
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
  terminate(): void {
    this.terminated = true;
  }
  pauseReading(): void {
    this.paused = true;
  }
  resumeReading(): void {
    this.paused = false;
  }

  frames(): ServerFrame[] {
    return this.sent.map((text) => JSON.parse(text) as ServerFrame);
  }

  ofType<T extends ServerFrame['type']>(type: T): Array<Extract<ServerFrame, { type: T }>> {
    return this.frames().filter((frame): frame is Extract<ServerFrame, { type: T }> => frame.type === type);
  }
}
