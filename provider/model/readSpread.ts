/**
 * How a node's glusterfs client spreads a boot storm's reads over the bricks (pure; measured in bench/storm,
 * docs/scale.md).
 *
 * In a boot storm every node reads the same image file at the same moment, and glusterd's defaults send all of
 * them to the same bricks:
 *   - replicate (AFR) reads a file from the one child its gfid hashes to (read-hash-mode 1): one brick of the set
 *     serves every node while its replicas idle (measured: replica 3 at 1.0x one NFS server);
 *   - disperse (EC) reads from the same k bricks (read-policy gfid-hash): a 4+2 volume's other two idle.
 * The spread netboot applies is deterministic and per node: each node reads from replica (node number mod replica
 * count) of every set, the node number being its IPv4 address (consecutive addresses take consecutive replicas,
 * so a group divides exactly), and disperse reads rotate over all the set's bricks (read-policy round-robin).
 * Measured alternatives: read-hash-mode 3 (fewest outstanding reads) spreads nearly as well, but by the client's
 * own counters, so how even it is depends on timing; mode 2 (gfid and the reader's pid) spreads unevenly, and on
 * real nodes booting one initramfs the reader's pid is the same number everywhere. Both kinds of spread stay
 * correct when a brick is down: AFR reads another readable child when the pinned one is not, EC picks k live
 * bricks.
 *
 * A volume that chose a policy of its own (read-subvolume, read-subvolume-index or read-hash-mode on a replicate
 * xlator, read-policy on a disperse one) keeps it: the volfile's options win, nothing is added for that set.
 */
import type { VolfileGraph } from "./volfileParse";

export interface ReadSpread {
  /** replicate xlators that set no read policy: each node reads from child (node number mod children) */
  replicate: Array<{ name: string; children: number }>;
  /** disperse xlators that set no read-policy: reads rotate over every brick of the set */
  disperse: string[];
}

/** Options on a replicate xlator that choose its read child; any of them means the volume decided. */
const AFR_READ_POLICY = ["read-subvolume", "read-subvolume-index", "read-hash-mode"];

/**
 * glusterfs's `--xlator-option=NAME.KEY=VALUE` splits at the first dot, so a name with a dot (or anything a shell
 * would read) cannot be addressed: such a set keeps glusterd's policy.
 */
const ADDRESSABLE = /^[A-Za-z0-9_-]{1,200}$/;

export function readSpreadOf(graph: VolfileGraph): ReadSpread {
  const out: ReadSpread = { replicate: [], disperse: [] };
  for (const v of graph.volumes) {
    if (!ADDRESSABLE.test(v.name)) continue;
    if (v.type === "cluster/replicate" && v.subvolumes.length > 1 && !AFR_READ_POLICY.some((k) => k in v.options))
      out.replicate.push({ name: v.name, children: v.subvolumes.length });
    else if (v.type === "cluster/disperse" && !("read-policy" in v.options)) out.disperse.push(v.name);
  }
  return out;
}

export function isEmptySpread(s: ReadSpread | undefined): boolean {
  return !s || (s.replicate.length === 0 && s.disperse.length === 0);
}
