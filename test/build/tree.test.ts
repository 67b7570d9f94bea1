/**
 * Hybrid trees (provider/build/tree.ts) on real folders: the content digest sees a changed byte, the stat
 * listing (rsync's quick check) finds exactly what changed, was added or went away, names with spaces included.
 */
import * as fs from "fs";
import * as path from "path";
import { diffStat, localStat, localTreeDigest, packEntries, parseStatListing } from "../../provider/build/tree";
import { sh, tmpDir } from "../helpers/env";

function tree(): string {
  const root = tmpDir("tree");
  fs.mkdirSync(path.join(root, "usr/share/doc/a b"), { recursive: true });
  fs.writeFileSync(path.join(root, "usr/share/doc/a b/read me.txt"), "one\n");
  fs.writeFileSync(path.join(root, "usr/share/doc/keep.txt"), "keep\n");
  fs.symlinkSync("keep.txt", path.join(root, "usr/share/doc/link"));
  fs.mkdirSync(path.join(root, "opt/x"), { recursive: true });
  fs.writeFileSync(path.join(root, "opt/x/bin"), "bin\n", { mode: 0o755 });
  fs.writeFileSync(path.join(root, "not-hybrid"), "ram\n");
  return root;
}

test("the content digest changes with one byte of one file, and only with the hybrid paths", async () => {
  const root = tree();
  const paths = ["/usr/share/doc", "/opt"];
  const d1 = await localTreeDigest(root, paths);
  fs.writeFileSync(path.join(root, "not-hybrid"), "other\n");
  expect(await localTreeDigest(root, paths)).toBe(d1);
  const t = fs.statSync(path.join(root, "usr/share/doc/keep.txt")).mtime;
  fs.writeFileSync(path.join(root, "usr/share/doc/keep.txt"), "kEep\n");
  fs.utimesSync(path.join(root, "usr/share/doc/keep.txt"), t, t); // same size, same mtime: still seen
  expect(await localTreeDigest(root, paths)).not.toBe(d1);
  await expect(localTreeDigest(root, ["/nope"])).rejects.toThrow(/missing: \.\/nope/);
});

test("the stat listing diff names what changed, what is new and what went away", async () => {
  const root = tree();
  const paths = ["/usr/share/doc", "/opt"];
  const before = parseStatListing(await localStat(root, paths));
  expect(before.get("./usr/share/doc/a b/read me.txt")).toMatchObject({ type: "f" });
  expect(before.get("./usr/share/doc/link")).toEqual({ type: "l", path: "./usr/share/doc/link", sig: "keep.txt" });
  fs.writeFileSync(path.join(root, "usr/share/doc/a b/read me.txt"), "two, longer\n");
  fs.writeFileSync(path.join(root, "usr/share/doc/new.txt"), "new\n");
  fs.rmSync(path.join(root, "opt/x/bin"));
  fs.chmodSync(path.join(root, "opt/x"), 0o700);
  const after = parseStatListing(await localStat(root, paths));
  const { changed, removed } = diffStat(after, before);
  // a folder's mtime is not compared (its entries are): ./usr/share/doc itself is not listed as changed
  expect(changed.map((e) => e.path)).toEqual(["./opt/x", "./usr/share/doc/a b/read me.txt", "./usr/share/doc/new.txt"]);
  expect(removed.map((e) => e.path)).toEqual(["./opt/x/bin"]);
  expect(diffStat(after, after)).toEqual({ changed: [], removed: [] });
});

test("packEntries sends only the listed entries", async () => {
  const root = tree();
  const tar = await packEntries(root, ["./usr/share/doc/a b", "./usr/share/doc/a b/read me.txt"]);
  const out = tmpDir("tree-out");
  fs.writeFileSync(path.join(out, "x.tar"), tar);
  expect(sh(`tar -tf ${out}/x.tar`).out.trim().split("\n")).toEqual(["./usr/share/doc/a b/", "./usr/share/doc/a b/read me.txt"]);
});
