import { buildOsImageModel } from "../../provider/model/osImage";
import { Issues } from "../../provider/model/errors";
import { inputDigest } from "../../provider/build/osImage";
import { buildOsImage, machineMirror } from "../../provider/build/osImageBuild";
(async () => {
  const i = new Issues("x");
  const m = buildOsImageModel({ debian: { suite: "bookworm", packages: ["iproute2"], files: [{ path: "/etc/motd.d/x", content: "hi\n", mode: "0600" }], customize: ["echo built > /etc/netboot-built"] } }, i)!;
  if (!i.ok) throw new Error(JSON.stringify(i.list));
  const mirror = machineMirror();
  const d = inputDigest(m, { mirror });
  const t0 = Date.now();
  const r = await buildOsImage(m, d, { mirror, say: (l) => console.error("  | " + l) });
  console.log(JSON.stringify({ ...r, packages: Object.keys(r.packages).length, ms: Date.now() - t0 }, null, 1));
})().catch((e) => { console.error(e); process.exit(1); });
