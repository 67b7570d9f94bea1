import * as provider from "@pulumi/pulumi/provider";
import { ForeignClaim, PathClaim } from "../model/ownership";

export type DetailedDiffKind = "add" | "add-replace" | "delete" | "delete-replace" | "update" | "update-replace";

export interface DiffResultWithDetail extends provider.DiffResult {
  /** Property path (`files["/etc/hosts"]`) -> kind. Sent to the engine by the server shim in `_server.ts`. */
  readonly detailedDiff?: Record<string, { kind: DetailedDiffKind; inputDiff?: boolean }>;
}

/** check/diff/create/read/update/delete of one custom resource token (eks `cmd/provider/<type>.ts`). */
export interface ResourceHandler {
  check(urn: string, olds: any, news: any): Promise<provider.CheckResult>;
  /** `oldInputs`: the inputs of the last apply or refresh (DiffRequest.old_inputs), beside the outputs `olds`. */
  diff(id: string, urn: string, olds: any, news: any, oldInputs?: any): Promise<DiffResultWithDetail>;
  create(urn: string, inputs: any): Promise<provider.CreateResult>;
  /** `inputs`: the inputs the engine holds for the resource (ReadRequest.inputs). */
  read(id: string, urn: string, props: any, inputs?: any): Promise<provider.ReadResult>;
  update(id: string, urn: string, olds: any, news: any): Promise<provider.UpdateResult>;
  delete(id: string, urn: string, props: any): Promise<void>;
  ownedPaths?: OwnedPaths;
  /**
   * The claims (from `ownedPaths`) that another stack's resource holds on the host, from the host's intent
   * journal (resources/journal.ts `journaled`). Asked at check, after this stack's own claims.
   */
  foreignOwners?: (urn: string, inputs: any, claims: PathClaim[]) => Promise<ForeignClaim[]>;
}

/** `netboot:index:FileSet "rack1-hosts"` from a URN, for error messages. */
export function describeUrn(urn: string): string {
  const parts = urn.split("::");
  const type = (parts[2] ?? "").split("$").pop() ?? "";
  return `${type} "${parts[3] ?? urn}"`;
}

/** `stack "prod" of project "cluster"` from a URN (`urn:pulumi:prod::cluster::...`), for error messages. */
export function describeStack(urn: string): string {
  const parts = urn.split("::");
  return `stack "${(parts[0] ?? "").split(":").pop()}" of project "${parts[1] ?? ""}"`;
}

/**
 * The host paths a resource writes, from its checked inputs (undefined while the host or a path is unknown).
 * The provider claims them in its PathOwners at check, so two resources never own one path.
 */
export type OwnedPaths = (inputs: any) => Array<{ host: string; path: string; field: string }> | undefined;
