import * as pulumi from "@pulumi/pulumi";
import { childOpts } from "../resources/clients";
import * as schema from "../schema-types";
import { buildBootImageModel } from "../model/bootImage";
import { validated } from "./_validate";

/** Client side of netboot:index:Initramfs (build + publish), registered by BootImage. */
class Initramfs extends pulumi.CustomResource {
  declare readonly kernelUrl: pulumi.Output<string>;
  declare readonly initrdUrl: pulumi.Output<string>;
  declare readonly imageUrl: pulumi.Output<string | undefined>;
  declare readonly args: pulumi.Output<string>;
  declare readonly initrdSha256: pulumi.Output<string>;
  declare readonly initrdSize: pulumi.Output<number>;
  declare readonly manifest: pulumi.Output<string>;
  constructor(name: string, args: { host: pulumi.Input<schema.Host>; httpRoot: pulumi.Input<string>; httpBaseUrl: pulumi.Input<string>; name: string; spec: pulumi.Input<Record<string, any>> }, opts: pulumi.CustomResourceOptions) {
    super("netboot:index:Initramfs", name, {
      ...args, kernelUrl: undefined, initrdUrl: undefined, imageUrl: undefined, args: undefined, initrdSha256: undefined, initrdSize: undefined,
      manifest: undefined, kernelVersion: undefined, kernelSha256: undefined, initrdDigest: undefined, imageDigest: undefined, files: undefined, published: undefined, lastBuild: undefined,
    }, childOpts(opts));
  }
}

/**
 * netboot:index:BootImage: wiring only. Validates the arguments (all errors at once, nothing written), then
 * one Initramfs child builds on the build host and publishes kernel, initramfs and image to the PxeServer.
 */
export class BootImage extends schema.BootImage {
  constructor(name: string, args: schema.BootImageArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(name, args, opts);
    const model = validated(`netboot:index:BootImage "${name}"`, args, (a, issues) => buildBootImageModel(name, a, issues));
    const server = pulumi.output(args.server);
    const { server: _s, ...spec } = args;
    const built = new Initramfs(`${name}-initramfs`, {
      host: server.host as pulumi.Output<schema.Host>,
      httpRoot: server.httpRoot,
      httpBaseUrl: server.httpBaseUrl,
      name,
      // the model is awaited first so invalid arguments stop here, before the child exists
      spec: pulumi.all([model, pulumi.output(spec)]).apply(([, s]) => JSON.parse(JSON.stringify(s))),
    }, { parent: this });

    this.kernelUrl = built.kernelUrl;
    this.initrdUrl = built.initrdUrl;
    this.imageUrl = built.imageUrl;
    this.args = built.args;
    this.initrdSha256 = built.initrdSha256;
    this.initrdSize = built.initrdSize;
    this.manifest = built.manifest;
    this.boot = pulumi.all([built.kernelUrl, built.initrdUrl, built.args]).apply(([kernelUrl, initrdUrl, a]) => ({ kernelUrl, initrdUrl, args: a }));
    this.registerOutputs({
      kernelUrl: this.kernelUrl, initrdUrl: this.initrdUrl, imageUrl: this.imageUrl, args: this.args,
      initrdSha256: this.initrdSha256, initrdSize: this.initrdSize, manifest: this.manifest, boot: this.boot,
    });
  }
}
