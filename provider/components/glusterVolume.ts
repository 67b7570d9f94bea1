import * as pulumi from "@pulumi/pulumi";
import * as schema from "../schema-types";

/** netboot:index:GlusterVolume (work in progress). */
export class GlusterVolume extends schema.GlusterVolume {
  constructor(name: string, args: schema.GlusterVolumeArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(name, args, opts);
    throw new Error("netboot:index:GlusterVolume is not implemented yet");
  }
}
