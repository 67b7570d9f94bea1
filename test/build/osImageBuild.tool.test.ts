/**
 * OsImage imports with the real tar, through the build and its cache (build/osImageBuild.ts): an OCI image
 * layout made here from two layers (the second gzip-compressed, with a whiteout and an opaque folder) and the
 * same layers as a `docker save` archive give the same root and digest; a second import from a cleared cache
 * gives the same digest; a layer that would write through a symlink pointing out of the image is refused
 * before it writes anything; a tarball and a folder.
 */
import * as fs from "fs";
import * as path from "path";
import { sha256 } from "../../provider/drift/digest";
import { inputDigest } from "../../provider/build/osImage";
import { buildOsImage, observeRoot, sourceContent } from "../../provider/build/osImageBuild";
import { OsImageModel } from "../../provider/model/osImage";
import { sh, tmpDir } from "../helpers/env";

jest.setTimeout(120_000);

const dir = tmpDir("osimage-oci");
const say = () => undefined;
beforeAll(() => (process.env.NETBOOT_OSIMAGE_CACHE = path.join(dir, "cache")));
afterAll(() => {
  delete process.env.NETBOOT_OSIMAGE_CACHE;
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A folder from `{ path: content | "->target" | null (folder) }`. */
function tree(root: string, entries: Record<string, string | null>): string {
  fs.mkdirSync(root, { recursive: true });
  for (const [p, c] of Object.entries(entries)) {
    const full = path.join(root, p);
    fs.mkdirSync(c === null ? full : path.dirname(full), { recursive: true });
    if (c === null) continue;
    if (c.startsWith("->")) fs.symlinkSync(c.slice(2), full);
    else fs.writeFileSync(full, c);
  }
  return root;
}

function blob(layout: string, data: Buffer): string {
  const h = sha256(data);
  fs.mkdirSync(path.join(layout, "blobs/sha256"), { recursive: true });
  fs.writeFileSync(path.join(layout, "blobs/sha256", h), data);
  return `sha256:${h}`;
}

/** An OCI layout from layer folders (tarred with the real tar; `gzip` compresses the ones listed). */
function ociLayout(name: string, layers: string[], gzip: number[] = []): string {
  const layout = path.join(dir, name);
  const descs = layers.map((l, i) => {
    const tarFile = path.join(dir, `${name}-layer${i}.tar`);
    sh(`tar --numeric-owner --owner=0 --group=0 -C ${l} -cf ${tarFile} .`);
    if (gzip.includes(i)) sh(`gzip -n ${tarFile}`);
    const data = fs.readFileSync(gzip.includes(i) ? `${tarFile}.gz` : tarFile);
    return { mediaType: `application/vnd.oci.image.layer.v1.tar${gzip.includes(i) ? "+gzip" : ""}`, digest: blob(layout, data), size: data.length };
  });
  const config = blob(layout, Buffer.from("{}"));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: 2 }, layers: descs }));
  const m = blob(layout, manifest);
  fs.writeFileSync(path.join(layout, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: m, size: manifest.length, platform: { os: "linux", architecture: "amd64" } }] }));
  fs.writeFileSync(path.join(layout, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  return layout;
}

async function build(m: OsImageModel) {
  const d = inputDigest(m, { content: m.kind === "debian" ? undefined : await sourceContent(m) });
  return buildOsImage(m, d, { say });
}

const L1 = tree(path.join(dir, "l1"), { "etc/keep": "keep\n", "etc/removed": "gone\n", "opt/data/old": "old\n", "usr/lib/a": "a\n", lib: "->usr/lib", "var/empty": null });
const L2 = tree(path.join(dir, "l2"), { "etc/.wh.removed": "", "etc/added": "added\n", "opt/data/.wh..wh..opq": "", "opt/data/new": "new\n", "lib/b": "b\n" });

test("an OCI layout of two layers: applied in order, whiteouts and the opaque folder honoured, markers left out", async () => {
  const layout = ociLayout("oci", [L1, L2], [1]);
  const r = await build({ kind: "oci", path: layout });
  expect(r.cached).toBe(false);
  const files = sh(`cd ${r.rootPath} && find . | LC_ALL=C sort`).out.trim().split("\n");
  expect(files).toEqual([".", "./etc", "./etc/added", "./etc/keep", "./lib", "./lib/b", "./opt", "./opt/data", "./opt/data/new", "./usr", "./usr/lib", "./usr/lib/a", "./var", "./var/empty"]);
  // the upper layer's folder `lib/` replaces the lower layer's link, as in an overlay mount of the layers
  expect(fs.lstatSync(path.join(r.rootPath, "lib")).isDirectory()).toBe(true);
  expect((await observeRoot(r.rootPath))!.digest).toBe(r.digest);

  // the same inputs again: the cache; cleared: a new import with the same digest
  expect((await build({ kind: "oci", path: layout })).cached).toBe(true);
  fs.rmSync(process.env.NETBOOT_OSIMAGE_CACHE!, { recursive: true, force: true });
  const again = await build({ kind: "oci", path: layout });
  expect([again.cached, again.digest]).toEqual([false, r.digest]);

  // the same layers as a `docker save` archive: the same root
  const save = path.join(dir, "save");
  fs.mkdirSync(path.join(save, "l1"), { recursive: true });
  fs.mkdirSync(path.join(save, "l2"), { recursive: true });
  sh(`tar --numeric-owner --owner=0 --group=0 -C ${L1} -cf ${save}/l1/layer.tar . && tar --numeric-owner --owner=0 --group=0 -C ${L2} -cf ${save}/l2/layer.tar .`);
  fs.writeFileSync(path.join(save, "manifest.json"), JSON.stringify([{ Config: "c.json", RepoTags: ["x:latest"], Layers: ["l1/layer.tar", "l2/layer.tar"] }]));
  sh(`tar -C ${save} -cf ${dir}/save.tar .`);
  const saved = await build({ kind: "oci", path: `${dir}/save.tar` });
  expect(saved.digest).toBe(r.digest);
});

test("a layer writing through a symlink that points out of the image is refused, and nothing is written there", async () => {
  const outside = tmpDir("osimage-outside");
  const evil1 = tree(path.join(dir, "e1"), { etc: `->${outside}` });
  const evil2 = tree(path.join(dir, "e2"), { "etc/passwd": "root::0:0::/:/bin/sh\n" });
  await expect(build({ kind: "oci", path: ociLayout("evil", [evil1, evil2]) })).rejects.toThrow(/entry ".\/etc\/passwd" goes through \/etc -> .*points out of the image/);
  expect(fs.readdirSync(outside)).toEqual([]);
  const cacheDirs = fs.readdirSync(process.env.NETBOOT_OSIMAGE_CACHE!).map((d) => fs.readdirSync(path.join(process.env.NETBOOT_OSIMAGE_CACHE!, d)));
  expect(cacheDirs.flat().filter((n) => n.startsWith(".root-"))).toEqual([]); // the failed build left nothing
  fs.rmSync(outside, { recursive: true, force: true });
});

test("a tarball is unpacked with its owners; a folder is the image itself, digested in place", async () => {
  const src = tree(path.join(dir, "plain"), { "sbin/init": "#!/bin/sh\n", "etc/shadow": "x\n" });
  fs.chownSync(path.join(src, "etc/shadow"), 0, 42);
  sh(`tar --numeric-owner -C ${src} -czf ${dir}/plain.tar.gz .`);
  const t = await build({ kind: "tarball", path: `${dir}/plain.tar.gz` });
  expect(fs.statSync(path.join(t.rootPath, "etc/shadow")).gid).toBe(42);
  const f = await build({ kind: "folder", path: src });
  expect([f.rootPath, f.digest]).toEqual([src, t.digest]);
  fs.chownSync(path.join(src, "etc/shadow"), 0, 0);
  expect((await build({ kind: "folder", path: src })).digest).not.toBe(t.digest); // an owner counts
});
