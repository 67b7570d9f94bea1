/**
 * The node-side half of the read spread: the shell function the init runs (busybox ash, as in the initramfs)
 * maps each node's address to its replica, and consecutive addresses take consecutive replicas, across a /24.
 */
import { spawnSync } from "child_process";
import { renderReadOptsFn } from "../../provider/render/init";

function run(fn: string, ips: string[]): string[] {
  const r = spawnSync("busybox", ["ash", "-c", `${fn}\nfor ip in ${ips.join(" ")}; do gluster_read_opts "$ip"; done`], { encoding: "utf8" });
  if (r.error) throw new Error(`busybox: ${r.error.message} (apt-get install -y busybox-static)`);
  expect(r.stderr).toBe("");
  return r.stdout.trim().split("\n");
}

describe("gluster_read_opts (busybox ash)", () => {
  const fn = renderReadOptsFn({ replicate: [{ name: "v-replicate-0", children: 3 }, { name: "v-replicate-1", children: 2 }], disperse: ["e-disperse-0"] });

  it("gives a node its replica of every set and round-robin disperse reads", () => {
    expect(run(fn, ["10.0.0.3"])).toEqual(["--xlator-option=v-replicate-0.read-subvolume-index=0 --xlator-option=v-replicate-1.read-subvolume-index=1 --xlator-option=e-disperse-0.read-policy=round-robin"]);
  });

  it("spreads consecutive addresses evenly over the replicas, across a /24 boundary", () => {
    const ips = ["10.0.0.252", "10.0.0.253", "10.0.0.254", "10.0.0.255", "10.0.1.0", "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4"];
    const idx = run(fn, ips).map((l) => Number(/v-replicate-0\.read-subvolume-index=(\d)/.exec(l)![1]));
    for (let i = 1; i < idx.length; i++) expect(idx[i]).toBe((idx[i - 1] + 1) % 3);
    expect([0, 1, 2].map((k) => idx.filter((x) => x === k).length)).toEqual([3, 3, 3]);
  });
});
