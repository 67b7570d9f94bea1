import { isEmptySpread, readSpreadOf } from "../../provider/model/readSpread";
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
