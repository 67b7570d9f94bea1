/**
 * Drift is a pure diff of hashes (warewulf `node/diff.go`): what we expect on the host against what we found.
 */

export interface FileState {
  sha256: string;
  mode: string;
}

export type ChangeKind = "add" | "delete" | "update" | "mode";

export interface Change {
  path: string;
  kind: ChangeKind;
  before?: FileState;
  after?: FileState;
}

/** Changes that turn `observed` into `expected`, sorted by path. A path missing on either side is add/delete. */
export function diffManifests(expected: Record<string, FileState>, observed: Record<string, FileState | undefined>): Change[] {
  const paths = new Set([...Object.keys(expected), ...Object.keys(observed)]);
  const out: Change[] = [];
  for (const path of [...paths].sort()) {
    const want = expected[path];
    const have = observed[path];
    if (want && !have) out.push({ path, kind: "add", after: want });
    else if (!want && have) out.push({ path, kind: "delete", before: have });
    else if (want && have) {
      if (want.sha256 !== have.sha256) out.push({ path, kind: "update", before: have, after: want });
      else if (want.mode !== have.mode) out.push({ path, kind: "mode", before: have, after: want });
    }
  }
  return out;
}

export function formatChanges(changes: Change[]): string {
  return changes
    .map((c) => {
      switch (c.kind) {
        case "add": return `+ ${c.path}`;
        case "delete": return `- ${c.path}`;
        case "update": return `~ ${c.path} (${c.before!.sha256.slice(0, 12)} -> ${c.after!.sha256.slice(0, 12)})`;
        case "mode": return `~ ${c.path} (mode ${c.before!.mode} -> ${c.after!.mode})`;
        default: {
          const exhaustive: never = c.kind;
          return exhaustive;
        }
      }
    })
    .join("\n");
}
