import { beginApply, beginDelete, distrust, endApply, endDelete, JOURNAL_DIR, JOURNAL_OFF, journaled, journalPath, newNonce, readEntry } from "../../provider/resources/journal";
import { MemoryTransport } from "../../provider/transport";

const URN = "urn:pulumi:test::p::netboot:index:FileSet::files";

describe("intent journal", () => {
  test("a finished apply is trusted only with the nonce state holds", async () => {
    const t = new MemoryTransport();
    const n = newNonce();
    await beginApply(t, URN, n);
    expect(distrust(await readEntry(t, URN), n)).toMatch(/interrupted \(or failed\) before it finished/);
    await endApply(t, URN, n);
    expect(distrust(await readEntry(t, URN), n)).toBeUndefined();
    // the engine was killed after our reply: state still holds the previous apply's nonce
    expect(distrust(await readEntry(t, URN), newNonce())).toMatch(/not the one in state/);
    expect(t.files.get(journalPath(URN))!.mode).toBe(0o600);
  });

  test("an interrupted delete is never trusted, and a finished one leaves nothing", async () => {
    const t = new MemoryTransport();
    const n = newNonce();
    await beginApply(t, URN, n);
    await endApply(t, URN, n);
    await beginDelete(t, URN);
    expect(distrust(await readEntry(t, URN), n)).toMatch(/delete or destroy was interrupted/);
    await endDelete(t, URN);
    expect(distrust(await readEntry(t, URN), n)).toMatch(/no journal entry/);
    expect(t.files.size).toBe(0);
    expect([...t.dirs].filter((d) => d.startsWith("/var/lib/netboot"))).toEqual([]);
  });

  test("state without a nonce (an older netboot) and a torn entry are not trusted", async () => {
    const t = new MemoryTransport();
    expect(distrust(undefined, undefined)).toMatch(/older netboot/);
    await t.put(journalPath(URN), "{\"state\":\"do", { mode: 0o600 });
    expect(await readEntry(t, URN)).toBeUndefined();
    await t.put(journalPath(URN), JSON.stringify({ urn: URN, state: "weird", nonce: "x" }), { mode: 0o600 });
    expect(await readEntry(t, URN)).toBeUndefined();
  });

  test("one entry per URN, below the journal folder", () => {
    expect(journalPath(URN)).toMatch(new RegExp(`^${JOURNAL_DIR}/[0-9a-f]{32}\\.json$`));
    expect(journalPath(URN)).toBe(journalPath(URN));
    expect(journalPath(URN + "2")).not.toBe(journalPath(URN));
  });
});

describe("journaled(): the rule around a handler", () => {
  const host = { root: "/t" };
  const inner = {
    check: async (_u: string, _o: any, n: any) => ({ inputs: n }),
    diff: async () => ({ changes: false, detailedDiff: {} }),
    create: async (_u: string, inputs: any) => ({ id: "x", outs: { ...inputs } }),
    read: async (id: string, _u: string, props: any) => ({ id, props }),
    update: async (_i: string, _u: string, _o: any, news: any) => ({ outs: { ...news } }),
    delete: async () => undefined,
  };

  test("a finished create is trusted; a host whose journal was lost is not", async () => {
    const t = new MemoryTransport();
    const h = journaled(inner, () => t, (p) => p?.host);
    const { outs } = await h.create(URN, { host });
    expect(outs.journal).toMatch(/^[0-9a-f]{24}$/);
    expect((await h.diff("x", URN, outs, { host })).changes).toBe(false);
    await t.remove(journalPath(URN));
    const d = await h.diff("x", URN, outs, { host });
    expect(d.changes).toBe(true);
    expect(d.detailedDiff).toHaveProperty("journal");
  });

  test("a host without a writable journal folder: the apply goes on with a warning, and state is trusted", async () => {
    const t = new MemoryTransport();
    t.failOn = { op: "write", path: journalPath(URN), error: "permission denied" };
    const said: string[] = [];
    const h = journaled(inner, () => t, (p) => p?.host, (_u, m) => said.push(m));
    const { outs } = await h.create(URN, { host });
    expect(outs.journal).toBe(JOURNAL_OFF);
    expect(said.join("\n")).toMatch(/no intent journal on memory .* not writable/);
    expect((await h.diff("x", URN, outs, { host })).changes).toBe(false);
    await h.delete("x", URN, outs);
  });

  test("any other failure to write the journal stops the apply before anything is written", async () => {
    const t = new MemoryTransport();
    t.failOn = { op: "write", path: journalPath(URN), error: "connection lost" };
    let ran = false;
    const h = journaled({ ...inner, create: async (u: string, i: any) => ((ran = true), inner.create(u, i)) }, () => t, (p) => p?.host);
    await expect(h.create(URN, { host })).rejects.toThrow(/connection lost/);
    expect(ran).toBe(false);
  });

  test("an update that moves to another host: the old host's entry says `applying` until the move is done, then goes", async () => {
    const a = new MemoryTransport();
    const b = new MemoryTransport();
    const of = (host: { root?: string }) => (host.root === "/a" ? a : b);
    let fail = false;
    const h = journaled({ ...inner, update: async (...x: [string, string, any, any]) => {
      if (fail) throw new Error("killed");
      return inner.update(...x);
    } }, of, (p) => p?.host);
    const { outs } = await h.create(URN, { host: { root: "/a" } });
    // the move is cut short: state still names host a, whose entry no longer vouches for it
    fail = true;
    await expect(h.update("x", URN, outs, { host: { root: "/b" } })).rejects.toThrow(/killed/);
    expect(await readEntry(a, URN)).toMatchObject({ state: "applying" });
    expect((await h.diff("x", URN, outs, { host: { root: "/a" } })).detailedDiff).toHaveProperty("journal");
    fail = false;
    const moved = await h.update("x", URN, outs, { host: { root: "/b" } });
    expect(a.files.has(journalPath(URN))).toBe(false);
    expect(await readEntry(b, URN)).toMatchObject({ state: "done", nonce: moved.outs.journal });
    expect((await h.diff("x", URN, moved.outs, { host: { root: "/b" } })).changes).toBe(false);
  });
});
