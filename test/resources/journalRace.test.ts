/**
 * Two stacks that check one path at the same moment (issue 18): neither has applied, so both checks pass; the
 * apply closes the gap by claim-then-verify (resources/journal.ts header). Two provider contexts over one
 * in-memory host stand for the two stacks' provider processes; calls go through NetbootProvider as the engine
 * makes them, interleaved by hand.
 */
import * as fs from "fs";
import { NetbootProvider } from "../../provider/provider";
import { JOURNAL_DIR, journalPath, readEntry } from "../../provider/resources/journal";
import { MemoryTransport } from "../../provider/transport";
import { schemaPath } from "../../provider/version";
import { testContext } from "../helpers/context";

const A = "urn:pulumi:a::p::netboot:index:File::motd";
const B = "urn:pulumi:b::p::netboot:index:File::banner";
const host = { root: "/srv" };

/** One stack's provider process over the shared host. */
function stack(t: MemoryTransport) {
  const { ctx } = testContext({ transports: { "local:/srv": t, "local:/": new MemoryTransport() } });
  const p = new NetbootProvider(ctx, "0.1.0", fs.readFileSync(schemaPath(), "utf8"));
  const check = async (urn: string, news: any, olds: any = {}) => {
    const r = await p.check(urn, olds, news);
    expect(r.failures ?? []).toEqual([]);
    return r.inputs;
  };
  return { p, check };
}

/** What a create/update rejected with (fails the test when it did not). */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return String((e as Error).message);
  }
  throw new Error("the apply was expected to be refused, and succeeded");
}

const motd = (text: string) => ({ host, path: "/etc/motd", content: text });

test("check A, check B, apply A, apply B: B is refused naming A, before it changes anything; its claim is withdrawn", async () => {
  const t = new MemoryTransport();
  const a = stack(t);
  const b = stack(t);
  const inA = await a.check(A, motd("a\n"));
  const inB = await b.check(B, motd("b\n"));
  await a.p.create(A, inA);
  const reason = await refusal(b.p.create(B, inB));
  expect(reason).toContain('netboot:index:File "banner": path = "/etc/motd": is also written by netboot:index:File "motd" of stack "a" of project "p"');
  expect(reason).toContain(A);
  expect(reason).toContain(`rm /srv${journalPath(A)}. This apply withdrew its claim and changed no file: that claim appeared after this resource's check (the two stacks ran at the same time)`);
  // the host holds A's file and A's finished entry only
  expect(t.files.get("/etc/motd")!.data.toString()).toBe("a\n");
  expect(await readEntry(t, B)).toBeUndefined();
  expect(await readEntry(t, A)).toMatchObject({ state: "done", paths: ["/etc/motd"] });
  expect(await t.list(JOURNAL_DIR)).toEqual([journalPath(A).split("/").pop()]);
  // B's next run is refused at check, as any path another stack holds
  const again = await stack(t).p.check(B, {}, motd("b\n"));
  expect(again.failures?.[0]?.reason).toContain('is also written by netboot:index:File "motd" of stack "a"');
});

test("both applying at once: each sees the other's claim, both fail and withdraw, the host is unchanged; a rerun of one succeeds", async () => {
  const t = new MemoryTransport();
  const a = stack(t);
  const b = stack(t);
  const inA = await a.check(A, motd("a\n"));
  const inB = await b.check(B, motd("b\n"));
  // from here on, a listing of the journal waits until both claims are on the host: both are "applying" at once
  const list = t.list.bind(t);
  const bothClaimed = () => t.files.has(journalPath(A)) && t.files.has(journalPath(B));
  t.list = async (d: string) => {
    for (let i = 0; d === JOURNAL_DIR && !bothClaimed() && i < 200; i++) await new Promise((r) => setTimeout(r, 5));
    return list(d);
  };
  const [ra, rb] = await Promise.all([refusal(a.p.create(A, inA)), refusal(b.p.create(B, inB))]);
  expect(ra).toContain('netboot:index:File "motd": path = "/etc/motd": is also written by netboot:index:File "banner" of stack "b" of project "p"');
  expect(rb).toContain('netboot:index:File "banner": path = "/etc/motd": is also written by netboot:index:File "motd" of stack "a" of project "p"');
  expect(rb).toContain("if that stack's apply fails the same way, both did: rerun one of them");
  expect(t.files.has("/etc/motd")).toBe(false);
  expect(await readEntry(t, A)).toBeUndefined();
  expect(await readEntry(t, B)).toBeUndefined();
  t.list = list;
  const rerun = stack(t);
  await rerun.p.create(A, await rerun.check(A, motd("a\n")));
  expect(t.files.get("/etc/motd")!.data.toString()).toBe("a\n");
  expect(await readEntry(t, A)).toMatchObject({ state: "done", paths: ["/etc/motd"] });
});

test("an update refused at apply puts its previous entry back, byte for byte, and leaves its files as they were", async () => {
  const t = new MemoryTransport();
  const SET = "urn:pulumi:a::p::netboot:index:FileSet::conf";
  const first = stack(t);
  const made = await first.p.create(SET, await first.check(SET, { host, files: { "/etc/issue": { content: "old\n" } } }));
  const entry = t.files.get(journalPath(SET))!.data.toString();
  // next run of stack a adds /etc/motd; stack b, checked at the same time, creates it first
  const a = stack(t);
  const b = stack(t);
  const news = await a.check(SET, { host, files: { "/etc/issue": { content: "new\n" }, "/etc/motd": { content: "a\n" } } }, made.outs);
  const inB = await b.check(B, motd("b\n"));
  await b.p.create(B, inB);
  const reason = await refusal(a.p.update(made.id, SET, made.outs, news));
  expect(reason).toContain('netboot:index:FileSet "conf": files["/etc/motd"] = "/etc/motd": is also written by netboot:index:File "banner" of stack "b"');
  expect(t.files.get(journalPath(SET))!.data.toString()).toBe(entry);
  expect(t.files.get("/etc/issue")!.data.toString()).toBe("old\n");
  expect(t.files.get("/etc/motd")!.data.toString()).toBe("b\n");
});

test("the apply-time re-read costs one listing and no read of this stack's entries", async () => {
  const t = new MemoryTransport();
  const a = stack(t);
  for (const n of ["x", "y", "z"]) {
    const u = `urn:pulumi:a::p::netboot:index:File::${n}`;
    await a.p.create(u, await a.check(u, { host, path: `/etc/${n}`, content: n }));
  }
  const next = stack(t);
  const inputs = await next.check(A, motd("a\n")); // the check reads the journal once (its cache)
  const list = t.list.bind(t);
  const get = t.get.bind(t);
  let lists = 0;
  const reads: string[] = [];
  t.list = async (d: string) => (d === JOURNAL_DIR && lists++, list(d));
  t.get = async (p: string, o?: any) => (p.startsWith(JOURNAL_DIR) && reads.push(p), get(p, o));
  await next.p.create(A, inputs);
  expect(lists).toBe(1);
  // its own entry (to put back if the claim were withdrawn), none of x, y, z
  expect(reads).toEqual([journalPath(A)]);
});
