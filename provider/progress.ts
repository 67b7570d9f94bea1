/**
 * Progress of long steps (building an initramfs, publishing an OS image), shown by the Pulumi CLI beside the
 * resource while it runs: ephemeral log messages sent to the engine with the resource's URN, the way the
 * engine's own providers report status. Nothing is kept in the update's diagnostics.
 *
 * The plugin gets the engine's address as its first argument; the provider context opens one sink at start.
 * Without an engine (unit tests, benchmarks) messages go nowhere, or to stderr with NETBOOT_PROGRESS=stderr.
 */
import * as rpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as proto from "@pulumi/pulumi/proto/engine_pb";
import { pulumiGrpc } from "./_grpc";

export interface ProgressSink {
  /**
   * Reports one step of a long operation on `urn` (`netboot: mounting the volume...`). `keep`: a result worth
   * reading after the run (which packages a rebuilt OS image changed): kept in the update's diagnostics.
   * `warning`: shown as a warning (a default the build left out), which `keep` should go with.
   */
  report(urn: string | undefined, message: string, opts?: { keep?: boolean; warning?: boolean }): void;
}

export class EngineProgress implements ProgressSink {
  private client: { log(req: proto.LogRequest, cb: (err: unknown) => void): void } | undefined;

  /** `engineAddress` undefined: no engine to tell (stderr only, when asked). */
  constructor(engineAddress: string | undefined, private readonly toStderr = process.env.NETBOOT_PROGRESS === "stderr") {
    if (!engineAddress) return;
    try {
      this.client = new rpc.EngineClient(engineAddress, pulumiGrpc().credentials.createInsecure() as ConstructorParameters<typeof rpc.EngineClient>[1]);
    } catch {
      this.client = undefined; // progress is a courtesy: never fail the provider over it
    }
  }

  report(urn: string | undefined, message: string, opts: { keep?: boolean; warning?: boolean } = {}): void {
    if (this.toStderr) process.stderr.write(`${message}\n`);
    if (!this.client || !urn) return;
    try {
      const req = new proto.LogRequest();
      req.setSeverity(opts.warning ? proto.LogSeverity.WARNING : proto.LogSeverity.INFO);
      req.setMessage(message);
      req.setUrn(urn);
      req.setEphemeral(!opts.keep);
      this.client.log(req, () => undefined);
    } catch {
      // see the constructor
    }
  }
}
