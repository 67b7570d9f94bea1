/**
 * The OsImage model: exactly one source, Debian inputs checked field by field (suite and variant against the
 * schema's enums, package names against Debian policy, components, mirror URL, file paths and modes, hooks),
 * every problem reported at once with its field and value.
 */
import { Issues } from "../../provider/model/errors";
import { buildOsImageModel, DEFAULT_SOURCE_DATE_EPOCH, isDebianPackage } from "../../provider/model/osImage";

const model = (a: Record<string, unknown>) => {
  const issues = new Issues('netboot:index:OsImage "node"');
  const m = buildOsImageModel(a, issues);
  return { m, issues: issues.list.map((i) => [i.field, i.value, i.message] as const) };
};

test("a Debian image with defaults: minbase, main, the machine's mirror (resolved later), the fixed epoch", () => {
  const { m, issues } = model({ debian: { suite: "bookworm", packages: ["systemd-sysv", "linux-image-amd64", "openssh-server=1:9.2p1-2+deb12u5"] } });
  expect(issues).toEqual([]);
  expect(m).toEqual({
    kind: "debian", suite: "bookworm", variant: "minbase", packages: ["systemd-sysv", "linux-image-amd64", "openssh-server=1:9.2p1-2+deb12u5"],
    components: ["main"], mirror: undefined, files: [], customize: [], sourceDateEpoch: DEFAULT_SOURCE_DATE_EPOCH,
  });
});

test("files get their mode as a number (default 0644); the mirror loses its trailing slash", () => {
  const { m, issues } = model({ debian: { suite: "trixie", mirror: "http://ftp.de.debian.org/debian/", files: [{ path: "/etc/motd", content: "hi\n" }, { path: "/usr/local/bin/x", content: "#!/bin/sh\n", mode: "0755" }] } });
  expect(issues).toEqual([]);
  expect(m).toMatchObject({ mirror: "http://ftp.de.debian.org/debian", files: [{ path: "/etc/motd", content: "hi\n", mode: 0o644 }, { path: "/usr/local/bin/x", content: "#!/bin/sh\n", mode: 0o755 }] });
});

test("exactly one source", () => {
  expect(model({}).issues).toEqual([["debian", undefined, "give exactly one of debian, oci, folder, tarball"]]);
  expect(model({ folder: "/srv/os", tarball: "/srv/os.tar" }).issues).toEqual([["folder, tarball", "(several set)", "give exactly one of debian, oci, folder, tarball"]]);
  expect(model({ oci: { path: "/srv/img/" } }).m).toEqual({ kind: "oci", path: "/srv/img" });
  expect(model({ folder: "/srv/os/" }).m).toEqual({ kind: "folder", path: "/srv/os" });
  expect(model({ tarball: "/srv/os.tar.zst" }).m).toEqual({ kind: "tarball", path: "/srv/os.tar.zst" });
});

test("every bad Debian input is reported at once, each with its field and value", () => {
  const { m, issues } = model({
    debian: {
      suite: "bookwurm", variant: "tiny", packages: ["curl; rm -rf /", "vim", "$(id)", "Vim", "vim", "a"], components: ["main", "non free"],
      mirror: "ftp://mirror/debian", files: [{ path: "etc/x", content: "y" }, { path: "/etc/../shadow", content: 1 }, { path: "/etc/ok", content: "", mode: "999" }],
      customize: ["", "ok"], sourceDateEpoch: -1, extra: true,
    },
  });
  expect(m).toBeUndefined();
  expect(issues.map(([f]) => f)).toEqual([
    "debian.suite", "debian.variant",
    "debian.packages[0]", "debian.packages[2]", "debian.packages[3]", "debian.packages[4]", "debian.packages[5]",
    "debian.components[1]", "debian.mirror",
    "debian.files[0].path", "debian.files[1].path", "debian.files[1].content", "debian.files[2].mode",
    "debian.customize[0]", "debian.sourceDateEpoch", "debian.extra",
  ]);
  const by = Object.fromEntries(issues.map(([f, v, msg]) => [f, [v, msg]]));
  expect(by["debian.suite"]).toEqual(["bookwurm", expect.stringMatching(/^must be one of `bullseye`, `bookworm`, `trixie`/)]);
  expect(by["debian.packages[0]"]).toEqual(["curl; rm -rf /", expect.stringContaining("shell and apt pattern characters are refused")]);
  expect(by["debian.packages[4]"]).toEqual(["vim", "is listed twice (also debian.packages[1])"]);
  expect(by["debian.mirror"][1]).toMatch(/http:\/\/, https:\/\/ or file:\/\/\//);
  expect(by["debian.files[1].path"]).toEqual(["/etc/../shadow", "must not contain `..`"]);
});

test("Debian package syntax: policy names, multi-arch, versions; nothing apt or a shell would read otherwise", () => {
  for (const ok of ["libc6", "g++", "libstdc++6", "linux-image-6.1.0-28-amd64", "libc6:i386", "openssh-server=1:9.2p1-2+deb12u5", "a0"]) expect([ok, isDebianPackage(ok)]).toEqual([ok, true]);
  for (const bad of ["a", "-f", "?name(x)", "Libc6", "vim tiny", "vim,curl", "vim=", "x'y", "vim=$(id)", "~vim", ""]) expect([bad, isDebianPackage(bad)]).toEqual([bad, false]);
});

test("a list given as something else is refused, not iterated", () => {
  const { issues } = model({ debian: { suite: "bookworm", packages: "vim", customize: "true", components: [] } });
  expect(issues.map(([f, , msg]) => [f, msg])).toEqual([
    ["debian.packages", "must be a list"],
    ["debian.components", "give at least one component (default `[main]`)"],
    ["debian.customize", "must be a list"],
  ]);
});

test("folder, tarball and oci paths: absolute, no `..`, not this machine's root", () => {
  expect(model({ folder: "/" }).issues).toEqual([["folder", "/", "must not be this machine's own root"]]);
  expect(model({ folder: "srv/os" }).issues).toEqual([["folder", "srv/os", "must be an absolute path"]]);
  expect(model({ tarball: "/srv/" }).issues).toEqual([["tarball", "/srv/", "names a folder; give the path of a file"]]);
  expect(model({ oci: { path: "/srv/../etc" } }).issues).toEqual([["oci.path", "/srv/../etc", "must not contain `..`"]]);
  expect(model({ oci: "/srv/img" }).issues).toEqual([["oci", "/srv/img", "must be an object `{ path }`"]]);
});
