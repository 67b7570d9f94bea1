import { FailureBarrier } from "../provider/barrier";

describe("FailureBarrier", () => {
  test("failures wait for every running check, then constructs go first, then the held checks", async () => {
    const events: string[] = [];
    const b = new FailureBarrier(() => events.push("answer pending constructs"), 5, 1);
    let finishSlow!: () => void;
    const slow = b.run(() => new Promise<void>((r) => (finishSlow = r))).then(() => events.push("slow check done"));
    const check = b.run(async () => undefined).then(() => b.failCheckLater()).then(() => events.push("check failure released"));
    const construct = b.run(async () => undefined)
      .then(() => b.failConstructLater({ block: () => events.push("block"), sacrifice: () => (events.push("sacrifice"), b.sacrificed()) }))
      .then(() => events.push("construct failure released"));
    await new Promise((r) => setTimeout(r, 30));
    expect(events).toEqual([]); // the slow check still runs: nothing is released
    finishSlow();
    await Promise.all([slow, check, construct]);
    expect(events).toEqual(["slow check done", "sacrifice", "construct failure released", "answer pending constructs", "check failure released"]);
  });

  test("with no failing check of its own, a refused construct registers the blocking check first", async () => {
    const events: string[] = [];
    const b = new FailureBarrier(() => events.push("answer pending constructs"), 5, 1);
    await b.run(async () => undefined);
    const done = b.failConstructLater({
      block: () => {
        events.push("block");
        // the refusal resource's check arrives at the provider and waits like any failing check
        void b.failCheckLater().then(() => events.push("refusal check failed"));
      },
      sacrifice: () => (events.push("sacrifice"), b.sacrificed()),
    }).then(() => events.push("construct failure released"));
    await done;
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual(["block", "sacrifice", "construct failure released", "answer pending constructs", "refusal check failed"]);
  });
});
