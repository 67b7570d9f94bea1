/**
 * NetbootProvider.configure: the provider config `netboot:hosts` / `netboot:ssh` is checked once (every issue,
 * named by its config key, no secret echoed), kept on the context, and merged under each resource's host in check.
 */
import * as fs from "fs";
import { NetbootProvider } from "../provider/provider";
import { schemaPath } from "../provider/version";
import { secret } from "../provider/values";
import { testContext } from "./helpers/context";

const PIN = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake";
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";

function provider() {
  const { ctx } = testContext();
  return { ctx, p: new NetbootProvider(ctx, "0.1.0", fs.readFileSync(schemaPath(), "utf8")) };
}

test("a good config is kept; the engine's own keys are not config", async () => {
  const { ctx, p } = provider();
  await p.configure({ version: "0.1.0", __internal: {}, pluginDownloadURL: "x", ssh: { user: "admin", privateKey: secret(KEY) }, hosts: { head: { host: "10.0.0.5", hostKey: PIN } } });
  expect(Object.keys(ctx.sshConfig).sort()).toEqual(["hosts", "ssh"]);
});

test("bad values and unknown keys: every issue at once, naming the key, never the secret", async () => {
  const { ctx, p } = provider();
  const err = String(await p.configure({ host: { head: {} }, ssh: { password: secret("hunter2"), sudo: "yes" }, hosts: { head: { host: "10.0.0.5" } } }).catch((e) => e));
  expect(err).toMatch(/netboot:host.*is not a netboot config key \(netboot:hosts, netboot:ssh\)/);
  expect(err).toMatch(/netboot:ssh\.password.*password authentication is not supported/);
  expect(err).toMatch(/netboot:ssh\.sudo.*must be true or false/);
  expect(err).toMatch(/netboot:hosts\.head\.hostKey.*must be the host's public key line/);
  expect(err).not.toContain("hunter2");
  expect((ctx as any).sshConfig ?? {}).toEqual({});
});
