/**
 * What the run must undo, last started first: processes, proxies, temp folders. `run()` is safe to
 * call more than once and from a signal handler; a step that fails does not stop the others.
 */
export class Cleanup {
  private readonly steps: Array<() => Promise<void> | void> = [];
  private running: Promise<void> | undefined;

  add(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.splice(0).reverse()) {
        try {
          await step();
        } catch (error) {
          console.error('chaos: cleanup step failed:', error);
        }
      }
    })();
    return this.running;
  }
}
