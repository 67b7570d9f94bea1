/**
 * The gRPC library @pulumi/pulumi itself uses, resolved from @pulumi/pulumi's own folder (netboot does not
 * declare @grpc/grpc-js, and npm may not hoist it): the server shim must patch the very `Server` class the
 * provider server is built on, and the engine client must use the same library as the rest of the SDK.
 */
import * as path from "path";

/** The two members netboot uses, typed here so nothing compiles against an undeclared package. */
export interface Grpc {
  Server: { prototype: { addService(service: unknown, impl: unknown): void } };
  credentials: { createInsecure(): unknown };
}

/**
 * A package @pulumi/pulumi depends on, resolved from its folder (the same copy the SDK uses); `T` names the
 * members the caller uses.
 */
export function fromPulumi<T>(pkg: string): T {
  const from = { paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))] };
  // A path found at run time, from @pulumi/pulumi's folder: no static import can name it (the package is not
  // ours, and npm may have put it below @pulumi/pulumi instead of hoisting it).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve(pkg, from)) as T;
}

export function pulumiGrpc(): Grpc {
  return fromPulumi<Grpc>("@grpc/grpc-js");
}
