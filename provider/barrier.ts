/**
 * Holds back failures until the provider is quiet, so one run reports every resource's errors.
 *
 * What the engine does (pkg/resource/deploy, v3.248.0): a failed construct prints its error, then sends on
 * `abortChan`, which the source iterator reads when the deployment executor asks for the next event; the
 * executor then cancels the run and shuts the provider down. A failed check stops the executor at once. So
 * a check still running in another resource never reports (the CLI prints `grpc: the client connection is
 * closing` for it), and the program's own copy of the first construct error arrives as `resource monitor shut
 * down` with a JavaScript stack trace.
 *
 * So failures wait here until no construct or check is running and none has started or ended for `settleMs`
 * (a component whose inputs come from one that just finished arrives a few milliseconds later). Then:
 * 1. one failing check is held open: the executor is inside it, so it reads no abort and answers no program
 *    call. With no failing check of its own, the run makes one (`block`: a construct registers a refusal
 *    resource whose check lands here);
 * 2. the failing constructs are answered (the engine prints each under its resource), then `onRelease`
 *    answers the constructs still in flight (provider.ts);
 * 3. the held checks fail: the engine stops, and the program's pending calls end as "monitor unavailable",
 *    which the SDK does not print.
 * The pauses between the steps only order the answers; nothing is written while a failure waits.
 *
 * One instance per provider process (provider.ts; the ctx branch moves it into the ProviderContext).
 */
/** What a refused construct can register in its runtime context (steps 1 and 2). */
export interface Stopper {
  /** a custom resource whose check fails here (holds the executor) */
  block(): void;
  /** a remote component whose construct fails at once (takes the engine's one abort, see step 2) */
  sacrifice(): void;
}

type Waiter = { kind: "construct"; resolve: () => void; stopper?: Stopper } | { kind: "check"; resolve: () => void };

export class FailureBarrier {
  private busy = 0;
  private lastChange = 0;
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private releasing = false;
  private checkArrived: (() => void) | undefined;
  private sacrificeDone: (() => void) | undefined;
  /** Stoppers of the constructs in flight: a run whose failures are all checks stops through one of them. */
  private readonly inFlight = new Set<Stopper>();

  constructor(
    private readonly onRelease: () => void = () => undefined,
    private readonly settleMs = 1500,
    private readonly pauseMs = 400,
  ) {}

  /** Runs `f` as one busy operation (a construct's or a check's validation). */
  async run<T>(f: () => Promise<T>): Promise<T> {
    this.busy++;
    this.lastChange = Date.now();
    try {
      return await f();
    } finally {
      this.busy--;
      this.lastChange = Date.now();
      this.poke();
    }
  }

  /**
   * A construct is in flight until the returned function is called. When the failures are all checks (a
   * BootImage's Initramfs refused while the BootImage's construct waits for it), its stopper takes the
   * engine's abort (step 2), so the construct's "not constructed" answer prints no stack trace.
   */
  constructing(stopper: Stopper): () => void {
    this.inFlight.add(stopper);
    return () => void this.inFlight.delete(stopper);
  }

  /** A failing construct waits here. */
  failConstructLater(stopper: Stopper): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ kind: "construct", resolve, stopper });
      this.poke();
    });
  }

  /** The sacrificial construct (step 2) was answered. */
  sacrificed(): void {
    this.sacrificeDone?.();
  }

  /** A failing check waits here. */
  failCheckLater(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ kind: "check", resolve });
      this.checkArrived?.();
      this.poke();
    });
  }

  private poke(): void {
    if (this.releasing || this.waiters.length === 0 || this.busy > 0 || this.timer) return;
    const wait = Math.max(0, this.lastChange + this.settleMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.busy > 0) return; // the last run() pokes again
      if (Date.now() - this.lastChange < this.settleMs) return this.poke();
      void this.release();
    }, wait);
  }

  private async release(): Promise<void> {
    this.releasing = true;
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // `p`, or `ms` at most: a resource that never comes must not hold the run (the timer goes with `p`)
    const within = (p: Promise<void>, ms: number) =>
      new Promise<void>((r) => {
        const t = setTimeout(r, ms);
        void p.then(() => (clearTimeout(t), r()));
      });
    const stopper = (this.waiters.find((w) => w.kind === "construct" && w.stopper) as { stopper: Stopper } | undefined)?.stopper ??
      (this.waiters.some((w) => w.kind === "check") ? this.inFlight.values().next().value : undefined);
    if (stopper) {
      if (!this.waiters.some((w) => w.kind === "check")) {
        const arrived = new Promise<void>((r) => (this.checkArrived = r));
        stopper.block();
        // The refusal's check comes within milliseconds; if it never does, answer anyway.
        await within(arrived, 10_000);
        this.checkArrived = undefined;
      }
      const done = new Promise<void>((r) => (this.sacrificeDone = r));
      stopper.sacrifice();
      await within(done, 10_000);
      this.sacrificeDone = undefined;
      await pause(this.pauseMs); // the engine reads its abort before the other answers come
    }
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) if (x.kind === "construct") x.resolve();
    await pause(this.pauseMs);
    this.onRelease();
    await pause(this.pauseMs);
    for (const x of w) if (x.kind === "check") x.resolve();
    this.releasing = false;
    this.poke();
  }
}
