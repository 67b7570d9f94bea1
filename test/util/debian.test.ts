import { debianPackage } from "../../provider/util/debian";
import { shq } from "../../provider/util/shell";

test("one table names the Debian package of each tool, and a tool it does not know is its own package", () => {
  expect(["busybox", "glusterfs", "glusterfsd", "mount.nfs", "kexec", "/usr/share/OVMF/OVMF_CODE_4M.fd"].map(debianPackage))
    .toEqual(["busybox-static", "glusterfs-client", "glusterfs-server", "nfs-common", "kexec-tools", "ovmf"]);
  expect(debianPackage("tar")).toBe("tar");
});

test("shq makes one shell word of anything, quotes included", () => {
  expect([shq("a b"), shq("it's"), shq(""), shq("$(x)")]).toEqual(["'a b'", "'it'\\''s'", "''", "'$(x)'"]);
});
