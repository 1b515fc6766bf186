/**
 * Catches what escapes to the event loop while a fuzz run goes on: an exception or a rejection no
 * code handled would crash a production server, so each one is a failure of the property, not of
 * the test process.
 */
export class EscapeTrap {
  readonly escaped: unknown[] = [];
  private readonly onException = (error: unknown): void => void this.escaped.push(error);
  private readonly onRejection = (reason: unknown): void => void this.escaped.push(reason);

  install(): this {
    process.on('uncaughtException', this.onException);
    process.on('unhandledRejection', this.onRejection);
    return this;
  }

  uninstall(): void {
    process.off('uncaughtException', this.onException);
    process.off('unhandledRejection', this.onRejection);
  }

  /** Throws (failing the current run) when anything escaped since `since` (a count of escapes). */
  assertNoneSince(since: number, during: string): void {
    const escaped = this.escaped.slice(since);
    if (escaped.length === 0) return;
    const first = escaped[0] instanceof Error ? (escaped[0].stack ?? escaped[0].message) : String(escaped[0]);
    throw new Error(`${escaped.length} error(s) escaped to the event loop during ${during}; the first: ${first}`);
  }
}
