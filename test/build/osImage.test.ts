/**
 * OsImage's pure recipe: the mmdebstrap command line, the input digest (stable for equal inputs, changed by
 * any input), the root listing digest, /var/lib/dpkg/status parsing and the package diff, the machine's
 * mirror from apt sources, the kernel an image holds, OCI layer order and whiteouts, and the inputs preview
 * names. The real mmdebstrap and tar runs are test/integration/osImage.test.ts.
 */
import {
  dockerSaveLayers, formatPackageChanges, inputChanges, inputDigest, kernelRelease, layerWhiteouts, mirrorFromSources, mmdebstrapCommand, ociLayers,
  packageChanges, parseDpkgStatus, parseRootListing, STATELESS_HOOKS,
} from "../../provider/build/osImage";
import { Issues } from "../../provider/model/errors";
import { buildOsImageModel, DebianModel } from "../../provider/model/osImage";

const debian = (d: Record<string, unknown>): DebianModel => {
  const issues = new Issues("t");
  const m = buildOsImageModel({ debian: { suite: "bookworm", ...d } }, issues);
  if (!m || m.kind !== "debian") throw new Error(JSON.stringify(issues.list));
  return m;
};
const LAYOUT = { target: "/c/.root-1.tmp", aptCache: "/root/.cache/netboot/apt-archives", filesDir: "/c/.root-1.tmp.files" };

test("the mmdebstrap command: variant, components, packages, the package cache, files, commands, the stateless hooks last", () => {
  const m = debian({ packages: ["systemd-sysv", "iproute2"], components: ["main", "non-free-firmware"], files: [{ path: "/etc/motd", content: "x", mode: "0600" }], customize: ["systemctl enable systemd-networkd"] });
  const { argv, env } = mmdebstrapCommand({ ...m, mirror: "http://deb.debian.org/debian" }, LAYOUT);
  expect(env).toEqual({ SOURCE_DATE_EPOCH: "1700000000", LC_ALL: "C.UTF-8" });
  expect(argv).toEqual([
    "mmdebstrap", "--mode=root", "--variant=minbase", "--components=main,non-free-firmware", "--skip=essential/unlink", "--include=systemd-sysv,iproute2",
    "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/locale/*",
    '--setup-hook=mkdir -p "$1"/var/cache/apt/archives/', "--setup-hook=sync-in /root/.cache/netboot/apt-archives /var/cache/apt/archives/",
    "--customize-hook=sync-out /var/cache/apt/archives /root/.cache/netboot/apt-archives",
    `--customize-hook=mkdir -p "$1"'/etc'`, "--customize-hook=upload /c/.root-1.tmp.files/0 /etc/motd", `--customize-hook=chmod 0600 "$1"'/etc/motd'`,
    `--customize-hook=chroot "$1" /bin/sh -ec 'systemctl enable systemd-networkd'`,
    ...STATELESS_HOOKS.map((h) => `--customize-hook=${h}`),
    "bookworm", "/c/.root-1.tmp", "http://deb.debian.org/debian",
  ]);
});

test("a command with quotes reaches the chroot's shell as one word", () => {
  const { argv } = mmdebstrapCommand({ ...debian({ customize: [`echo 'it''s' "$HOME" > /etc/x`] }), mirror: "http://m/debian" }, LAYOUT);
  expect(argv).toContain(`--customize-hook=chroot "$1" /bin/sh -ec 'echo '\\''it'\\'''\\''s'\\'' "$HOME" > /etc/x'`);
});

test("the stateless hooks remove host keys, replace hostname and resolv.conf, and add the keygen unit before ssh", () => {
  const all = STATELESS_HOOKS.join("\n");
  expect(all).toContain('rm -f "$1"/etc/ssh/ssh_host_*');
  expect(all).toContain('printf "localhost\\n" > "$1/etc/hostname"');
  expect(all).toContain(': > "$1/etc/resolv.conf"');
  expect(all).toMatch(/Before=ssh\.service[\s\S]*ExecStart=\/usr\/bin\/ssh-keygen -A[\s\S]*WantedBy=ssh\.service/);
});

test("the input digest: equal inputs give one digest; each input, the mirror and the source content change it", () => {
  const base = debian({ packages: ["iproute2"], customize: ["true"] });
  const d = inputDigest(base, { mirror: "http://a/debian" });
  expect(d).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(inputDigest(debian({ customize: ["true"], packages: ["iproute2"] }), { mirror: "http://a/debian" })).toBe(d);
  const others = [
    inputDigest(base, { mirror: "http://b/debian" }),
    inputDigest(debian({ packages: ["iproute2", "curl"], customize: ["true"] }), { mirror: "http://a/debian" }),
    inputDigest(debian({ packages: ["iproute2"], customize: ["false"] }), { mirror: "http://a/debian" }),
    inputDigest(debian({ packages: ["iproute2"], customize: ["true"], variant: "required" }), { mirror: "http://a/debian" }),
    inputDigest(debian({ packages: ["iproute2"], customize: ["true"], sourceDateEpoch: 1 }), { mirror: "http://a/debian" }),
    inputDigest(debian({ packages: ["iproute2"], customize: ["true"], files: [{ path: "/etc/x", content: "1" }] }), { mirror: "http://a/debian" }),
  ];
  expect(new Set([d, ...others]).size).toBe(others.length + 1);
  const tar = { kind: "tarball" as const, path: "/srv/os.tar" };
  expect(inputDigest(tar, { content: "aa" })).toBe(inputDigest(tar, { content: "aa" }));
  expect(inputDigest(tar, { content: "aa" })).not.toBe(inputDigest(tar, { content: "bb" }));
});

test("the root listing: a digest of the whole listing, the size of the regular files", () => {
  const listing = "d . 755 0:0\nf ./etc/passwd 644 0:0 10\nl ./bin 777 0:0 usr/bin\nf ./etc/shadow 640 0:42 5\n--\nabc  ./etc/passwd\ndef  ./etc/shadow\n";
  const l = parseRootListing(listing);
  expect(l).toEqual({ digest: expect.stringMatching(/^sha256:/), size: 15, entries: 4 });
  expect(parseRootListing(listing.replace("0:42", "0:0")).digest).not.toBe(l.digest); // an owner counts
});

const STATUS = `Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u10
Description: GNU C Library
 with a continuation line

Package: vim-tiny
Status: deinstall ok config-files
Version: 2:9.0.1378-2

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2025b-0+deb12u1

Package: libc6
Status: install ok installed
Architecture: i386
Version: 2.36-9+deb12u10
`;

test("dpkg status: installed packages only, foreign architectures as name:arch, sorted", () => {
  expect(parseDpkgStatus(STATUS)).toEqual({ libc6: "2.36-9+deb12u10", "libc6:i386": "2.36-9+deb12u10", tzdata: "2025b-0+deb12u1" });
  expect(Object.keys(parseDpkgStatus(STATUS))).toEqual(["libc6", "libc6:i386", "tzdata"]);
});

test("the package diff: added, removed, upgraded, sorted by name; formatted one per line", () => {
  const changes = packageChanges({ libc6: "2.36-9", curl: "7.88.1-10", zlib1g: "1:1.2.13" }, { libc6: "2.36-9+deb12u10", iproute2: "6.1.0-3", zlib1g: "1:1.2.13" });
  expect(changes).toEqual([
    { name: "curl", before: "7.88.1-10", after: "" },
    { name: "iproute2", before: "", after: "6.1.0-3" },
    { name: "libc6", before: "2.36-9", after: "2.36-9+deb12u10" },
  ]);
  expect(formatPackageChanges(changes)).toBe("- curl 7.88.1-10\n+ iproute2 6.1.0-3\n~ libc6 2.36-9 -> 2.36-9+deb12u10");
  expect(packageChanges({ a: "1" }, { a: "1" })).toEqual([]);
});

test("the machine's mirror: deb822 sources first (not the security archive), then sources.list", () => {
  const sources = `Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm

# a comment
Types: deb
URIs: http://deb.debian.org/debian/
Suites: bookworm bookworm-updates
Components: main
`;
  expect(mirrorFromSources([{ path: "/etc/apt/sources.list.d/debian.sources", text: sources }])).toBe("http://deb.debian.org/debian");
  expect(mirrorFromSources([{ path: "/etc/apt/sources.list", text: "# x\ndeb http://security.debian.org/debian-security bookworm-security main\ndeb [arch=amd64] http://ftp.fr.debian.org/debian bookworm main\n" }])).toBe("http://ftp.fr.debian.org/debian");
  expect(mirrorFromSources([{ path: "/etc/apt/sources.list.d/x.sources", text: "Types: deb\nURIs: http://m/debian\nSuites: bookworm\nEnabled: no\n" }])).toBeUndefined();
  expect(mirrorFromSources([])).toBeUndefined();
});

test("the kernel an image holds: a vmlinuz with its modules tree, the newest release", () => {
  expect(kernelRelease(["vmlinuz-6.1.0-9-amd64", "vmlinuz-6.1.0-10-amd64", "config-6.1.0-10-amd64", "System.map-6.1.0-10-amd64"], ["6.1.0-9-amd64", "6.1.0-10-amd64"])).toBe("6.1.0-10-amd64");
  expect(kernelRelease(["vmlinuz-6.1.0-10-amd64"], ["6.1.0-9-amd64"])).toBeUndefined(); // no modules of that kernel
  expect(kernelRelease([], [])).toBeUndefined();
});

const H = (c: string) => `sha256:${c.repeat(64)}`;

test("OCI layout: index -> manifest -> layers, bottom first; the platform picked from an index of several", () => {
  const files: Record<string, unknown> = {
    "index.json": { manifests: [{ mediaType: "application/vnd.oci.image.index.v1+json", digest: H("a") }] },
    [`blobs/sha256/${"a".repeat(64)}`]: { manifests: [
      { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: H("b"), platform: { os: "linux", architecture: "arm64" } },
      { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: H("c"), platform: { os: "linux", architecture: "amd64" } },
    ] },
    [`blobs/sha256/${"c".repeat(64)}`]: { layers: [{ digest: H("1") }, { digest: H("2") }] },
  };
  expect(ociLayers((rel) => files[rel])).toEqual([`blobs/sha256/${"1".repeat(64)}`, `blobs/sha256/${"2".repeat(64)}`]);
  expect(() => ociLayers((rel) => files[rel], "riscv64")).toThrow("no manifest for linux/riscv64; the index has linux/arm64, linux/amd64");
  expect(() => ociLayers(() => ({ manifests: [{ digest: "sha256:../../etc/passwd" }] }))).toThrow("not a sha256 blob digest");
});

test("docker save: the layers of manifest.json, one image only, relative paths only", () => {
  expect(dockerSaveLayers([{ Config: "c.json", Layers: ["aa/layer.tar", "bb/layer.tar"] }])).toEqual(["aa/layer.tar", "bb/layer.tar"]);
  expect(() => dockerSaveLayers([{}, {}])).toThrow("manifest.json holds 2 images");
  expect(() => dockerSaveLayers([{ Layers: ["../x"] }])).toThrow("relative paths");
});

test("whiteouts: .wh.NAME removes NAME below, .wh..wh..opq empties its folder; entries climbing out are refused", () => {
  expect(layerWhiteouts(["./", "./etc/", "./etc/.wh.motd", "etc/hosts", "./var/cache/.wh..wh..opq", ".wh.opt", "usr/share/x/"])).toEqual({
    remove: ["etc/motd", "opt"], opaque: ["var/cache"], extract: 3,
  });
  expect(() => layerWhiteouts(["etc/../../x"])).toThrow("climbs out of the root");
});

test("preview names the changed inputs: the package list whole, hooks and files by position, a kind switch", () => {
  const a = { debian: { suite: "bookworm", packages: ["a"], customize: ["x", "y"], files: [{ path: "/a", content: "1" }] } };
  expect(inputChanges(a, a)).toEqual([]);
  expect(inputChanges(a, { debian: { ...a.debian, packages: ["a", "b"] } })).toEqual(["debian.packages"]);
  expect(inputChanges(a, { debian: { ...a.debian, customize: ["x", "z", "w"] } })).toEqual(["debian.customize[1]", "debian.customize[2]"]);
  expect(inputChanges(a, { debian: { ...a.debian, suite: "trixie", files: [] } })).toEqual(["debian.files[0]", "debian.suite"]);
  expect(inputChanges(a, { folder: "/srv/os" })).toEqual(["debian", "folder"]);
  expect(inputChanges({ oci: { path: "/a" } }, { oci: { path: "/b" } })).toEqual(["oci"]);
});
