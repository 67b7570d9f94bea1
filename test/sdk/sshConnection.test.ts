/**
 * Type-level test (checked by `tsc --noEmit -p test/tsconfig.json`; the jest test only keeps the file in the
 * unit project): a @pulumi/command `remote.ConnectionArgs` can be handed to netboot as `host.ssh` as it is, the
 * bastion included, because netboot's SshConnection uses the same field names and types
 * (host, port, user, privateKey, password, privateKeyPassword, agentSocketPath, dialErrorLimit, perDialTimeout,
 * proxy, hostKey) and adds only optional fields of its own (`sudo`).
 *
 * The differences are in what check accepts, not in the types: hostKey must be given (here or in the provider
 * config; netboot never connects unpinned), and password / privateKeyPassword are refused with a clear error
 * (use a key or an ssh-agent). Both ways: netboot's args are not all assignable back (`sudo` is not a
 * @pulumi/command field, and excess-property checks would refuse it in a literal).
 */
import * as command from "@pulumi/command";
import * as netboot from "../../sdk/nodejs/types/input";

type CommandConnection = command.types.input.remote.ConnectionArgs;
type CommandProxy = command.types.input.remote.ProxyConnectionArgs;

/** The whole connection, as @pulumi/command takes it. */
export const fromCommand = (c: CommandConnection): netboot.SshConnectionArgs => c;
/** The bastion alone. */
export const proxyFromCommand = (p: CommandProxy): netboot.SshProxyConnectionArgs => p;
/** As a host of any netboot resource. */
export const asHost = (c: CommandConnection): netboot.HostArgs => ({ ssh: c, systemd: true });

/** Every field name of @pulumi/command's connection is one of netboot's (a removed or renamed field fails here). */
type Missing<A, B> = Exclude<keyof A, keyof B>;
export const noMissingFields: [Missing<CommandConnection, netboot.SshConnectionArgs>, Missing<CommandProxy, netboot.SshProxyConnectionArgs>] extends [never, never] ? true : false = true;

test("a @pulumi/command connection is a netboot SshConnection (compile-time; see the header)", () => {
  const c: CommandConnection = { host: "10.0.0.5", user: "admin", hostKey: "ssh-ed25519 AAAA", proxy: { host: "bastion", hostKey: "ssh-ed25519 BBBB" } };
  expect(fromCommand(c)).toBe(c);
  expect(noMissingFields).toBe(true);
});
