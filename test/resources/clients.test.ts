/**
 * What the provider registers itself (a component's children) names the same default provider as the SDKs'
 * resources: version and pluginDownloadURL from the schema. With another download URL the engine starts a second
 * netboot provider, and a component's validation errors were lost between the two.
 */
import * as fs from "fs";
import { childOpts } from "../../provider/resources/clients";
import { PACKAGE_VERSION, PLUGIN_DOWNLOAD_URL, schemaPath } from "../../provider/version";

test("childOpts: the schema's version and pluginDownloadURL, and the caller's options over them", () => {
  const schema = JSON.parse(fs.readFileSync(schemaPath(), "utf8"));
  expect(PLUGIN_DOWNLOAD_URL).toBe(schema.pluginDownloadURL);
  expect(childOpts({})).toEqual({ version: schema.version, pluginDownloadURL: schema.pluginDownloadURL });
  expect(childOpts({ version: "9.9.9" }).version).toBe("9.9.9");
  expect(PACKAGE_VERSION).toBe(schema.version);
});
