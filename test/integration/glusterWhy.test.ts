/**
 * The node's failure line when its GlusterFS mount does not come up (issue 18, lab faults): the initramfs's
 * `gluster_why` (provider/render/init.ts), run by busybox as on a node, against the volfile and log of a real
 * glusterfs FUSE client whose bricks are down. It must name the bricks the client cannot reach and the set left
 * without a readable copy, instead of 15 lines of "Transport endpoint is not connected".
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { buildGlusterModel } from "../../provider/model/gluster";
import { Issues } from "../../provider/model/errors";
import { renderStandalone } from "../../provider/render/volfile";
import { GLUSTER_WHY } from "../../provider/render/init";
import { requireRoot, requireTool, tmpDir } from "../helpers/env";
import { killPid, mountClient, Netns, sleep, startBrick, unmount, waitFor } from "../helpers/gluster";

jest.setTimeout(120_000);

const IP = "10.88.43.1";
const PORTS = [49341, 49342, 49343];

describe("gluster_why: the failure line of a node whose bricks are down", () => {
  const dir = tmpDir("gluster-why");
  const bin = path.join(dir, "bin");
  const full = (p: string) => path.join(dir, "files", p);
  let ns: Netns;
  let clientVol = "";
  const brickVols: string[] = [];
  const pids: number[] = [];
  let mnt = "";
  let clientPid: number | undefined;
  const log = () => path.join(dir, "client-why.log");

  /** Runs the function as a node does: busybox sh, and busybox's own awk first on PATH. */
  function why(): string {
    const r = spawnSync("busybox", ["sh", "-c", `${GLUSTER_WHY}\ngluster_why "$1" "$2"`, "sh", clientVol, log()], {
      encoding: "utf8",
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    expect(r.stderr).toBe("");
    return r.stdout.trim();
  }

  beforeAll(async () => {
    requireRoot("the gluster_why test");
    const busybox = requireTool("busybox");
    fs.mkdirSync(bin, { recursive: true });
    fs.symlinkSync(busybox, path.join(bin, "awk"));
    const issues = new Issues('netboot:index:GlusterVolume "why"');
    const m = buildGlusterModel("why", {
      mode: "standalone", layout: "replicate", replica: 3, clusterSubnet: "10.88.43.0/24", allowSameHostSets: true,
      bricks: PORTS.map((port, i) => ({ host: IP, path: path.join(dir, `b${i}`), port })),
      options: { "network.ping-timeout": "3" },
    }, {}, issues);
    expect(issues.list).toEqual([]);
    for (const f of renderStandalone(m!, full)) {
      fs.mkdirSync(path.dirname(full(f.path)), { recursive: true });
      fs.writeFileSync(full(f.path), f.content);
      if (f.path.endsWith(".tcp-fuse.vol")) clientVol = full(f.path);
      else if (f.path.endsWith(".vol")) brickVols.push(full(f.path));
    }
    expect(clientVol).not.toBe("");
    expect(brickVols.length).toBe(3);
    for (let i = 0; i < 3; i++) fs.mkdirSync(path.join(dir, `b${i}`, ".glusterfs"), { recursive: true });
    ns = new Netns("why", IP).create();
  });

  afterAll(async () => {
    if (mnt) await unmount(mnt, clientPid);
    for (const p of pids) await killPid(p);
    if (ns) ns.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("one brick of three up: the other two are named, the set still has a readable copy", async () => {
    pids.push(await startBrick(ns, brickVols.sort()[0], dir, "why0"));
    mnt = path.join(dir, "mnt");
    clientPid = await mountClient(ns, clientVol, mnt, dir, "why");
    await waitFor("the client to reach the first brick", () => fs.existsSync(log()) && /Connected, attached/.test(fs.readFileSync(log(), "utf8")));
    await sleep(1000);
    const line = why();
    expect(line).toMatch(new RegExp(`^bricks not reachable: ${IP}:${PORTS[1]}, ${IP}:${PORTS[2]}$`));
  });

  test("every brick down: all three named, and the replica set with none of its bricks", async () => {
    await killPid(pids.pop());
    await waitFor("the client to see its brick go", () => /disconnected from/.test(fs.readFileSync(log(), "utf8")));
    const line = why();
    expect(line).toBe(`bricks not reachable: ${PORTS.map((p) => `${IP}:${p}`).join(", ")}; why-replicate-0 has 0 of 3 bricks up (needs 1)`);
  });
});
