import { FETCH_RAM, FETCH_WINDOW, fetchPlanOf, PIECE_DEFAULT, glusterBytes, isEmptySpread, readSpreadOf } from "../../provider/model/readSpread";
import { parseVolfile } from "../../provider/model/volfileParse";

/** A client volfile: clients c0..c5 and the given cluster volumes on top (name, type, options, children). */
function volfile(...sets: Array<[string, string, Record<string, string>, number[]]>): string {
  const clients = [0, 1, 2, 3, 4, 5].map((i) => `volume c${i}\n  type protocol/client\n  option remote-host 10.0.0.${i + 1}\nend-volume\n`).join("");
  return clients + sets.map(([name, type, opts, kids]) =>
    `volume ${name}\n  type ${type}\n${Object.entries(opts).map(([k, v]) => `  option ${k} ${v}\n`).join("")}  subvolumes ${kids.map((k) => `c${k}`).join(" ")}\nend-volume\n`).join("");
}

describe("readSpreadOf", () => {
  it("spreads every replica set and disperse set that chose no read policy of its own", () => {
    const s = readSpreadOf(parseVolfile(volfile(["v-replicate-0", "cluster/replicate", {}, [0, 1, 2]], ["v-replicate-1", "cluster/replicate", { "quorum-type": "auto" }, [3, 4]],
      ["w-disperse-0", "cluster/disperse", { redundancy: "2" }, [0, 1, 2, 3, 4, 5]])));
    expect(s).toEqual({ replicate: [{ name: "v-replicate-0", children: 3 }, { name: "v-replicate-1", children: 2 }], disperse: ["w-disperse-0"] });
    expect(isEmptySpread(s)).toBe(false);
  });

  it("keeps a policy the volume set itself: read-subvolume, read-subvolume-index, read-hash-mode, read-policy", () => {
    for (const k of ["read-subvolume c1", "read-subvolume-index 2", "read-hash-mode 3"]) {
      const [key, value] = k.split(" ");
      expect(readSpreadOf(parseVolfile(volfile(["v-replicate-0", "cluster/replicate", { [key]: value }, [0, 1, 2]]))).replicate).toEqual([]);
    }
    expect(readSpreadOf(parseVolfile(volfile(["v-disperse-0", "cluster/disperse", { "read-policy": "gfid-hash" }, [0, 1, 2, 3, 4, 5]]))).disperse).toEqual([]);
  });

  it("leaves out what cannot or need not be addressed: a name with a dot (--xlator-option splits there), a one-child replicate, distribute", () => {
    const s = readSpreadOf(parseVolfile(volfile(["my.vol-replicate-0", "cluster/replicate", {}, [0, 1, 2]], ["v-replicate-1", "cluster/replicate", {}, [3]], ["v-dht", "cluster/distribute", {}, [4, 5]])));
    expect(s).toEqual({ replicate: [], disperse: [] });
    expect(isEmptySpread(s)).toBe(true);
    expect(isEmptySpread(undefined)).toBe(true);
  });
});

describe("fetchPlanOf", () => {
  const shard = (opts: Record<string, string>) => volfile(["v-replicate-0", "cluster/replicate", {}, [0, 1, 2]], ["v-replicate-1", "cluster/replicate", {}, [3, 4, 5]]) +
    `volume v-dht\n  type cluster/distribute\n  subvolumes v-replicate-0 v-replicate-1\nend-volume\n` +
    `volume v-shard\n  type features/shard\n${Object.entries(opts).map(([k, x]) => `  option ${k} ${x}\n`).join("")}  subvolumes v-dht\nend-volume\n`;

  it("reads a sharded image in pieces of one shard, FETCH_WINDOW at once", () => {
    expect(fetchPlanOf(parseVolfile(shard({ "shard-block-size": "4MB" })))).toEqual({ piece: 4 * 1024 ** 2, window: FETCH_WINDOW });
    expect(fetchPlanOf(parseVolfile(shard({ "shard-block-size": "4194304" })))).toEqual({ piece: 4 * 1024 ** 2, window: FETCH_WINDOW });
  });

  it("holds at most FETCH_RAM in pieces: four of 16 MB, two shards of up to 64 MB (glusterd's default size), a larger shard streamed", () => {
    expect(FETCH_WINDOW).toBe(8);
    expect(fetchPlanOf(parseVolfile(shard({ "shard-block-size": "8MB" })))).toEqual({ piece: 8 * 1024 ** 2, window: 8 });
    expect(fetchPlanOf(parseVolfile(shard({ "shard-block-size": "16MB" })))).toEqual({ piece: 16 * 1024 ** 2, window: 4 });
    expect(fetchPlanOf(parseVolfile(shard({ "shard-block-size": "32MB" })))).toEqual({ piece: 32 * 1024 ** 2, window: 2 });
    expect(fetchPlanOf(parseVolfile(shard({})))).toEqual({ piece: 64 * 1024 ** 2, window: 2 });
    expect(fetchPlanOf(parseVolfile(shard({ "shard-block-size": "128MB" })))).toBeUndefined();
    expect(fetchPlanOf(parseVolfile(shard({ "shard-block-size": "1GB" })))).toBeUndefined();
    expect(FETCH_RAM).toBe(64 * 1024 ** 2);
  });

  it("reads a disperse image in 4 MB pieces, FETCH_WINDOW at once", () => {
    expect(fetchPlanOf(parseVolfile(volfile(["v-disperse-0", "cluster/disperse", { redundancy: "2" }, [0, 1, 2, 3, 4, 5]])))).toEqual({ piece: PIECE_DEFAULT, window: FETCH_WINDOW });
    expect(PIECE_DEFAULT % (512 * 4)).toBe(0);
  });

  it("streams an unsharded replicated image (one brick per node serves it), and one whose block size the client could not read", () => {
    expect(fetchPlanOf(parseVolfile(volfile(["v-replicate-0", "cluster/replicate", {}, [0, 1, 2]])))).toBeUndefined();
    expect(fetchPlanOf(parseVolfile(volfile(["v-replicate-0", "cluster/replicate", {}, [0, 1, 2]], ["v-replicate-1", "cluster/replicate", {}, [3, 4, 5]]) +
      "volume v-dht\n  type cluster/distribute\n  subvolumes v-replicate-0 v-replicate-1\nend-volume\n"))).toBeUndefined();
    expect(fetchPlanOf(parseVolfile(shard({ "shard-block-size": "4parsecs" })))).toBeUndefined();
  });

  it("glusterBytes reads gluster's size units", () => {
    expect(["4MB", "4M", "4mb", "4194304", "4096KB", "4 MB"].map(glusterBytes)).toEqual(Array(6).fill(4194304));
    expect(glusterBytes("1TB")).toBe(1024 ** 4);
    expect(["", "MB", "-4MB", "4.5MB", "4XB"].map(glusterBytes)).toEqual(Array(5).fill(undefined));
  });
});
