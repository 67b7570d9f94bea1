import { diffManifestText, formatManifestDiff, ManifestEntry, parseManifest, renderManifest } from "../../provider/render/manifest";

const base: ManifestEntry[] = [
  { path: "/usr/lib/x/afr.so", type: "file", mode: 0o644, size: 10, sha256: "a".repeat(64), reason: "named by the volfile (type cluster/replicate)" },
  { path: "/usr/lib/x/replicate.so", type: "symlink", mode: 0o777, size: 6, sha256: "", target: "afr.so", reason: "named by the volfile" },
  { path: "/bin", type: "symlink", mode: 0o777, size: 7, sha256: "", target: "usr/bin", reason: "folder link" },
  { path: "/tmp", type: "dir", mode: 0o1777, size: 0, sha256: "", reason: "mount point" },
];

describe("initramfs manifest", () => {
  test("renders sorted, tab-separated, and parses back to the same entries", () => {
    const text = renderManifest(base);
    expect(text.split("\n")[0]).toBe("/bin\tsymlink\t0777\t7\t-> usr/bin\tfolder link");
    expect(parseManifest(text)).toEqual([...base].sort((a, b) => (a.path < b.path ? -1 : 1)).map((e) => ({ ...e, target: e.target })));
    expect(renderManifest([...base].reverse())).toBe(text);
  });

  test("diff names files added, removed and changed (content or link target)", () => {
    const after = renderManifest([
      { ...base[0], sha256: "b".repeat(64) },
      { ...base[1], target: "afr2.so" },
      base[3],
      { path: "/usr/lib/x/io-cache.so", type: "file", mode: 0o644, size: 3, sha256: "c".repeat(64), reason: "named by the volfile" },
    ]);
    const changes = diffManifestText(renderManifest(base), after);
    expect(changes).toEqual([
      { path: "/bin", kind: "delete" },
      { path: "/usr/lib/x/afr.so", kind: "update" },
      { path: "/usr/lib/x/io-cache.so", kind: "add" },
      { path: "/usr/lib/x/replicate.so", kind: "update" },
    ]);
    expect(formatManifestDiff(changes)).toMatch(/\+ \/usr\/lib\/x\/io-cache\.so\n[\s\S]*1 added, 1 removed, 2 changed$/);
    expect(diffManifestText(after, after)).toEqual([]);
  });
});
