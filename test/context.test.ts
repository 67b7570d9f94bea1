/**
 * The provider context: one transport per host and credentials, closed by `close()`; state never shared
 * between two contexts (what module-level singletons used to share between every test of a file).
 */
import { ProviderContext } from "../provider/context";
import { MemoryTransport } from "../provider/transport/memory";

function counting() {
  const opened: MemoryTransport[] = [];
  const listed: string[] = [];
  const ctx = new ProviderContext({
    openTransport: () => {
      const t = new MemoryTransport();
      const list = t.list.bind(t);
      t.list = (dir) => (listed.push(dir), list(dir));
      opened.push(t);
      return t;
    },
    progress: { report: () => undefined },
  });
  return { ctx, opened, listed };
}

const ssh = (privateKey: string) => ({ ssh: { host: "10.0.0.2", user: "root", port: 22, privateKey, hostKey: "ssh-ed25519 AAAA" } });

test("one transport per host and credentials, all closed by close()", async () => {
  const { ctx, opened } = counting();
  expect(ctx.transport({ root: "/a" })).toBe(ctx.transport({ root: "/a" }));
  expect(ctx.transport({ root: "/a" })).not.toBe(ctx.transport({ root: "/b" }));
  expect(ctx.transport(ssh("key-1"))).toBe(ctx.transport(ssh("key-1")));
  // a new key for the same user@host:port opens a new connection
  expect(ctx.transport(ssh("key-1"))).not.toBe(ctx.transport(ssh("key-2")));
  expect(opened).toHaveLength(4);

  const closed: MemoryTransport[] = [];
  for (const t of opened) t.close = async () => void closed.push(t);
  await ctx.close();
  expect(closed).toEqual(opened);
  // after close, a host is opened afresh
  ctx.transport({ root: "/a" });
  expect(opened).toHaveLength(5);
});

test("two contexts share no claims and no hostsdir reads", async () => {
  const a = counting();
  const b = counting();
  const claim = { kind: "mac" as const, value: "52:54:00:00:00:01", group: "g1", field: "nodes[0].macs[0]" };
  a.ctx.claims.register("local:/srv/hosts", "g1", [claim]);
  expect(a.ctx.claims.register("local:/srv/hosts", "g2", []).holder(claim, "g2")?.group).toBe("g1");
  expect(b.ctx.claims.register("local:/srv/hosts", "g2", []).holder(claim, "g2")).toBeUndefined();

  await a.ctx.hostsDirs.read({ root: "/srv" }, "/srv/hosts", "g1");
  await a.ctx.hostsDirs.read({ root: "/srv" }, "/srv/hosts", "g2");
  await b.ctx.hostsDirs.read({ root: "/srv" }, "/srv/hosts", "g1");
  expect(a.listed).toEqual(["/srv/hosts"]); // read once per context, whatever the number of groups
  expect(b.listed).toEqual(["/srv/hosts"]);
});
