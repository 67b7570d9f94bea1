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
 * How a node reads the image file from a volume that spreads one file over several bricks (sharded, or
 * disperse): in pieces, several at once (render/init.ts `fetch_image`).
 *
 * Why, sharded: the shard xlator stores piece k of a file as a file of its own, which distribute places by the
 * hash of its name, so the pieces of one image fall on every set. A node that reads the image as one stream asks
 * for one piece at a time, and in a storm every node asks for the same piece at the same moment (they share the
 * links fairly, so they stay in step): the set holding that piece serves them all while the other sets wait
 * (measured, bench/storm run 7: a sharded 2 x 3 at 1.47x its busier set's link streaming, 1.06x in pieces). With
 * `window` pieces in flight, each landing on a set by its own hash, every set has readers nearly all the time.
 * Why, disperse: a stream keeps one read of a few stripes in flight, and each waits for the slowest of its bricks
 * and the decoding; pieces in flight overlap those waits (4+2: 1.37x streaming, 1.17x in pieces, run 7).
 * A replicated file without shard is read from one brick (this node's replica), where more reads in flight add
 * nothing to its link (measured: 2.97x the NFS master in pieces, 2.98x streamed): streamed as before.
 * The price is RAM: up to `window` pieces wait in the initramfs's tmpfs until the unpacker takes them (FETCH_RAM).
 */
export interface FetchPlan {
  /** bytes per piece: the volume's shard-block-size (a piece is one shard on one set), else PIECE_DEFAULT */
  piece: number;
  /** pieces read at once */
  window: number;
}

/**
 * Pieces in flight per node. With two sets, eight random pieces all on one set happens 1 time in 128 (four: 1 in
 * 8); measured on a sharded 2 x 3, eight came within 1.06x of the busier set's link, four within 1.11x (run 7; run 8,
 * an even split: 1.17x the physical limit of all six, 5.38x the NFS master).
 */
export const FETCH_WINDOW = 8;
/**
 * What a node's pieces in flight may hold in RAM: eight shards of up to 8 MB, four of 16 MB. Larger shards get two
 * in flight (the fewest that reach two sets), up to 64 MB each, so 128 MB at most; a larger shard is streamed,
 * since two pieces of it would hold hundreds of MB of a node's RAM.
 */
export const FETCH_RAM = 64 * 1024 ** 2;
/** A disperse volume's piece: a whole number of any stripe (512 bytes x data bricks), 32 MB in flight. */
export const PIECE_DEFAULT = 4 * 1024 ** 2;
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
  if (shard) {
    const size = shard.options["shard-block-size"];
    const piece = size === undefined ? SHARD_DEFAULT : glusterBytes(size);
    // a size the client would not read is the volume's error (model/gluster.ts checks its own); stream then
    if (piece === undefined || piece < 1 || piece > FETCH_RAM) return undefined;
    // two sets need two shards in flight, so the RAM is whole shards: the window shrinks to fit FETCH_RAM
    return { piece, window: Math.max(2, Math.min(FETCH_WINDOW, Math.floor(FETCH_RAM / piece))) };
  }
  if (graph.volumes.some((v) => v.type === "cluster/disperse")) return { piece: PIECE_DEFAULT, window: FETCH_WINDOW };
  return undefined;
}
