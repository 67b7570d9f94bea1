/**
 * Holds back failures until the provider is quiet, so one run reports every resource's errors.
 *
 * The engine stops a deployment at the first failed construct or check (source_eval.go: `abortChan`) and then
 * shuts the provider down: a check still running in another resource never reports, and the engine prints
 * `grpc: the client connection is closing` for it instead. So a failing construct or check waits here until
 * no other construct or check is running, and none has started or ended for `settleMs` (a resource whose
 * inputs come from a component that just finished arrives a few milliseconds later). Then all pending
 * failures are released together.
 *
 * Nothing is written while a failure waits: the failing resource registered nothing, and every other resource
 * of the run either fails with it or is stopped by the engine's abort. One instance per provider process
 * (provider.ts; the ctx branch moves it into the ProviderContext).
 */
export class FailureBarrier {
  private busy = 0;
  private lastChange = 0;
  private waiters: Array<{ kind: "construct" | "check"; resolve: () => void }> = [];
  private timer: NodeJS.Timeout | undefined;

  /**
   * `onRelease` runs once the held failures were answered (provider.ts answers the constructs still in flight,
   * which the engine's abort would otherwise cut off).
   */
  constructor(private readonly onRelease: () => void = () => undefined, private readonly settleMs = 750, private readonly now: () => number = Date.now) {}

  /** Runs `f` as one busy operation (a construct's or a check's validation). */
  async run<T>(f: () => Promise<T>): Promise<T> {
    this.enter();
    try {
      return await f();
    } finally {
      this.leave();
    }
  }

  /**
   * Called by a failing operation after it left: resolves when the provider has been quiet long enough.
   * Constructs are released first, then `onRelease`, then checks: a failed check stops the engine at once,
   * while the answers to constructs must reach it before that.
   */
  failLater(kind: "construct" | "check"): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ kind, resolve });
      this.poke();
    });
  }

  enter(): void {
    this.busy++;
    this.lastChange = this.now();
  }

  leave(): void {
    this.busy--;
    this.lastChange = this.now();
    this.poke();
  }

  private poke(): void {
    if (this.waiters.length === 0 || this.busy > 0 || this.timer) return;
    const wait = Math.max(0, this.lastChange + this.settleMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.busy > 0) return; // the last leave() pokes again
      if (this.now() - this.lastChange < this.settleMs) return this.poke();
      const w = this.waiters;
      this.waiters = [];
      for (const x of w) if (x.kind === "construct") x.resolve();
      // after the failing constructs have thrown (their answers go first), then the checks
      setTimeout(() => {
        this.onRelease();
        setTimeout(() => {
          for (const x of w) if (x.kind === "check") x.resolve();
        }, 100);
      }, 50);
    }, wait);
  }
}
