import * as pulumi from "@pulumi/pulumi";
import { ProviderContext } from "../context";
import { Issues, ValidationError } from "../model/errors";

/**
 * Runs a model builder on resolved args and turns validation errors into a clean engine error
 * (pulumi.RunError: no stack trace, every issue listed). Nothing has been written when this throws, because
 * every child resource's inputs depend on the model.
 */
export function validated<A, M extends object>(ctx: ProviderContext, resource: string, args: pulumi.Input<A>, build: (a: pulumi.Unwrap<A>, issues: Issues) => M | undefined | Promise<M | undefined>): pulumi.Output<M> {
  return pulumi.output(args).apply(async (a): Promise<M> => {
    const issues = new Issues(resource);
    const t0 = Date.now();
    const m = await build(a as pulumi.Unwrap<A>, issues);
    ctx.trace(`validate ${resource} ${Date.now() - t0} ms`);
    if (!issues.ok || m === undefined) {
      const e = new ValidationError(issues.list.length ? issues.list : [{ resource, field: "(args)", value: undefined, message: "invalid" }]);
      throw new pulumi.RunError(e.message);
    }
    return m;
  });
}
