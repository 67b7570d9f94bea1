import * as fs from "fs";
import * as path from "path";

/** The schema file, found upwards from this module (works from provider/ sources and from dist/provider/). */
export function schemaPath(): string {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
    const p = path.join(d, "schema", "schema.json");
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`netboot: schema/schema.json not found above ${__dirname}`);
}

export const PACKAGE_VERSION: string = JSON.parse(fs.readFileSync(schemaPath(), "utf8")).version;
