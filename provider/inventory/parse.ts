/**
 * Reads a cluster inventory: YAML with positions (the `yaml` package), JSON Schema validation (ajv, every error
 * at once) and the cross-references the schema cannot express. Every issue names file:line:column, the path in
 * the document, what is wrong and a hint. Pure: text in, inventory or issues out.
 */
import * as fs from "fs";
import * as path from "path";
import Ajv, { ErrorObject } from "ajv";
import { isMap, isPair, isScalar, isSeq, LineCounter, Node, parseDocument, Document } from "yaml";
import { Inventory } from "./types";
import { show } from "../model/errors";

export interface InventoryIssue {
  file: string;
  line: number;
  column: number;
  /** Slash path in the document, e.g. `/groups/compute/nodes/1/mac`. */
  path: string;
  message: string;
  hint: string;
}

export function formatInventoryIssue(i: InventoryIssue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.path || "/"}: ${i.message}${i.hint ? ` (hint: ${i.hint})` : ""}`;
}

export class InventoryError extends Error {
  constructor(public readonly issues: InventoryIssue[]) {
    super(
      `${issues.length} inventory error${issues.length === 1 ? "" : "s"}; nothing was written:\n` +
        issues.map((i) => "  " + formatInventoryIssue(i)).join("\n"),
    );
    this.name = "InventoryError";
  }
}

export type ParseResult = { ok: true; inventory: Inventory } | { ok: false; issues: InventoryIssue[] };

/** The JSON Schema of the inventory format (schema/cluster.schema.json). */
export function clusterSchema(): any {
  return JSON.parse(fs.readFileSync(schemaPath(), "utf8"));
}

function schemaPath(): string {
  // provider/inventory (ts-jest) and dist/provider/inventory (compiled) both reach the repo's schema/ folder.
  for (const up of ["../..", "../../.."]) {
    const p = path.join(__dirname, up, "schema", "cluster.schema.json");
    if (fs.existsSync(p)) return p;
  }
  throw new Error("schema/cluster.schema.json not found next to the provider");
}

/**
 * The cluster schema and its compiled validator, both made on first use (compiling takes a while): one per
 * provider context, so every Cluster of a program shares it; scripts and tests make their own.
 */
export class InventorySchema {
  private docCache: any;
  private compiled: ReturnType<Ajv["compile"]> | undefined;

  get doc(): any {
    return (this.docCache ??= clusterSchema());
  }

  get validate(): ReturnType<Ajv["compile"]> {
    return (this.compiled ??= new Ajv({ allErrors: true, verbose: true, strict: false }).compile(this.doc));
  }
}

/** Parses and validates inventory text. `file` names it in messages. */
export function parseInventory(text: string, file: string, schema: InventorySchema = new InventorySchema()): ParseResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const issues: InventoryIssue[] = [];
  const dupKeys = duplicateKeys(doc);
  for (const e of doc.errors) {
    // The yaml package says "Map keys must be unique" without the key: name it, at its position.
    const dup = e.code === "DUPLICATE_KEY" ? dupKeys.get(e.pos[0]) : undefined;
    const message = dup ? `duplicate key ${show(dup.key)} (first at line ${at(dup.first).line})` : e.message.split("\n")[0];
    issues.push({ file, ...at(e.pos[0]), path: dup ? pointer(dup.path) : "", message, hint: yamlHint(e.code) });
  }
  if (issues.length) return { ok: false, issues };

  const data = doc.toJS({ maxAliasCount: 100 });
  const locate = (segs: (string | number)[], key = false) => at(nodeStart(doc, segs, key));
  const validate = schema.validate;
  if (!validate(data)) {
    // An error inside `propertyNames` repeats the propertyNames error itself: keep the latter.
    for (const e of dedupe(validate.errors ?? []).filter((x) => (x as { propertyName?: string }).propertyName === undefined)) issues.push(schemaIssue(e, file, locate, schema.doc));
  }
  crossChecks(data, (segs, message, hint, key = false) => issues.push({ file, ...locate(segs, key), path: pointer(segs), message, hint }));
  issues.sort((a, b) => a.line - b.line || a.column - b.column);
  return issues.length ? { ok: false, issues } : { ok: true, inventory: data as Inventory };
}

/** Parses or throws an InventoryError listing every issue. */
export function loadInventory(text: string, file: string, schema?: InventorySchema): Inventory {
  const r = parseInventory(text, file, schema);
  if (!r.ok) throw new InventoryError(r.issues);
  return r.inventory;
}

/** Offset of every repeated map key -> the key, its map's path and the offset of its first occurrence. */
function duplicateKeys(doc: Document): Map<number, { key: string; path: string[]; first: number }> {
  const out = new Map<number, { key: string; path: string[]; first: number }>();
  const walk = (n: unknown, path: string[]) => {
    if (isMap(n)) {
      const first = new Map<string, number>();
      for (const p of n.items) {
        if (!isPair(p)) continue;
        const k = isScalar(p.key) ? String(p.key.value) : undefined;
        const off = (p.key as Node | null)?.range?.[0];
        if (k !== undefined && off !== undefined) {
          const f = first.get(k);
          if (f === undefined) first.set(k, off);
          else out.set(off, { key: k, path: [...path, k], first: f });
        }
        walk(p.value, k === undefined ? path : [...path, k]);
      }
    } else if (isSeq(n)) n.items.forEach((x, i) => walk(x, [...path, String(i)]));
  };
  walk(doc.contents, []);
  return out;
}

function pointer(segs: (string | number)[]): string {
  return segs.length ? "/" + segs.join("/") : "/";
}

function segments(instancePath: string): string[] {
  if (!instancePath) return [];
  return instancePath.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** Offset of the node at a path (or of its key); the deepest existing ancestor when the path is missing. */
function nodeStart(doc: Document, segs: (string | number)[], key: boolean): number {
  let n: unknown = doc.contents;
  let best = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    const last = i === segs.length - 1;
    if (isMap(n)) {
      const pair = n.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(s));
      if (!pair) return best;
      const k = pair.key as Node;
      if (last && key) return k.range?.[0] ?? best;
      n = pair.value;
      // A key with no value (`pxe:`) has no value node: point at the key.
      best = (pair.value as Node | null)?.range?.[0] ?? k.range?.[0] ?? best;
    } else if (isSeq(n)) {
      const item = n.items[Number(s)] as Node | undefined;
      if (!item) return best;
      n = item;
      best = item.range?.[0] ?? best;
    } else return best;
  }
  return best;
}

/** ajv reports `if`/`anyOf` wrappers and the failing branch; keep the errors that say something. */
function dedupe(errors: ErrorObject[]): ErrorObject[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

type Locate = (segs: (string | number)[], key?: boolean) => { line: number; column: number };

function schemaIssue(e: ErrorObject, file: string, locate: Locate, schemaDoc: any): InventoryIssue {
  const segs = segments(e.instancePath);
  const desc: string | undefined = (e.parentSchema as any)?.description;
  const p = e.params as any;
  switch (e.keyword) {
    case "additionalProperties": {
      const allowed = Object.keys((e.parentSchema as any)?.properties ?? {});
      const near = closest(p.additionalProperty, allowed);
      return {
        file, ...locate([...segs, p.additionalProperty], true), path: pointer([...segs, p.additionalProperty]),
        message: `unknown key \`${p.additionalProperty}\``,
        hint: near ? `did you mean \`${near}\`?` : allowed.length ? `allowed keys here: ${allowed.join(", ")}` : "remove it",
      };
    }
    case "required": {
      let sub = (e.parentSchema as any)?.properties?.[p.missingProperty];
      if (sub?.$ref) sub = { ...schemaDoc.definitions[sub.$ref.split("/").pop()], ...sub };
      return {
        file, ...locate(segs), path: pointer(segs), message: `missing required key \`${p.missingProperty}\``,
        hint: `add \`${p.missingProperty}:\`${sub?.description ? ` (${sub.description})` : ""}`,
      };
    }
    case "propertyNames":
      return { file, ...locate([...segs, p.propertyName], true), path: pointer([...segs, p.propertyName]), message: `name \`${p.propertyName}\` is not a lower-case DNS label`, hint: "use lower-case letters, digits and `-`, e.g. `rack-1`" };
    case "pattern":
      return { file, ...locate(segs), path: pointer(segs), message: `${JSON.stringify(e.data)} is not valid here`, hint: desc ?? `must match ${p.pattern}` };
    case "enum":
      return { file, ...locate(segs), path: pointer(segs), message: `${JSON.stringify(e.data)} is not allowed`, hint: `one of: ${p.allowedValues.map((v: unknown) => String(v)).join(", ")}` };
    case "const":
      return { file, ...locate(segs), path: pointer(segs), message: `${JSON.stringify(e.data)} is not supported`, hint: `write ${JSON.stringify(p.allowedValue)}` };
    case "type": {
      const quote = p.type === "string" && (typeof e.data === "number" || typeof e.data === "boolean") ? ` (quote it: "${e.data}")` : "";
      const empty = e.data === null ? " (the value is empty)" : "";
      return { file, ...locate(segs), path: pointer(segs), message: `expected ${article(p.type)}, found ${typeName(e.data)}${empty}`, hint: `write ${article(p.type)}${quote}${desc ? `: ${desc}` : ""}` };
    }
    default:
      return { file, ...locate(segs), path: pointer(segs), message: e.message ?? e.keyword, hint: desc ?? "see docs/inventory.md" };
  }
}

function article(t: string): string {
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

function typeName(v: unknown): string {
  if (v === null) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  return `${article(typeof v)} (${JSON.stringify(v)})`;
}

function yamlHint(code: string): string {
  switch (code) {
    case "DUPLICATE_KEY":
      return "each key may appear once in a map; merge the two entries";
    case "BAD_INDENT":
    case "MISSING_CHAR":
      return "check the indentation (spaces, not tabs) and the `:` after each key";
    case "TAB_AS_INDENT":
      return "indent with spaces, not tabs";
    default:
      return "fix the YAML syntax";
  }
}

/** Levenshtein-nearest candidate, when it is close enough to be a typo. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

type Report = (segs: (string | number)[], message: string, hint: string, key?: boolean) => void;

const isObj = (v: unknown): v is Record<string, any> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The server an image or group uses: its own, `defaults.server`, or the only server there is. */
export function serverOf(inv: Pick<Inventory, "defaults" | "servers">, entry: { server?: string }): string | undefined {
  if (typeof entry.server === "string") return entry.server;
  if (typeof inv.defaults?.server === "string") return inv.defaults.server;
  const names = isObj(inv.servers) ? Object.keys(inv.servers) : [];
  return names.length === 1 ? names[0] : undefined;
}

/** References between entries and rules across entries, which JSON Schema cannot express. */
function crossChecks(inv: any, report: Report): void {
  if (!isObj(inv)) return;
  const names = (k: string) => (isObj(inv[k]) ? Object.keys(inv[k]) : []);
  const servers = names("servers");
  const refServer = (segs: (string | number)[], entry: any) => {
    const s = serverOf(inv, entry);
    if (s === undefined) {
      report(segs, servers.length ? "names no server and there is no `defaults.server`" : "needs a server, and `servers` is empty", servers.length ? `add \`server:\` (one of: ${servers.join(", ")})` : "add a `servers:` entry");
    } else if (!servers.includes(s)) {
      const own = typeof entry.server === "string";
      report(own ? [...segs, "server"] : ["defaults", "server"], `server \`${s}\` is not defined in \`servers\``, servers.length ? `one of: ${servers.join(", ")}` : "add a `servers:` entry");
    }
  };
  if (isObj(inv.defaults) && typeof inv.defaults.server === "string" && !servers.includes(inv.defaults.server))
    report(["defaults", "server"], `server \`${inv.defaults.server}\` is not defined in \`servers\``, servers.length ? `one of: ${servers.join(", ")}` : "add a `servers:` entry");

  for (const [name, img] of Object.entries<any>(isObj(inv.images) ? inv.images : {})) {
    if (!isObj(img)) continue;
    refServer(["images", name], img);
    const volumes = names("volumes");
    if (img.transport === "glusterfs" && img.volume === undefined)
      report(["images", name], "transport glusterfs needs `volume`", volumes.length ? `add \`volume:\` (one of: ${volumes.join(", ")})` : "add a `volumes:` entry and name it in `volume:`");
    if (typeof img.volume === "string" && !volumes.includes(img.volume))
      report(["images", name, "volume"], `volume \`${img.volume}\` is not defined in \`volumes\``, volumes.length ? `one of: ${volumes.join(", ")}` : "add a `volumes:` entry");
    if (img.volume !== undefined && img.transport !== undefined && img.transport !== "glusterfs")
      report(["images", name, "volume"], `\`volume\` is only used with transport glusterfs, not ${img.transport}`, "remove `volume:` or set `transport: glusterfs`");
  }

  const seenName = new Map<string, string>();
  const seenMac = new Map<string, string>();
  const seenIp = new Map<string, string>();
  for (const [name, g] of Object.entries<any>(isObj(inv.groups) ? inv.groups : {})) {
    if (!isObj(g)) continue;
    refServer(["groups", name], g);
    const images = names("images");
    if (g.image !== undefined && g.boot !== undefined) report(["groups", name, "boot"], "a group has either `image` or `boot`, not both", "remove one of them");
    if (g.image === undefined && g.boot === undefined) report(["groups", name], "the group boots nothing", `add \`image:\`${images.length ? ` (one of: ${images.join(", ")})` : ""} or \`boot:\` (kernelUrl and initrdUrl, or localDisk: true)`);
    if (typeof g.image === "string" && !images.includes(g.image))
      report(["groups", name, "image"], `image \`${g.image}\` is not defined in \`images\``, images.length ? `one of: ${images.join(", ")}` : "add an `images:` entry");
    if (isObj(g.boot)) {
      if (g.boot.localDisk === true && (g.boot.kernelUrl !== undefined || g.boot.initrdUrl !== undefined)) report(["groups", name, "boot", "localDisk"], "localDisk boots the disk: kernelUrl and initrdUrl would be ignored", "remove either localDisk or the URLs");
      if (g.boot.localDisk !== true && (g.boot.kernelUrl === undefined || g.boot.initrdUrl === undefined)) report(["groups", name, "boot"], "a network boot needs both kernelUrl and initrdUrl", "add the missing URL, or `localDisk: true`");
    }
    (Array.isArray(g.nodes) ? g.nodes : []).forEach((n: any, i: number) => {
      if (!isObj(n)) return;
      const at = ["groups", name, "nodes", i];
      if (n.mac !== undefined && n.macs !== undefined) report([...at, "macs"], "give `mac` or `macs`, not both", "keep one of them");
      if (n.mac === undefined && n.macs === undefined) report(at, `node \`${n.name ?? i}\` has no MAC address`, "add `mac: aa:bb:cc:dd:ee:ff`");
      if (typeof n.name === "string") {
        const prev = seenName.get(n.name);
        if (prev) report([...at, "name"], `node name \`${n.name}\` is also used in ${prev}`, "node names are host names: make them unique");
        else seenName.set(n.name, `group ${name}`);
      }
      const macs: unknown[] = n.mac !== undefined ? [n.mac] : Array.isArray(n.macs) ? n.macs : [];
      macs.forEach((m, j) => {
        if (typeof m !== "string") return;
        const k = m.toLowerCase();
        const prev = seenMac.get(k);
        const segs = n.mac !== undefined ? [...at, "mac"] : [...at, "macs", j];
        if (prev) report(segs, `MAC ${m} is also used by ${prev}`, "a MAC address identifies one node");
        else seenMac.set(k, `node ${n.name} (group ${name})`);
      });
      if (typeof n.ip === "string") {
        const srv = serverOf(inv, g) ?? "";
        const prev = seenIp.get(`${srv}|${n.ip}`);
        if (prev) report([...at, "ip"], `address ${n.ip} is also used by ${prev}`, "give every node its own address");
        else seenIp.set(`${srv}|${n.ip}`, `node ${n.name} (group ${name})`);
      }
    });
  }
}
