import * as pulumi from "@pulumi/pulumi";
import * as schema from "../schema-types";

/** netboot:index:BootImage (work in progress). */
export class BootImage extends schema.BootImage {
  constructor(name: string, args: schema.BootImageArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(name, args, opts);
    throw new Error("netboot:index:BootImage is not implemented yet");
  }
}
