/**
 * schema/cluster.schema.json is generated from schema/schema.json (scripts/gen-inventory-schema.js) and must be
 * current; every key of a server, volume or image entry is an input of PxeServer, GlusterVolume or BootImage (or
 * one of the inventory's own references), so the mapping can pass them through; every closed set is one of the
 * schema's enums. And the hand-written types match the JSON Schema.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO } from "../helpers/env";

const gen = (repo: string) => spawnSync("node", [path.join(repo, "scripts/gen-inventory-schema.js"), "--check"], { encoding: "utf8" });

test("schema/cluster.schema.json is generated from the current schema/schema.json", () => {
  const r = gen(REPO);
  expect(r.stderr + (r.status === 0 ? "current" : "")).toBe("current");
});

test("the staleness check can fail: a value added to a schema enum makes the committed inventory schema stale", () => {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), "netboot-inv-schema-"));
  try {
    for (const d of ["scripts", "schema"]) fs.mkdirSync(path.join(copy, d));
    fs.copyFileSync(path.join(REPO, "scripts/gen-inventory-schema.js"), path.join(copy, "scripts/gen-inventory-schema.js"));
    fs.copyFileSync(path.join(REPO, "schema/cluster.schema.json"), path.join(copy, "schema/cluster.schema.json"));
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "schema/schema.json"), "utf8"));
    pkg.types["netboot:index:Compression"].enum.push({ name: "Lz4", value: "lz4" });
    fs.writeFileSync(path.join(copy, "schema/schema.json"), JSON.stringify(pkg));
    const r = gen(copy);
    expect([r.status, r.stderr.trim()]).toEqual([1, "schema/cluster.schema.json is stale: run `npm run gen` and commit the result."]);
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
});

const inv = JSON.parse(fs.readFileSync(path.join(REPO, "schema/cluster.schema.json"), "utf8"));
const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "schema/schema.json"), "utf8"));
const inputs = (t: string) => Object.keys(pkg.resources[`netboot:index:${t}`].inputProperties);

test.each([
  ["server", "PxeServer", []],
  ["volume", "GlusterVolume", []],
  ["image", "BootImage", ["volume"]],
])("inventory %s keys are %s inputs", (def, tok, own) => {
  const keys = Object.keys(inv.definitions[def as string].properties).filter((k) => !(own as string[]).includes(k));
  expect(keys.filter((k) => !inputs(tok as string).includes(k))).toEqual([]);
});

test("group nodes carry the Node type's fields (mac is the inventory's shorthand for macs)", () => {
  const node = Object.keys(inv.definitions.group.properties.nodes.items.properties).filter((k) => k !== "mac");
  expect(node.sort()).toEqual(Object.keys(pkg.types["netboot:index:Node"].properties).sort());
});

test("every key of the JSON Schema appears in provider/inventory/types.ts", () => {
  const ts = fs.readFileSync(path.join(REPO, "provider/inventory/types.ts"), "utf8");
  const keys = new Set<string>();
  const walk = (s: any) => {
    if (!s || typeof s !== "object") return;
    for (const k of Object.keys(s.properties ?? {})) keys.add(k);
    for (const v of Object.values(s)) walk(v);
  };
  walk(inv);
  expect([...keys].filter((k) => !new RegExp(`\\b${k}\\??:`).test(ts))).toEqual([]);
});

test("every closed set of the inventory is a schema enum, with the same values in the same order", () => {
  const enums = Object.values(pkg.types as Record<string, any>).filter((t) => Array.isArray(t.enum)).map((t) => JSON.stringify(t.enum.map((e: any) => e.value)));
  const found: string[] = [];
  const walk = (s: any, at: string) => {
    if (!s || typeof s !== "object") return;
    if (Array.isArray(s.enum)) found.push(`${at} ${JSON.stringify(s.enum)}`);
    for (const [k, v] of Object.entries(s)) if (k !== "enum") walk(v, `${at}/${k}`);
  };
  walk(inv, "");
  expect(found.length).toBeGreaterThanOrEqual(8); // dhcpMode, mode, layout, transport, mode, handoff, compression, onFailure, firmware
  expect(found.filter((f) => !enums.includes(f.slice(f.indexOf(" ") + 1)))).toEqual([]);
});
