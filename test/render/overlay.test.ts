/**
 * Golden files of the overlay renderer: test/golden/overlay/<case>/input.json (a NodeGroup's arguments, plus
 * the host keys state would hold) -> expected.txt, every node's files and archive hash, or the validation
 * errors for a bad group. `UPDATE_GOLDEN=1 npx jest test/render/overlay.test.ts` rewrites them.
 */
import * as fs from "fs";
import * as path from "path";
import { Issues, modeString } from "../../provider/model/errors";
import { parseImageOverlay } from "../../provider/model/overlay";
import { buildNodeGroupModel } from "../../provider/model/pxe";
import { readCpio } from "../../provider/render/cpio";
import { renderNodeGroup } from "../../provider/render/nodeGroup";
import { renderGroupOverlays } from "../../provider/render/overlay";

const ROOT = path.join(__dirname, "..", "golden", "overlay");

function render(input: any): string {
  const issues = new Issues(`netboot:index:NodeGroup "${input.group}"`);
  const g = buildNodeGroupModel(input.group, input, issues);
  if (!g) return issues.list.map((i) => `${i.field}: ${i.message}`).join("\n") + "\n";
  const out: string[] = [];
  for (const o of renderGroupOverlays(g, input.hostKeys)) {
    out.push(`### node ${o.node}: ${o.url} sha256 ${o.archive.sha256}${o.archive.secret ? " (secret)" : ""}`);
    for (const f of o.files) out.push(`=== ${f.path} ${modeString(f.mode)} ${f.uid}:${f.gid}${f.secret ? " secret" : ""}`, f.content.trimEnd());
  }
  const scripts = renderNodeGroup(g, input.hostKeys).filter((f) => f.path.includes("/ipxe/node-"));
  for (const s of scripts) out.push(`### ${s.path}`, s.content.trimEnd());
  return out.join("\n") + "\n";
}

describe("overlay golden files", () => {
  for (const c of fs.readdirSync(ROOT).sort()) {
    test(c, () => {
      const got = render(JSON.parse(fs.readFileSync(path.join(ROOT, c, "input.json"), "utf8")));
      const file = path.join(ROOT, c, "expected.txt");
      if (process.env.UPDATE_GOLDEN) fs.writeFileSync(file, got);
      expect(got).toBe(fs.readFileSync(file, "utf8"));
    });
  }
});

describe("overlay archive", () => {
  const input = JSON.parse(fs.readFileSync(path.join(ROOT, "templates", "input.json"), "utf8"));
  const g = buildNodeGroupModel(input.group, input, new Issues("t"))!;

  test("is a newc archive with folders first, owners and modes of the files, mtime 0", () => {
    const [o] = renderGroupOverlays(g);
    const entries = readCpio(o.archive.bytes);
    expect(entries.map((e) => e.name)).toEqual(["etc", "etc/hostname", "etc/motd", "etc/munge", "etc/munge/munge.key", "etc/slurm", "etc/slurm/slurm.conf"]);
    const key = entries.find((e) => e.name === "etc/munge/munge.key")!;
    expect([key.mode & 0o7777, key.uid, key.gid, key.data.toString()]).toEqual([0o400, 105, 107, "not-a-real-munge-key"]);
    expect(entries.every((e) => e.mtime === 0)).toBe(true);
    expect(o.archive.secret).toBe(true);
  });

  test("the same inputs give the same bytes; one node's change leaves the other's archive alone", () => {
    const a = renderGroupOverlays(g);
    const b = renderGroupOverlays(buildNodeGroupModel(input.group, input, new Issues("t"))!);
    expect(b.map((o) => o.archive.sha256)).toEqual(a.map((o) => o.archive.sha256));
    const changed = JSON.parse(JSON.stringify(input));
    changed.nodes[1].overlay.files[0].content = "changed\n";
    const c = renderGroupOverlays(buildNodeGroupModel(input.group, changed, new Issues("t"))!);
    expect(c[0].path).toBe(a[0].path);
    expect(c[1].path).not.toBe(a[1].path);
  });

  test("/root and /root/.ssh keep 0700 in the archive (cpio sets an existing folder's mode)", () => {
    const nodes = input.nodes.map((n: any) => ({ name: n.name, macs: n.macs, ip: n.ip }));
    const withKeys = { ...input, nodes, overlay: { authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBVt a@b"] } };
    const [o] = renderGroupOverlays(buildNodeGroupModel(input.group, withKeys, new Issues("t"))!);
    const modes = Object.fromEntries(readCpio(o.archive.bytes).map((e) => [e.name, e.mode & 0o7777]));
    expect(modes).toMatchObject({ root: 0o700, "root/.ssh": 0o700, "root/.ssh/authorized_keys": 0o600 });
  });

  test("a group without an overlay renders no archive and the node scripts are unchanged", () => {
    const plain = { ...input, overlay: undefined, nodes: input.nodes.map((n: any) => ({ name: n.name, macs: n.macs, ip: n.ip })) };
    const files = renderNodeGroup(buildNodeGroupModel(input.group, plain, new Issues("t"))!);
    expect(files.some((f) => f.path.includes("/overlays/"))).toBe(false);
    expect(files.filter((f) => f.content.includes("netboot.overlay"))).toEqual([]);
  });
});

test("an image's overlay: files only, every problem named under its field", () => {
  const issues = new Issues("netboot:index:BootImage \"img\"");
  expect(parseImageOverlay(issues, "overlay", [])).toEqual([]);
  expect(parseImageOverlay(issues, "overlay", { files: [{ path: "etc/x", content: "x" }] })).toEqual([]);
  expect(parseImageOverlay(issues, "overlay", undefined)).toEqual([]);
  expect(issues.list.map((i) => `${i.field}: ${i.message}`)).toEqual([
    "overlay: must be an overlay: { files }",
    expect.stringMatching(/^overlay\.files\[0\]\.path: /),
  ]);
});
