/**
 * Drift is a pure diff of hashes (warewulf `node/diff.go`): what we expect on the host against what we found.
 */

export interface FileState {
  sha256: string;
  mode: string;
}

export type ChangeKind = "add" | "delete" | "update" | "mode";

export interface Change<T = FileState> {
  path: string;
  kind: ChangeKind;
  before?: T;
  after?: T;
}

/**
 * Changes that turn `observed` into `expected`, sorted by path. A path missing on either side (or observed as
 * `undefined`) is add/delete; `compare` says whether two states are the same ("same"), differ in content
 * ("update") or only in mode ("mode").
 */
export function diffStates<T>(expected: Record<string, T>, observed: Record<string, T | undefined>, compare: (want: T, have: T) => "same" | "update" | "mode"): Change<T>[] {
  const paths = new Set([...Object.keys(expected), ...Object.keys(observed)]);
  const out: Change<T>[] = [];
  for (const path of [...paths].sort()) {
    const want = expected[path];
    const have = observed[path];
    if (want !== undefined && have === undefined) out.push({ path, kind: "add", after: want });
    else if (want === undefined && have !== undefined) out.push({ path, kind: "delete", before: have });
    else if (want !== undefined && have !== undefined) {
      const k = compare(want, have);
      if (k !== "same") out.push({ path, kind: k, before: have, after: want });
    }
  }
  return out;
}

/** Changes that turn `observed` into `expected`, sorted by path. A path missing on either side is add/delete. */
export function diffManifests(expected: Record<string, FileState>, observed: Record<string, FileState | undefined>): Change[] {
  return diffStates(expected, observed, (want, have) => (want.sha256 !== have.sha256 ? "update" : want.mode !== have.mode ? "mode" : "same"));
}

/**
 * Changes of plain values (arguments such as `checks`, `signal`, option maps), compared by canonical form:
 * key order does not count, array order does. `undefined` and `null` are both "not set".
 */
export function diffValues(expected: Record<string, unknown>, observed: Record<string, unknown>): Change<unknown>[] {
  const set = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined && v !== null));
  return diffStates(set(expected), set(observed), (want, have) => (canonical(want) === canonical(have) ? "same" : "update"));
}

/** JSON with object keys sorted, so equal values have one text. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") return `{${Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
  return JSON.stringify(v) ?? "null";
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
