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

const schema = JSON.parse(fs.readFileSync(schemaPath(), "utf8"));

export const PACKAGE_VERSION: string = schema.version;

/**
 * The schema's pluginDownloadURL, which the SDKs register every resource with. The engine keys its default
 * providers by package, version and download URL, so what the provider registers itself (a component's
 * children, the refusal of an invalid program) must name the same URL: without it the engine starts a second
 * netboot provider for those, and a component's validation errors were lost between the two ("grpc: the client
 * connection is closing"). The plugin archive carries its own schema, so a mirror's URL matches too.
 */
export const PLUGIN_DOWNLOAD_URL: string | undefined = schema.pluginDownloadURL || undefined;
