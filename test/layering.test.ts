/**
 * Layers import in one direction: schema -> model -> render -> resources -> transport, with the transport at
 * the bottom knowing nothing of the layers above it (no resources, no model, no secrets), util/ (small helpers
 * that import nothing of ours) below everything, and model/ never reaching for a renderer. A new upward import fails here with the file and the import.
 */
import * as fs from "fs";
import * as path from "path";
import { REPO } from "./helpers/env";

const PROVIDER = path.join(REPO, "provider");

/** folder -> the provider folders and top-level modules it may import (besides itself and packages) */
const ALLOWED: Record<string, string[]> = {
  util: [],
  transport: ["util"],
  drift: ["util"],
  model: ["drift", "schema-types", "schema-enums", "values", "util"],
  render: ["model", "drift", "schema-types", "schema-enums", "values", "util"],
  // the status view: pure readers over model facts, and the transport to reach the servers (no resources)
  status: ["model", "transport", "util"],
};

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from|require\()\s*"(\.[^"]+)"/g)].map((m) => m[1]);
}

test("each layer imports only from the layers below it", () => {
  const bad: string[] = [];
  for (const [layer, allowed] of Object.entries(ALLOWED)) {
    const dir = path.join(PROVIDER, layer);
    for (const name of fs.readdirSync(dir).filter((n) => n.endsWith(".ts"))) {
      const file = path.join(dir, name);
      for (const spec of importsOf(file)) {
        const target = path.relative(PROVIDER, path.resolve(dir, spec)).split(path.sep)[0];
        if (target !== layer && !allowed.includes(target)) bad.push(`provider/${layer}/${name} imports ${spec}`);
      }
    }
  }
  expect(bad).toEqual([]);
});
