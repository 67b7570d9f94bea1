/**
 * netboot:index:OsImage's lifecycle over testContext() with a faked build (ctx.tools.osImage): check reports
 * every problem (a missing mmdebstrap with its Debian package, no mirror) before anything is built; create
 * builds; diff names the changed input and says nothing for unchanged ones; update reports the packages that
 * changed; read sees a root that changed or went away, and diff turns it into a rebuild. The real mmdebstrap
 * and the real engine are test/integration/osImage.test.ts.
 */
import { OsImageTools } from "../../provider/build/osImageBuild";
import { osImageHandler } from "../../provider/resources/osImage";
import { testContext } from "../helpers/context";

const URN = "urn:pulumi:test::p::netboot:index:OsImage::node";

function setup(opts: { missing?: boolean; mirror?: string } = {}) {
  const builds: string[] = [];
  const roots = new Map<string, string>(); // rootPath -> digest as it is now
  const packagesOf = (pkgs: string[]) => Object.fromEntries([["base-files", "12.4+deb12u10"], ...pkgs.map((p) => [p, "1.0"])]);
  const fake: OsImageTools = {
    missingTools: () => (opts.missing ? [{ tool: "mmdebstrap", pkg: "mmdebstrap" }] : []),
    machineMirror: () => ("mirror" in opts ? opts.mirror : "http://deb.debian.org/debian"),
    sourceContent: async () => "content",
    observe: async (root) => (roots.has(root) ? { digest: roots.get(root) as `sha256:${string}`, size: 1, entries: 1 } : undefined),
    build: async (m, inputDigest, o) => {
      if (m.kind !== "debian") throw new Error("debian only in this test");
      o.say("I: downloading packages with apt...");
      const rootPath = `/cache/osimages/${inputDigest.slice(7, 19)}/root`;
      const digest = `sha256:${inputDigest.slice(7, 19)}${"0".repeat(52)}` as const;
      const cached = roots.get(rootPath) === digest;
      if (!cached) builds.push(m.packages.join(","));
      roots.set(rootPath, digest);
      return { rootPath, digest, size: 123, packages: packagesOf(m.packages), kernelVersion: "", kernelPath: "", modulesDir: "", cached };
    },
  };
  const t = testContext({ tools: { osImage: fake } });
  return { ...t, h: osImageHandler(t.ctx), builds, roots };
}

const inputs = (packages: string[], customize: string[] = []) => ({ debian: { suite: "bookworm", packages, customize } });

test("check: every problem at once, the missing tool with its Debian package, nothing built", async () => {
  const { h, builds } = setup({ missing: true, mirror: undefined });
  const r = await h.check(URN, undefined, { debian: { suite: "bookworm", packages: ["ok", "no;way"] } });
  expect(r.failures!.map((f) => f.property)).toEqual(["debian.packages[1]"]);
  const r2 = await h.check(URN, undefined, inputs(["iproute2"]));
  expect(r2.failures!.map((f) => f.reason)).toEqual([
    `netboot:index:OsImage "node": debian = "mmdebstrap": needs mmdebstrap, which is not installed on this machine: run 'apt-get install -y mmdebstrap'`,
    expect.stringContaining("debian.mirror: this machine's apt sources name no Debian mirror"),
  ]);
  expect(builds).toEqual([]);
});

test("create builds, unchanged inputs are no change, a changed package list is named, update reports the packages", async () => {
  const { h, builds, progress } = setup();
  const c1 = await h.check(URN, undefined, inputs(["iproute2"]));
  expect(c1.failures).toEqual([]);
  expect(c1.inputs.inputDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
  const { outs } = await h.create(URN, c1.inputs);
  expect(outs).toMatchObject({ digest: expect.stringMatching(/^sha256:/), observedDigest: outs.digest, rootPath: expect.stringMatching(/^\/cache\/osimages\/[0-9a-f]{12}\/root$/), packageChanges: [], size: 123, lastBuild: { cached: "false" } });
  expect(progress.some((p) => p.endsWith("I: downloading packages with apt..."))).toBe(true);

  const same = await h.diff("id", URN, outs, (await h.check(URN, c1.inputs, inputs(["iproute2"]))).inputs);
  expect(same).toEqual({ changes: false, detailedDiff: {} });

  const c2 = await h.check(URN, c1.inputs, inputs(["iproute2", "curl"]));
  const d = await h.diff("id", URN, outs, c2.inputs);
  expect(d).toEqual({ changes: true, detailedDiff: { "debian.packages": { kind: "update", inputDiff: true } } });
  const u = await h.update("id", URN, outs, c2.inputs);
  expect(u.outs.packageChanges).toEqual([{ name: "curl", before: "", after: "1.0" }]);
  expect(progress).toContain(`${URN}: packages changed:\n+ curl 1.0`);
  expect(builds).toEqual(["iproute2", "iproute2,curl"]);

  const c3 = await h.check(URN, c2.inputs, inputs(["iproute2", "curl"], ["true"]));
  expect((await h.diff("id", URN, u.outs, c3.inputs)).detailedDiff).toEqual({ "debian.customize[0]": { kind: "update", inputDiff: true } });
});

test("read sees a root changed or gone; diff then names the digest and up rebuilds", async () => {
  const { h, roots, builds } = setup();
  const c = await h.check(URN, undefined, inputs([]));
  const { outs } = await h.create(URN, c.inputs);
  const fresh = await h.read("id", URN, outs);
  expect(fresh.props!.observedDigest).toBe(outs.digest);
  expect((await h.diff("id", URN, fresh.props, c.inputs)).changes).toBe(false);

  roots.set(outs.rootPath, "sha256:edited");
  const edited = await h.read("id", URN, outs);
  expect(edited.props!.observedDigest).toBe("sha256:edited");
  expect(await h.diff("id", URN, edited.props, c.inputs)).toEqual({ changes: true, detailedDiff: { digest: { kind: "update" } } });
  roots.delete(outs.rootPath);
  expect((await h.read("id", URN, outs)).props!.observedDigest).toBe("");
  const up = await h.update("id", URN, edited.props, c.inputs);
  expect(up.outs.observedDigest).toBe(outs.digest);
  expect(builds).toEqual(["", ""]);
});

test("unknown inputs (a fresh stack's preview): check passes them through, diff says it may change", async () => {
  const { h } = setup();
  const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
  const c = await h.check(URN, undefined, { debian: { suite: "bookworm", packages: [unknown] } });
  expect(c.failures).toEqual([]);
  expect((await h.diff("id", URN, {}, c.inputs)).changes).toBe(true);
});
