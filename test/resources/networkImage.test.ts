/**
 * netboot:index:NetworkImage's whole lifecycle (RAM mode, NFS) over an in-memory export: the mount, the image
 * plan and the packing are faked through the context; the export is a MemoryTransport whose `sha256sum` and
 * `tar -t` (the nodes' reader checking the staged tarball) answer from its files. Check, create, diff, read
 * showing a tarball changed by hand, update keeping one previous generation, the reader refusing the staged
 * tarball (live image unchanged), a failed write, delete removing only what it published. The real mounts,
 * trees and tar are proven by test/integration/bootImage.publish.test.ts and bootImage.nfs.test.ts.
 */
import { sha256 } from "../../provider/drift/digest";
import { ImagePlan } from "../../provider/build/plan";
import { networkImageHandler } from "../../provider/resources/networkImage";
import { ExecResult } from "../../provider/transport";
import { MemoryTransport } from "../../provider/transport/memory";
import { testContext } from "../helpers/context";

const URN = "urn:pulumi:test::p::netboot:index:NetworkImage::compute-image";
const DIR = "/netboot/images/compute";

function setup() {
  const host = new MemoryTransport(); // the publish host (mounts happen there)
  const volume = new MemoryTransport(); // the export, as the mount shows it
  let readerFails = false;
  volume.execHandler = (argv): ExecResult => {
    if (argv[0] === "sha256sum") {
      const f = volume.files.get(argv[1]);
      return f ? { code: 0, stdout: `${sha256(f.data)}  ${argv[1]}\n`, stderr: "" } : { code: 1, stdout: "", stderr: "No such file" };
    }
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
  return { host, volume, source, h: networkImageHandler(ctx), failReader: (v: boolean) => (readerFails = v) };
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
  const { volume, source, h, failReader } = setup();
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
});
