/**
 * Which node of a group changed, as engine property paths (`nodes[17].kernelArgs`), so a preview of a
 * 10,000-node cluster names the one node that differs instead of the file it renders to. Pure.
 *
 * Nodes are compared by position, the way the engine compares arrays: inserting a node in the middle shows as
 * changes to every later position (the rendered files say exactly which of them really change).
 */

export type NodeChangeKind = "add" | "delete" | "update";

export interface NodeChange {
  /** `nodes[3]` (a node added or removed) or `nodes[3].ip` (one field of a node). */
  path: string;
  kind: NodeChangeKind;
}

type Plain = Record<string, unknown>;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Field-level changes from `before` to `after`, in path order (position, then field name). */
export function diffNodes(list: string, before: readonly Plain[], after: readonly Plain[]): NodeChange[] {
  const out: NodeChange[] = [];
  for (let i = 0; i < Math.max(before.length, after.length); i++) {
    const at = `${list}[${i}]`;
    const b = before[i];
    const a = after[i];
    if (b === undefined) out.push({ path: at, kind: "add" });
    else if (a === undefined) out.push({ path: at, kind: "delete" });
    else
      for (const k of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) {
        // An absent field and an explicit undefined/null are the same input.
        const bv = b[k] ?? undefined;
        const av = a[k] ?? undefined;
        if (same(bv, av)) continue;
        out.push({ path: `${at}.${k}`, kind: bv === undefined ? "add" : av === undefined ? "delete" : "update" });
      }
  }
  return out;
}

/** Changes of a plain object's fields (`boot.args`, `server.httpBaseUrl`), same rules as a node's. */
export function diffFields(name: string, before: Plain | undefined, after: Plain | undefined): NodeChange[] {
  if (before === undefined && after === undefined) return [];
  if (before === undefined) return [{ path: name, kind: "add" }];
  if (after === undefined) return [{ path: name, kind: "delete" }];
  return diffNodes(name, [before], [after]).map((c) => ({ ...c, path: name + c.path.slice(`${name}[0]`.length) }));
}
