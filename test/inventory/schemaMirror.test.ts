/**
 * schema/cluster.schema.json mirrors the components' inputs in schema/schema.json: every key of a server,
 * volume or image entry is an input of PxeServer, GlusterVolume or BootImage (or one of the inventory's own
 * references), so the mapping can pass them through. And the hand-written types match the JSON Schema.
 */
import * as fs from "fs";
import * as path from "path";
import { REPO } from "../helpers/env";

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
