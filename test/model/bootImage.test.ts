/**
 * The boot image model from a typed spec: closed sets checked against the schema's enums, and the volfile
 * parsed once (the graph travels in the model) or not at all where only the image's location is needed.
 */
import { buildBootImageModel } from "../../provider/model/bootImage";
import { Issues } from "../../provider/model/errors";
import { parseVolfile } from "../../provider/model/volfileParse";

const VOL = "volume gv-client-0\n  type protocol/client\n  option remote-host 10.0.0.1\n  option remote-subvolume /b\nend-volume\n" +
  "volume gv-replicate-0\n  type cluster/replicate\n  subvolumes gv-client-0\nend-volume\n";
const spec = { kernelVersion: "6.1.0-1-amd64", imageSource: "/srv/os", transport: "glusterfs", glusterVolfile: VOL };

test("the model carries the parsed volfile graph and its xlators", () => {
  const issues = new Issues("t");
  const m = buildBootImageModel("img", spec, issues)!;
  expect(issues.list).toEqual([]);
  expect(m.volfileGraph).toEqual(parseVolfile(VOL));
  expect(m.xlators).toEqual(["protocol/client", "cluster/replicate"]); // in graph order
  expect([m.mode, m.handoff, m.compression, m.onFailure]).toEqual(["ram", "switch_root", "zstd", "shell"]);
});

test("parse: false reads where the image lives without parsing the volfile, and still checks every other field", () => {
  const issues = new Issues("t");
  const m = buildBootImageModel("img", { ...spec, glusterVolfile: "not a volfile {" }, issues, { parse: false })!;
  expect(issues.list).toEqual([]);
  expect([m.volfileGraph, m.xlators, m.imagePath]).toEqual([undefined, [], "/netboot/images/img"]);
  const bad = new Issues("t");
  buildBootImageModel("img", { ...spec, glusterVolfile: "not a volfile {", handoff: "jump" }, bad, { parse: false });
  expect(bad.list.map((i) => [i.field, i.message])).toEqual([["handoff", "must be one of `switch_root`, `kexec`"]]);
});

test("a spec of the wrong shape is reported field by field, not trusted for its static type", () => {
  const issues = new Issues("t");
  buildBootImageModel("img", { imageSource: 7, transport: "nfs", nfsExport: "10.0.0.1:/x", modules: "virtio", kernelPath: "/boot/vmlinuz", mode: "hybrid", hybridPaths: "/opt" }, issues);
  expect(issues.list.map((i) => i.field).sort()).toEqual(["hybridPaths", "imageSource", "modules"]);
});
