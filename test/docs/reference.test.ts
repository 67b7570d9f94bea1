/** docs/reference.md is generated from the schema descriptions and must be current. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO } from "../helpers/env";

test("docs/reference.md is generated from the current schemas (node scripts/gen-docs.js)", () => {
  const r = spawnSync("node", [path.join(REPO, "scripts/gen-docs.js"), "--check"], { encoding: "utf8" });
  expect(r.stderr + (r.status === 0 ? "current" : "")).toBe("current");
});

test("it documents every resource, type and inventory section of the schemas", () => {
  const doc = fs.readFileSync(path.join(REPO, "docs/reference.md"), "utf8");
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "schema/schema.json"), "utf8"));
  const inv = JSON.parse(fs.readFileSync(path.join(REPO, "schema/cluster.schema.json"), "utf8"));
  const missing = [
    ...Object.keys(pkg.resources).filter((t) => !doc.includes("`" + t + "`")),
    ...Object.keys(pkg.types).map((t) => `### ${t.split(":")[2]}`).filter((h) => !doc.includes(h + "\n")),
    ...Object.keys(inv.definitions).map((d) => `### inventory ${d}`).filter((h) => !doc.includes(h + "\n")),
  ];
  expect(missing).toEqual([]);
});

test("the --check mode fails on a stale file", () => {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), "netboot-docs-"));
  fs.mkdirSync(path.join(copy, "scripts"));
  fs.mkdirSync(path.join(copy, "schema"));
  fs.mkdirSync(path.join(copy, "docs"));
  for (const f of ["gen-docs.js", "_checkFlag.js"]) fs.copyFileSync(path.join(REPO, "scripts", f), path.join(copy, "scripts", f));
  for (const f of ["schema.json", "cluster.schema.json"]) fs.copyFileSync(path.join(REPO, "schema", f), path.join(copy, "schema", f));
  fs.writeFileSync(path.join(copy, "docs/reference.md"), fs.readFileSync(path.join(REPO, "docs/reference.md"), "utf8").replace("Where the server runs.", "Where it runs."));
  const r = spawnSync("node", [path.join(copy, "scripts/gen-docs.js"), "--check"], { encoding: "utf8" });
  expect([r.status, r.stderr.trim()]).toEqual([1, "docs/reference.md is stale: run 'node scripts/gen-docs.js' and commit the result."]);
  fs.rmSync(copy, { recursive: true, force: true });
});
