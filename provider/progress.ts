/**
 * Progress of long steps (building an initramfs, publishing an OS image), shown by the Pulumi CLI beside the
 * resource while it runs: ephemeral log messages sent to the engine with the resource's URN, the way the
 * engine's own providers report status. Nothing is kept in the update's diagnostics.
 *
 * The plugin gets the engine's address as its first argument; `connectProgress` is called once at start.
 * Without an engine (unit tests, benchmarks) messages go nowhere, or to stderr with NETBOOT_PROGRESS=stderr.
 */
import * as path from "path";

let client: { log(req: unknown, cb: (err: unknown) => void): void } | undefined;
let proto: any;

export function connectProgress(args: string[]): void {
  const addr = args.find((a) => !a.startsWith("-"));
  if (!addr) return;
  try {
    // the gRPC library and generated stubs @pulumi/pulumi itself uses (resolved from it, not hoisting)
    const from = { paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))] };
    const grpc = require(require.resolve("@grpc/grpc-js", from));
    const rpc = require("@pulumi/pulumi/proto/engine_grpc_pb");
    proto = require("@pulumi/pulumi/proto/engine_pb");
    client = new rpc.EngineClient(addr, grpc.credentials.createInsecure());
  } catch {
    client = undefined; // progress is a courtesy: never fail the provider over it
  }
}

/** Reports one step of a long operation on `urn` (`netboot: mounting the volume...`). */
export function progress(urn: string | undefined, message: string): void {
  if (process.env.NETBOOT_PROGRESS === "stderr") process.stderr.write(`${message}\n`);
  if (!client || !proto || !urn) return;
  try {
    const req = new proto.LogRequest();
    req.setSeverity(proto.LogSeverity.INFO);
    req.setMessage(message);
    req.setUrn(urn);
    req.setEphemeral(true);
    client.log(req, () => undefined);
  } catch {
    // see connectProgress
  }
}
