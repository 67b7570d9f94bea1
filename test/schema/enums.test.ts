/**
 * Closed sets have one source: the enums of schema/schema.json. The generated `X_VALUES` lists carry them into
 * the provider, the inventory schema takes them from there, and no hand-written file spells a set out again.
 */
import { MemoryTransport } from "../../provider/transport";
import * as fs from "fs";
import * as path from "path";
import { checkFileSet } from "../../provider/resources/fileSet";
import * as enums from "../../provider/schema-enums";
import { REPO } from "../helpers/env";

const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "schema/schema.json"), "utf8"));
const schemaEnums = Object.entries(pkg.types as Record<string, any>).filter(([, t]) => Array.isArray(t.enum));
const valuesName = (n: string) => n.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase() + "_VALUES";

test("every schema enum is generated as a value list, in schema order", () => {
  expect(schemaEnums.length).toBeGreaterThanOrEqual(11);
  const got = Object.fromEntries(schemaEnums.map(([tok]) => [tok, (enums as Record<string, unknown>)[valuesName(tok.split(":")[2])]]));
  expect(got).toEqual(Object.fromEntries(schemaEnums.map(([tok, t]) => [tok, t.enum.map((e: any) => e.value)])));
});

test("every enum value has a description (the SDKs and docs/reference.md show it)", () => {
  const bare = schemaEnums.flatMap(([tok, t]) => t.enum.filter((e: any) => !e.description).map((e: any) => `${tok} ${e.value}`));
  expect(bare).toEqual([]);
});

test("no string property of the schema lists its allowed values in prose instead of being an enum", () => {
  // "`a`, `b` or `c`" in a description is how the closed sets used to be written down
  const prose: string[] = [];
  const walk = (o: any, at: string) => {
    if (!o || typeof o !== "object") return;
    if (o.type === "string" && typeof o.description === "string" && /^`[^`]+`(,? `[^`]+`)* or `[^`]+`/.test(o.description)) prose.push(at);
    for (const [k, v] of Object.entries(o)) walk(v, `${at}/${k}`);
  };
  walk(pkg.resources, "resources");
  walk(pkg.types, "types");
  expect(prose).toEqual([]);
});

function handWritten(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return handWritten(p);
    return e.name.endsWith(".ts") && !["schema-types.ts", "schema-enums.ts"].includes(e.name) ? [p] : [];
  });
}

test("no hand-written provider file spells out an enum as a union or a list of its values", () => {
  const copies: string[] = [];
  for (const f of handWritten(path.join(REPO, "provider"))) {
    const text = fs.readFileSync(f, "utf8");
    for (const [tok, t] of schemaEnums) {
      const v = t.enum.map((e: any) => JSON.stringify(e.value));
      // the whole set, as a union or a list (a named subset, such as the HTTP boot firmwares, is no copy)
      if (text.includes(v.join(" | ")) || text.includes(v.join(", "))) copies.push(`${path.relative(REPO, f)}: ${tok.split(":")[2]}`);
    }
  }
  expect([...new Set(copies)]).toEqual([]);
});

test("a FileSet's signal is checked against the SignalOn and SignalName enums, both errors at once", async () => {
  const { issues } = await checkFileSet("fs", { host: { root: "/tmp/x" }, files: {}, signal: { pidFile: "/run/d.pid", on: "always", signal: "SIGHUP" } }, new MemoryTransport());
  expect(issues.list.map((i: any) => `${i.field}: ${i.message}`)).toEqual([
    "signal.on: must be one of `removal`, `change`",
    "signal.signal: must be one of `HUP`, `USR1`, `USR2`, `WINCH`, `QUIT`, `TERM`, `INT`",
  ]);
  const ok = await checkFileSet("fs", { host: { root: "/tmp/x" }, files: {}, signal: { pidFile: "/run/d.pid", on: "change", signal: "USR1" } }, new MemoryTransport());
  expect(ok.issues.list).toEqual([]);
});
