/**
 * netboot:index:Initramfs's whole lifecycle over an in-memory PXE host, with the build tools faked through the
 * context (the plan is a fixed manifest of a fake build host; "building" returns bytes derived from it): check
 * with build-host errors, create, diff naming the initramfs files that changed, read showing a published file
 * changed by hand, update (the previous build's files go), a failed write, delete removing only its files.
 * The real planner and compressors are proven by test/integration/bootImage.engine.test.ts.
 */
import * as fs from "fs";
import { sha256 } from "../../provider/drift/digest";
import { Plan } from "../../provider/build/plan";
import { renderManifest, ManifestEntry } from "../../provider/render/manifest";
import { NetbootProvider } from "../../provider/provider";
import { initramfsHandler } from "../../provider/resources/initramfs";
import { journalPath } from "../../provider/resources/journal";
import { schemaPath } from "../../provider/version";
import { MemoryTransport } from "../../provider/transport/memory";
import { testContext } from "../helpers/context";

const URN = "urn:pulumi:test::p::netboot:index:Initramfs::web-initramfs";
const DIR = "/srv/netboot/http/images/web";

/** What the fake build host holds: the files the plan puts in the initramfs, and the kernel. */
class FakeBuildHost {
  entries: ManifestEntry[] = [
    { path: "/init", type: "file", mode: 0o755, size: 10, sha256: sha256("init v1"), reason: "init" },
    { path: "/bin/busybox", type: "file", mode: 0o755, size: 20, sha256: sha256("busybox"), reason: "busybox" },
  ];
  kernel = Buffer.from("kernel 6.1.0-test");
  builds = 0;

  plan(m: { imageSource: string; compression: Plan["compression"] }, issues: { add(f: string, v: unknown, msg: string): void }): Plan | undefined {
    if (m.imageSource === "/missing") {
      issues.add("imageSource", m.imageSource, "does not exist on the build host");
      issues.add("kernelVersion", "6.1.0-test", "no /lib/modules/6.1.0-test on the build host: apt-get install linux-image-6.1.0-test");
      return undefined;
    }
    const manifest = renderManifest(this.entries);
    return {
      kernelVersion: "6.1.0-test", kernelPath: "/boot/vmlinuz-6.1.0-test", kernelSha256: sha256(this.kernel), modulesDir: "/lib/modules/6.1.0-test",
      files: [], manifest, init: { transport: "http" } as Plan["init"], compression: m.compression, initrdDigest: sha256(manifest),
      image: { source: m.imageSource, kind: "folder", compression: "z", digest: sha256("image v1"), fileName: "", exclude: [] },
      fs: undefined as unknown as Plan["fs"], kernel: this.kernel, notes: [],
    };
  }
}

function setup(host = new MemoryTransport()) {
  const build = new FakeBuildHost();
  const { ctx, progress } = testContext({
    // `local:/`: the build host a FileSet reads `source` files from (none here)
    transports: { "local:/srv/pxe": host, "local:/": new MemoryTransport() },
    tools: {
      planInitramfs: (m, issues) => build.plan(m, issues),
      buildInitrd: async (plan) => {
        build.builds++;
        const data = Buffer.from(`initrd of ${plan.initrdDigest}`);
        return { data, sha256: sha256(data), cached: false, fileName: `initrd-${sha256(data).slice(0, 12)}.img` };
      },
      buildImage: async (img) => ({ data: Buffer.from(`image of ${img.digest}`), cached: false }),
    },
  });
  return { host, build, progress, ctx, h: initramfsHandler(ctx) };
}

const args = (imageSource = "/srv/img") => ({
  host: { root: "/srv/pxe" }, httpRoot: "/srv/netboot/http", httpBaseUrl: "http://10.0.0.1/", name: "web",
  spec: { kernelVersion: "6.1.0-test", imageSource, transport: "http" },
});

test("check reports argument and build-host errors at once, before anything is built", async () => {
  const { h, build } = setup();
  const bad = await h.check(URN, {}, { ...args(), httpBaseUrl: "ftp://x", httpRoot: "srv" });
  expect(bad.failures!.map((f) => f.property).sort()).toEqual(["httpBaseUrl", "httpRoot"]);
  const missing = await h.check(URN, {}, args("/missing"));
  expect(missing.failures!.map((f) => f.reason)).toEqual([
    'netboot:index:Initramfs "web-initramfs": imageSource = "/missing": does not exist on the build host',
    'netboot:index:Initramfs "web-initramfs": kernelVersion = "6.1.0-test": no /lib/modules/6.1.0-test on the build host: apt-get install linux-image-6.1.0-test',
  ]);
  expect(build.builds).toBe(0);
});

test("each input is validated once: a program's own Initramfs checks its spec; a BootImage's child leaves that to the BootImage", async () => {
  const { h, build } = setup();
  const badSpec = { ...args(), spec: { ...args().spec, mode: "sideways" }, buildHost: { root: "/srv/build" } };
  // a program's own Initramfs: nobody else checked its spec and build host, so its check does
  const own = await h.check(URN, {}, badSpec);
  expect(own.failures!.map((f) => f.reason)).toEqual([
    'netboot:index:Initramfs "web-initramfs": buildHost.root = "/srv/build": a build host is this machine (leave buildHost out) or an SSH host',
    'netboot:index:Initramfs "web-initramfs": mode = "sideways": must be one of `ram`, `hybrid`',
  ]);
  // a BootImage's child: the BootImage's check (under its own name, at once with the program's other
  // components) is the one that reports these; here they are never reported a second time
  const CHILD = "urn:pulumi:test::p::netboot:index:BootImage$netboot:index:Initramfs::web-initramfs";
  await expect(h.check(CHILD, {}, badSpec)).rejects.toThrow(/^internal: the BootImage's check accepted what its Initramfs cannot build: .*mode = "sideways"/);
  // its own inputs and the build host's facts are still its check's
  const child = await h.check(CHILD, {}, { ...args("/missing"), httpRoot: "srv" });
  expect(child.failures!.map((f) => f.property)).toEqual(["httpRoot"]);
  expect((await h.check(CHILD, {}, args("/missing"))).failures!.map((f) => f.property)).toEqual(["imageSource", "kernelVersion"]);
  expect(build.builds).toBe(0);
});

test("create, diff, read drift, update, a failed write, delete", async () => {
  const { host, build, progress, h } = setup();
  const inputs = (await h.check(URN, {}, args())).inputs;
  expect(inputs.files).toEqual({ "/bin/busybox": sha256("busybox"), "/init": sha256("init v1") });
  const created = await h.create(URN, inputs);
  const published = () => [...host.files.keys()].filter((p) => p.startsWith(DIR)).sort();
  const kernel = `${DIR}/vmlinuz-6.1.0-test-${sha256(build.kernel).slice(0, 12)}`;
  const first = published();
  expect(first).toHaveLength(3); // kernel, initramfs, OS image (http)
  expect(first).toContain(kernel);
  expect(created.outs).toMatchObject({ kernelUrl: `http://10.0.0.1/images/web/vmlinuz-6.1.0-test-${sha256(build.kernel).slice(0, 12)}`, kernelVersion: "6.1.0-test" });
  expect(created.outs.args).toMatch(/^console=tty0 console=ttyS0,115200 netboot\.image=http:\/\/10\.0\.0\.1\/images\/web\/image-[0-9a-f]{12}\.tar\.gz$/);
  expect(progress.some((l) => l.includes("building the initramfs"))).toBe(true);

  // unchanged inputs: no change, nothing rebuilt
  expect((await h.diff(created.id, URN, created.outs, (await h.check(URN, created.outs, args())).inputs)).changes).toBe(false);

  // a changed file on the build host: diff names that initramfs file
  build.entries[0] = { ...build.entries[0], sha256: sha256("init v2") };
  const changed = (await h.check(URN, created.outs, args())).inputs;
  expect((await h.diff(created.id, URN, created.outs, changed)).detailedDiff).toEqual({ 'files["/init"]': { kind: "update" } });

  // a published file changed by hand: read finds it, diff names it
  host.files.set(kernel, { data: Buffer.from("not a kernel"), mode: 0o644 });
  const read = await h.read(created.id, URN, created.outs);
  expect(read.props.published[kernel]).toBe(sha256("not a kernel"));
  expect((await h.diff(created.id, URN, read.props, (await h.check(URN, read.props, args())).inputs)).detailedDiff).toMatchObject({ [`published["${kernel}"]`]: { kind: "update" } });

  // a failed write: the update fails, the previous build stays published
  host.failOn = { op: "write", error: "No space left on device" };
  await expect(h.update(created.id, URN, read.props, changed)).rejects.toThrow(/No space left on device/);
  expect(published()).toEqual(first);
  host.failOn = undefined;

  // the update publishes the new initramfs, repairs the kernel and removes the previous initramfs
  const updated = await h.update(created.id, URN, read.props, changed);
  const now = published();
  expect(now).toHaveLength(3);
  expect(host.files.get(kernel)!.data).toEqual(build.kernel);
  const oldInitrd = first.find((p) => p.includes("/initrd-"))!;
  expect(now).not.toContain(oldInitrd);
  expect(Object.keys(updated.outs.published).sort()).toEqual(now);

  // delete removes its files and its folders once empty, not a neighbour's
  host.files.set("/srv/netboot/http/images/other/vmlinuz", { data: Buffer.from("k"), mode: 0o644 });
  await h.delete(created.id, URN, updated.outs);
  expect([...host.files.keys()]).toEqual(["/srv/netboot/http/images/other/vmlinuz"]);
  expect(host.dirs.has(DIR)).toBe(false);
  expect(host.dirs.has("/srv/netboot/http/images")).toBe(true);
});

/**
 * The published folder is the Initramfs' own (issue 18: a path owned by two resources is refused naming both).
 * Through NetbootProvider.check, as the engine calls it: one provider per stack's run, over one host.
 */
describe("ownership of <httpRoot>/images/<name>/", () => {
  const stack = (host: MemoryTransport) => {
    const p = new NetbootProvider(setup(host).ctx, "0.1.0", fs.readFileSync(schemaPath(), "utf8"));
    const reasons = async (urn: string, news: any) => ((await p.check(urn, {}, news)).failures ?? []).map((f) => f.reason);
    return { p, reasons };
  };
  const FILE = "urn:pulumi:test::p::netboot:index:File::kernel";
  const SET = "urn:pulumi:test::p::netboot:index:FileSet::boot";
  const SECOND = "urn:pulumi:test::p::netboot:index:Initramfs::web2-initramfs";
  const kernel = `${DIR}/vmlinuz-6.1.0-test-0123456789ab`;

  test("in one stack: a File or FileSet in the folder, or a second Initramfs of the same name on the host, is refused naming both", async () => {
    const { reasons } = stack(new MemoryTransport());
    expect(await reasons(URN, args())).toEqual([]);
    // (a refused check waits for the provider's barrier, 1.5 s each: these run together)
    const [file, [set], [again]] = await Promise.all([
      reasons(FILE, { host: { root: "/srv/pxe" }, path: kernel, content: "x" }),
      reasons(SET, { host: { root: "/srv/pxe" }, files: { [`${DIR}/initrd-0123456789ab.img`]: { content: "x" } } }),
      reasons(SECOND, args()),
    ]);
    expect(file).toEqual([
      `netboot:index:File "kernel": path = "${kernel}": is also written by netboot:index:Initramfs "web-initramfs" (name); two resources must not own one path (each would rewrite it on every run, and deleting either would remove it)`,
    ]);
    expect(set).toContain(`files["${DIR}/initrd-0123456789ab.img"] = "${DIR}/initrd-0123456789ab.img": is also written by netboot:index:Initramfs "web-initramfs" (name)`);
    expect(again).toContain(`netboot:index:Initramfs "web2-initramfs": name = "${DIR}/": is also written by netboot:index:Initramfs "web-initramfs" (name)`);
    // another name, another host, or a file beside the folder is fine
    expect(await reasons(SECOND, { ...args(), name: "web2" })).toEqual([]);
    expect(await reasons(FILE, { host: { root: "/srv/pxe" }, path: `${DIR}.txt`, content: "x" })).toEqual([]);
    expect(await reasons(FILE, { host: { root: "/srv/other" }, path: kernel, content: "x" })).toEqual([]);
  });

  test("across stacks: the journal entry holds the folder, so another stack's File there or Initramfs of the name is refused", async () => {
    const host = new MemoryTransport();
    const a = stack(host);
    const checked = await a.p.check(URN, {}, args());
    expect(checked.failures ?? []).toEqual([]);
    await a.p.create(URN, checked.inputs);
    // another stack's runs: one provider process each
    const other = (urn: string) => urn.replace("urn:pulumi:test::", "urn:pulumi:lab::");
    const [[file], [img]] = await Promise.all([
      stack(host).reasons(other(FILE), { host: { root: "/srv/pxe" }, path: kernel, content: "x" }),
      stack(host).reasons(other(URN), args()),
    ]);
    expect(file).toContain(`netboot:index:File "kernel": path = "${kernel}": is also written by netboot:index:Initramfs "web-initramfs" of stack "test"`);
    expect(file).toContain(`rm /srv/pxe${journalPath(URN)}`);
    expect(img).toContain(`name = "${DIR}/": is also written by netboot:index:Initramfs "web-initramfs" of stack "test"`);
  });
});
