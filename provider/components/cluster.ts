import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ProviderContext } from "../context";
import * as schema from "../schema-types";
import { InventoryError, parseInventory } from "../inventory/parse";
import { ClusterPlan, planCluster, PlannedHost, resolveUrl } from "../inventory/plan";
import { PxeServer } from "./pxeServer";
import { GlusterVolume } from "./glusterVolume";
import { BootImage } from "./bootImage";
import { NodeGroup } from "./nodeGroup";
import { Issues } from "../model/errors";

/**
 * netboot:index:Cluster: wiring only. The inventory is read and checked (schema/cluster.schema.json plus its
 * cross-references) before any child exists, so a broken inventory fails with every error at once and writes
 * nothing. Children carry the inventory's names, so the files on the host are named as the admin named them.
 */
export class Cluster extends schema.Cluster {
  constructor(ctx: ProviderContext, name: string, args: schema.ClusterArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(name, args, opts);
    const plan = readPlan(ctx, name, args);

    const servers: Record<string, PxeServer> = {};
    for (const s of plan.servers) servers[s.name] = new PxeServer(ctx, s.name, { ...s.args, host: hostArgs(s.host) } as schema.PxeServerArgs, { parent: this });

    const volumes: Record<string, GlusterVolume> = {};
    for (const v of plan.volumes) volumes[v.name] = new GlusterVolume(ctx, v.name, { ...v.args, host: hostArgs(v.host) } as schema.GlusterVolumeArgs, { parent: this });

    const images: Record<string, BootImage> = {};
    for (const i of plan.images) {
      images[i.name] = new BootImage(ctx, i.name, {
        ...i.args,
        server: servers[i.server].info,
        ...(i.volume ? { glusterVolfile: volumes[i.volume].clientVolfile } : {}),
      } as unknown as schema.BootImageArgs, { parent: this, dependsOn: i.volume ? [volumes[i.volume]] : [] });
    }

    const groups = plan.groups.map((g) => {
      const server = servers[g.server];
      const boot: pulumi.Input<schema.BootTargetInputs> = g.image
        ? images[g.image].boot
        : server.httpBaseUrl.apply((base) => ({
            ...g.boot,
            ...(g.boot?.kernelUrl ? { kernelUrl: resolveUrl(base, g.boot.kernelUrl) } : {}),
            ...(g.boot?.initrdUrl ? { initrdUrl: resolveUrl(base, g.boot.initrdUrl) } : {}),
          }));
      return new NodeGroup(ctx, g.name, { server: server.info, nodes: g.nodes, boot, ...(g.overlay ? { overlay: g.overlay } : {}) }, { parent: this });
    });

    this.nodeTable = pulumi.all(groups.map((g) => g.nodeTable)).apply((t) => t.flat());
    this.servers = pulumi.all(Object.fromEntries(Object.entries(servers).map(([k, s]) => [k, s.info]))) as pulumi.Output<Record<string, schema.PxeServerInfo>>;
    this.bootTargets = pulumi.all(Object.fromEntries(Object.entries(images).map(([k, i]) => [k, i.boot]))) as pulumi.Output<Record<string, schema.BootTarget>>;
    this.volumes = pulumi.all(Object.fromEntries(Object.entries(volumes).map(([k, v]) => [k, v.mountSource]))) as pulumi.Output<Record<string, string>>;
    this.registerOutputs({ nodeTable: this.nodeTable, servers: this.servers, bootTargets: this.bootTargets, volumes: this.volumes });
  }
}

/** The inventory's checks (schema and cross-references), run before construct: every error as an issue. */
export function checkCluster(ctx: ProviderContext, name: string, args: schema.ClusterArgs, issues: Issues): ClusterPlan | undefined {
  try {
    return readPlan(ctx, name, args);
  } catch (e) {
    if (!(e instanceof pulumi.RunError)) throw e;
    // readPlan's message is `<resource>: N inventory errors...:` and one `  file:line:col: ...` line per issue
    const text = e.message.replace(`netboot:index:Cluster "${name}": `, "");
    const lines = text.split("\n");
    for (const line of lines.length > 1 ? lines.slice(1) : lines) issues.add("inventory", undefined, line.trim());
    return undefined;
  }
}

/**
 * The number and names of the children follow from the inventory, so it must be known when the component is
 * constructed (a plain string, not another resource's output): children created inside an apply would be
 * invisible to previews.
 */
function readPlan(ctx: ProviderContext, name: string, args: schema.ClusterArgs): ClusterPlan {
  const resource = `netboot:index:Cluster "${name}"`;
  const { inventory, inventoryPath } = args as { inventory?: unknown; inventoryPath?: unknown };
  const plainOrMissing = (v: unknown) => v === undefined || typeof v === "string";
  if (!plainOrMissing(inventory) || !plainOrMissing(inventoryPath))
    throw new pulumi.RunError(`${resource}: inventory and inventoryPath must be plain strings known before deployment (read the file in the program, or pass its path), not outputs of other resources`);
  if ((inventory === undefined) === (inventoryPath === undefined))
    throw new pulumi.RunError(`${resource}: give exactly one of inventory (YAML text) or inventoryPath (a file)`);
  let text: string;
  let file: string;
  let baseDir: string;
  if (typeof inventoryPath === "string") {
    file = path.resolve(inventoryPath);
    baseDir = path.dirname(file);
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new pulumi.RunError(`${resource}: inventoryPath = ${JSON.stringify(inventoryPath)}: cannot read ${file}: ${(e as Error).message}`);
    }
  } else {
    text = inventory as string;
    file = `<${name}.inventory>`;
    baseDir = process.cwd();
  }
  const r = parseInventory(text, file, ctx.inventorySchema);
  if (!r.ok) throw new pulumi.RunError(`${resource}: ${new InventoryError(r.issues).message}`);
  return planCluster(r.inventory, baseDir);
}

/** The SSH key is read from the machine running the deployment and kept secret; it never sits in the inventory. */
function hostArgs(h: PlannedHost): pulumi.Input<schema.HostInputs> {
  if (!h.ssh) return { ...h } as schema.HostInputs;
  const { privateKeyFile, ...ssh } = h.ssh;
  return { ...h, ssh: { ...ssh, privateKey: pulumi.secret(fs.readFileSync(privateKeyFile, "utf8")) } };
}
