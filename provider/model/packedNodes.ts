/**
 * The node list of a NodeGroupFiles as it travels through the engine: one JSON string per node.
 *
 * Why: the engine, the Node SDK and the provider spend their time per protobuf value, not per byte. A node as a
 * struct is about eight values (a struct, its fields, a list of MACs, a tags map); as a string it is one. At
 * 10,000 nodes the list crosses the wire five times per operation (the child's registration, check's old and new
 * inputs, diff's new and old inputs), so packing it cuts most of the engine's and the SDK's work of a no-change
 * preview (bench/pxe/README.md has the figures). The NodeGroup component's own input stays a typed list: the
 * program's API and its validation messages (`nodes[3].ip`) do not change; only the internal resource packs.
 *
 * Keys are written in one fixed order (the schema's), so the same node always packs to the same string and an
 * unchanged group never shows a diff. Pure.
 */
import { Node } from "../schema-types";

const ORDER: readonly (keyof Node)[] = ["name", "macs", "ip", "firmware", "kernelArgs", "tags", "overlay"];

/** A node as one string; fields absent or undefined are left out. */
export function packNode(n: Node): string {
  const all = n as unknown as Record<string, unknown>;
  const o: Record<string, unknown> = {};
  for (const k of ORDER) if (all[k] !== undefined && all[k] !== null) o[k] = all[k];
  // a field this list does not know yet still travels (the model refuses it with its own message)
  for (const k of Object.keys(all).sort()) if (!(k in o) && !ORDER.includes(k as keyof Node) && all[k] !== undefined) o[k] = all[k];
  return JSON.stringify(o);
}

export function packNodes(nodes: readonly Node[]): string[] {
  return nodes.map(packNode);
}

/**
 * The node objects of a list as the engine holds it: packed strings (this version) or structs (state written
 * before packing, and unit tests that hand objects). A string that is not a JSON object stays a string, so the
 * model reports it as a bad node instead of this throwing.
 */
export function unpackNodes(list: unknown): unknown {
  if (!Array.isArray(list)) return list;
  return list.map((n) => {
    if (typeof n !== "string") return n;
    try {
      const o = JSON.parse(n);
      return o && typeof o === "object" && !Array.isArray(o) ? o : n;
    } catch {
      return n;
    }
  });
}

/** True when the list is in the packed form (the engine then shows a changed node as one string). */
export function isPacked(list: unknown): boolean {
  return Array.isArray(list) && list.length > 0 && list.every((n) => typeof n === "string");
}
