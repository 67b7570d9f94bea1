/**
 * netboot:index:NetworkImage's whole lifecycle (RAM mode, NFS) over an in-memory export: the mount, the image
 * plan and the packing are faked through the context; the export is a MemoryTransport whose `tar -t` (the nodes'
 * reader checking the staged tarball) answers from its files, and which runs no `sha256sum`: files on the volume
 * are observed through the lifecycle's shared observe step (issue 16). Check, create, diff, read
 * showing a tarball changed by hand, update keeping one previous generation, the reader refusing the staged
 * tarball (live image unchanged), a failed write, delete removing only what it published. The real mounts,
 * trees and tar are proven by test/integration/bootImage.publish.test.ts and bootImage.nfs.test.ts.
 */
import { sha256 } from "../../provider/drift/digest";
import { ImagePlan } from "../../provider/build/plan";
import { networkImageHandler } from "../../provider/resources/networkImage";
import { beginApply, journalPath, readEntry } from "../../provider/resources/journal";
import { customResources } from "../../provider/registry";
import { ExecResult } from "../../provider/transport";
import { MemoryTransport } from "../../provider/transport/memory";
import { testContext } from "../helpers/context";

const URN = "urn:pulumi:test::p::netboot:index:NetworkImage::compute-image";
const DIR = "/netboot/images/compute";

function setup() {
  const host = new MemoryTransport(); // the publish host (mounts happen there)
  const volume = new MemoryTransport(); // the export, as the mount shows it
  let readerFails = false;
  const execs: string[][] = [];
  volume.execHandler = (argv): ExecResult => {
    execs.push(argv);
    if (argv[0] === "sh" && argv[2].includes("tar -t")) return readerFails ? { code: 1, stdout: "", stderr: "tar: invalid magic" } : { code: 0, stdout: "", stderr: "" };
    return { code: 1, stdout: "", stderr: `unexpected ${argv.join(" ")}` };
  };
  const source = { content: "image v1", mounts: 0 };
  const { ctx } = testContext({
    transports: { "local:/": host },
    tools: {
      planImage: (m, issues): ImagePlan | undefined => {
        if (m.imageSource === "/missing") {
          issues.add("imageSource", m.imageSource, "does not exist");
          return undefined;
        }
        return { source: m.imageSource, kind: "folder", compression: "z", digest: sha256(`walk of ${source.content}`), fileName: "", exclude: [] };
      },
      buildImage: async () => ({ data: Buffer.from(source.content), cached: false }),
      withNetworkFs: async (t, spec, work) => {
        expect(t).toBe(host);
        expect(spec).toEqual({ kind: "nfs", export: "10.0.0.5:/export" });
        source.mounts++;
        return work({ fs: volume, hostPath: (p) => p });
      },
    },
  });
  // `journaled`: the handler as the provider serves it (registry.ts), through the intent journal
  return { host, volume, source, execs, h: networkImageHandler(ctx), journaled: customResources(ctx)["netboot:index:NetworkImage"], failReader: (v: boolean) => (readerFails = v) };
}

const args = (imageSource = "/srv/img") => ({
  host: {}, name: "compute",
  spec: { kernelVersion: "6.1.0-test", imageSource, transport: "nfs", nfsExport: "10.0.0.5:/export" },
});
const tarball = (content: string) => `${DIR}/image-${sha256(content).slice(0, 12)}.tar.gz`;

test("check reports every error at once", async () => {
  const { h } = setup();
  const r = await h.check(URN, {}, { ...args("/missing"), spec: { ...args("/missing").spec, nfsExport: "server:/x", mode: "sometimes" } });
  expect(r.failures!.map((f) => f.property).sort()).toEqual(["mode", "nfsExport"]);
  const r2 = await h.check(URN, {}, args("/missing"));
  expect(r2.failures!.map((f) => f.property)).toEqual(["imageSource"]);
});

test("create, diff, read drift, update, a refused tarball, a failed write, delete", async () => {
  const { volume, source, execs, h, failReader } = setup();
  const inputs = (await h.check(URN, {}, args())).inputs;
  const created = await h.create(URN, inputs);
  const v1 = tarball("image v1");
  expect(volume.files.get(v1)!.data.toString()).toBe("image v1");
  expect(created.outs).toMatchObject({ imageFile: v1.split("/").pop(), args: `netboot.image=${v1.split("/").pop()}`, published: { [v1]: sha256("image v1") }, previous: {} });

  expect((await h.diff(created.id, URN, created.outs, (await h.check(URN, created.outs, args())).inputs)).changes).toBe(false);

  // the tarball changed by hand on the export: read finds it, diff names it
  volume.files.set(v1, { data: Buffer.from("truncated"), mode: 0o644 });
  const read = await h.read(created.id, URN, created.outs);
  expect(read.props.published).toEqual({ [v1]: sha256("truncated") });
  expect((await h.diff(created.id, URN, read.props, (await h.check(URN, read.props, args())).inputs)).detailedDiff).toEqual({ [`published["${v1}"]`]: { kind: "update" } });
  const repaired = await h.update(created.id, URN, read.props, (await h.check(URN, read.props, args())).inputs);
  expect(volume.files.get(v1)!.data.toString()).toBe("image v1");

  // a new image: the nodes' reader refuses the staged tarball, so the new name never appears
  source.content = "image v2";
  const v2 = tarball("image v2");
  const next = (await h.check(URN, repaired.outs, args())).inputs;
  expect((await h.diff(created.id, URN, repaired.outs, next)).detailedDiff).toEqual({ imageDigest: { kind: "update", inputDiff: true } });
  failReader(true);
  await expect(h.update(created.id, URN, repaired.outs, next)).rejects.toThrow(/the staged tarball does not read back \(tar -tzf\): tar: invalid magic/);
  expect(volume.files.has(v2)).toBe(false);
  failReader(false);

  // a failed write (the export went read-only)
  volume.failOn = { op: "write", error: "Read-only file system" };
  await expect(h.update(created.id, URN, repaired.outs, next)).rejects.toThrow(/Read-only file system/);
  expect([...volume.files.keys()]).toEqual([v1]);
  volume.failOn = undefined;

  // the update publishes v2 and keeps v1 (running nodes may use it); a third image removes v1
  const second = await h.update(created.id, URN, repaired.outs, next);
  expect([...volume.files.keys()].sort()).toEqual([v1, v2].sort());
  expect(second.outs).toMatchObject({ published: { [v2]: sha256("image v2") }, previous: { [v1]: sha256("image v1") } });
  source.content = "image v3";
  const third = await h.update(created.id, URN, second.outs, (await h.check(URN, second.outs, args())).inputs);
  expect([...volume.files.keys()].sort()).toEqual([v2, tarball("image v3")].sort());

  // delete removes what it published (current and previous), not a neighbour's files
  volume.files.set("/netboot/images/other/image-000000000000.tar.gz", { data: Buffer.from("x"), mode: 0o644 });
  await h.delete(created.id, URN, third.outs);
  expect([...volume.files.keys()]).toEqual(["/netboot/images/other/image-000000000000.tar.gz"]);
  expect(volume.dirs.has(DIR)).toBe(false);
  // every file was observed through the shared observe step (stat + bytes), none through a command on the host
  expect(execs.filter((a) => a[0] === "sha256sum")).toEqual([]);
});

describe("through the intent journal (issue 18): the publish host keeps the entry", () => {
  test("a clean apply is trusted; an apply cut short (entry left `applying`) makes diff report `journal`, and up converges", async () => {
    const { host, volume, journaled: h } = setup();
    const inputs = (await h.check(URN, {}, args())).inputs;
    const created = await h.create(URN, inputs);
    expect(created.outs.journal).toMatch(/^[0-9a-f]{24}$/);
    // on the publish host, whose transport mounts the export and writes through it; nothing on the volume
    expect(await readEntry(host, URN)).toMatchObject({ state: "done", nonce: created.outs.journal });
    expect([...volume.files.keys()].filter((p) => p.includes("journal"))).toEqual([]);
    expect(await h.diff(created.id, URN, created.outs, inputs)).toMatchObject({ changes: false });

    // the engine was killed inside a later apply of the same image, after the tarball was removed by hand
    await beginApply(host, URN, "0123456789abcdef01234567");
    volume.files.delete(tarball("image v1"));
    const d = await h.diff(created.id, URN, created.outs, inputs);
    expect(d.changes).toBe(true);
    expect(d.detailedDiff).toEqual({ journal: { kind: "update" } });
    const redone = await h.update(created.id, URN, created.outs, inputs);
    expect(volume.files.get(tarball("image v1"))!.data.toString()).toBe("image v1");
    expect(await h.diff(created.id, URN, redone.outs, inputs)).toMatchObject({ changes: false });
  });

  test("a delete cut short is reported, up publishes again; a finished delete removes the entry", async () => {
    const { host, volume, journaled: h } = setup();
    const inputs = (await h.check(URN, {}, args())).inputs;
    const created = await h.create(URN, inputs);
    // the export is lost after the tarball went (its folder cannot be removed): the delete stops there
    const rmdir = volume.removeDirIfEmpty.bind(volume);
    volume.removeDirIfEmpty = async () => {
      throw new Error("memory: rmdir: connection lost");
    };
    await expect(h.delete(created.id, URN, created.outs)).rejects.toThrow(/connection lost/);
    volume.removeDirIfEmpty = rmdir;
    expect(volume.files.has(tarball("image v1"))).toBe(false);
    expect(await readEntry(host, URN)).toMatchObject({ state: "deleting" });
    expect((await h.diff(created.id, URN, created.outs, inputs)).detailedDiff).toHaveProperty("journal");
    const back = await h.update(created.id, URN, created.outs, inputs);
    expect(volume.files.has(tarball("image v1"))).toBe(true);
    expect(await h.diff(created.id, URN, back.outs, inputs)).toMatchObject({ changes: false });

    await h.delete(created.id, URN, back.outs);
    expect(host.files.has(journalPath(URN))).toBe(false);
    expect(volume.files.size).toBe(0);
  });
});
