/**
 * schema/schema.json is the single source of truth: it validates against Pulumi's package metaschema (the copy
 * in the engine's own Go module, v3.248.0), and the generated provider types and Node.js SDK are current.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import Ajv2020 from "ajv/dist/2020";
import { REPO, toolchainBin } from "../helpers/env";

jest.setTimeout(180_000);

function metaschemaPath(): string {
  toolchainBin(); // makes sure the engine's module (which carries the metaschema) is in the Go module cache
  const dir = execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).trim();
  const p = path.join(dir, "github.com/pulumi/pulumi/pkg/v3@v3.248.0/codegen/schema/pulumi.json");
  if (!fs.existsSync(p)) throw new Error(`Pulumi's metaschema is missing at ${p}: run 'bash scripts/toolchain.sh' (it downloads github.com/pulumi/pulumi/pkg/v3@v3.248.0)`);
  return p;
}

describe("schema/schema.json", () => {
  const schema = JSON.parse(fs.readFileSync(path.join(REPO, "schema/schema.json"), "utf8"));

  test("validates against Pulumi's package metaschema", () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile(JSON.parse(fs.readFileSync(metaschemaPath(), "utf8")));
    const ok = validate(schema);
    expect(ajv.errorsText(validate.errors, { separator: "\n" })).toBe("No errors");
    expect(ok).toBe(true);
  });

  test("the metaschema check can fail: a resource with a misspelled field is rejected", () => {
    const ajv = new Ajv2020({ strict: false });
    const validate = ajv.compile(JSON.parse(fs.readFileSync(metaschemaPath(), "utf8")));
    const broken = JSON.parse(JSON.stringify(schema));
    broken.resources["netboot:index:File"].inputProperties.path.type = "strng";
    expect(validate(broken)).toBe(false);
  });

  test("has the four component tokens and the file resources", () => {
    for (const t of ["PxeServer", "GlusterVolume", "BootImage", "NodeGroup"]) expect(schema.resources[`netboot:index:${t}`].isComponent).toBe(true);
    for (const t of ["File", "FileSet"]) expect(schema.resources[`netboot:index:${t}`].isComponent).toBeUndefined();
  });

  test("provider/schema-types.ts is generated from the current schema", () => {
    const r = spawnSync("node", [path.join(REPO, "scripts/gen-types.js"), "--check"], { encoding: "utf8" });
    expect(r.stderr + (r.status === 0 ? "current" : "")).toBe("current");
  });

  test("sdk/nodejs is generated from the current schema by `pulumi package gen-sdk`", () => {
    const r = spawnSync("bash", [path.join(REPO, "scripts/gen-sdk.sh"), "--check"], { encoding: "utf8" });
    expect(r.stderr.trim().split("\n").pop()).toBe("sdk/nodejs is up to date");
    expect(r.status).toBe(0);
  });
});
