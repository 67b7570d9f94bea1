import { beginApply, beginDelete, distrust, endApply, endDelete, JOURNAL_DIR, journalPath, newNonce, readEntry } from "../../provider/resources/journal";
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
