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

/**
 * How a node reads the image file of a sharded volume: in pieces of one shard, several at once
 * (render/init.ts `fetch_image`).
 *
 * Why: the shard xlator stores piece k of a file as a file of its own, which distribute places by the hash of its
 * name, so the pieces of one image fall on every set. A node that reads the image as one stream asks for one piece
 * at a time, and in a storm every node asks for the same piece at the same moment (they share the links fairly,
 * so they stay in step): the set holding that piece serves them all while the other sets wait (measured: a sharded
 * 2 x 3 at 1.71x the physical limit with the bytes split evenly, bench/storm run 5). With `window` pieces in
 * flight, each landing on a set by its own hash, every set has readers nearly all the time.
 * The price is RAM: up to `window` pieces wait in the initramfs's tmpfs until the unpacker takes them.
 * An unsharded file has one place, so it is streamed as it was.
 */
export interface FetchPlan {
  /** bytes per piece: the volume's shard-block-size, so a piece is one shard on one set */
  piece: number;
  /** pieces read at once */
  window: number;
}

/** Pieces in flight per node; with two sets, four random pieces all on one set happens 1 time in 8. */
export const FETCH_WINDOW = 4;
/** glusterd's default shard-block-size */
const SHARD_DEFAULT = 64 * 1024 ** 2;
const UNITS: Record<string, number> = { "": 1, B: 1, K: 1024, KB: 1024, M: 1024 ** 2, MB: 1024 ** 2, G: 1024 ** 3, GB: 1024 ** 3, T: 1024 ** 4, TB: 1024 ** 4 };

/** A gluster size option in bytes (`4MB`, `4194304`), or undefined when it is not one. */
export function glusterBytes(v: string): number | undefined {
  const m = /^(\d+)\s*([KMGT]?B?)$/i.exec(v.trim());
  return m ? Number(m[1]) * UNITS[m[2].toUpperCase()] : undefined;
}

export function fetchPlanOf(graph: VolfileGraph): FetchPlan | undefined {
  const shard = graph.volumes.find((v) => v.type === "features/shard");
  if (!shard) return undefined;
  const size = shard.options["shard-block-size"];
  const piece = size === undefined ? SHARD_DEFAULT : glusterBytes(size);
  // a size the client would not read is the volume's error (model/gluster.ts checks its own); stream then
  if (piece === undefined || piece < 1) return undefined;
  return { piece, window: FETCH_WINDOW };
}
