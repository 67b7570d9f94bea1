/**
 * Boot-storm benchmark (issue 15): N simulated nodes boot at once; the OS image comes from one NFS master, one
 * nginx, or GlusterFS volumes of several layouts, each storage server behind a link shaped to the same
 * bandwidth. One run, side by side; ratios to the one-NFS-master baseline. Usage: bench/storm/README.md.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Issues } from "../../provider/model/errors";
import { buildBootImageModel } from "../../provider/model/bootImage";
import { planInitramfs } from "../../provider/build/plan";
import { buildInitrd } from "../../provider/build/initramfs";
import { numberFlag, parseCli } from "../../scripts/_cli";
import { percentile, requireTools, StormLab, StormResult, Variant } from "./storm";

export const VARIANTS: Variant[] = [
  { name: "nfs-master", transport: "nfs", servers: 1, fsal: "VFS" },
  { name: "http", transport: "http", servers: 1 },
  // the Perceus notes' alternative: NFS served over GlusterFS (NFS-Ganesha FSAL_GLUSTER on each of three servers of
  // a replica 3 volume, nodes spread over the three round robin; gfapi reads the server's own brick)
  { name: "nfs-gluster-r3", transport: "nfs", servers: 3, fsal: "GLUSTER", gluster: { layout: "replicate", replica: 3 } },
  // netboot's default: the init's read spread (each node its replica of every set, disperse reads round-robin)
  { name: "gluster-r3", transport: "glusterfs", servers: 3, gluster: { layout: "replicate", replica: 3 } },
  { name: "gluster-2x3", transport: "glusterfs", servers: 6, gluster: { layout: "replicate", replica: 3 } },
  { name: "gluster-ec42", transport: "glusterfs", servers: 6, gluster: { layout: "disperse", disperse: 6, redundancy: 2 } },
  // glusterd's defaults (read-hash-mode 1, disperse read-policy gfid-hash), and read policies a volume can set itself
  { name: "gluster-r3-glusterd", transport: "glusterfs", servers: 3, gluster: { layout: "replicate", replica: 3 }, glusterdReads: true },
  { name: "gluster-r3-rh2", transport: "glusterfs", servers: 3, gluster: { layout: "replicate", replica: 3, options: { "cluster.read-hash-mode": "2" } } },
  { name: "gluster-r3-rh3", transport: "glusterfs", servers: 3, gluster: { layout: "replicate", replica: 3, options: { "cluster.read-hash-mode": "3" } } },
  { name: "gluster-2x3-glusterd", transport: "glusterfs", servers: 6, gluster: { layout: "replicate", replica: 3 }, glusterdReads: true },
  { name: "gluster-ec42-glusterd", transport: "glusterfs", servers: 6, gluster: { layout: "disperse", disperse: 6, redundancy: 2 }, glusterdReads: true },
  // a file lives in one replica set: shard (4 MB pieces above distribute) spreads it over both sets
  { name: "gluster-2x3-shard", transport: "glusterfs", servers: 6, gluster: { layout: "replicate", replica: 3, options: { "features.shard": "on", "features.shard-block-size": "4MB" } } },
  // the init before it read an image in pieces: one stream (a sharded file: one shard at a time, every node on the
  // same set; disperse: one read of a few stripes in flight)
  { name: "gluster-2x3-shard-stream", transport: "glusterfs", servers: 6, gluster: { layout: "replicate", replica: 3, options: { "features.shard": "on", "features.shard-block-size": "4MB" } }, fetch: "stream" },
  { name: "gluster-ec42-stream", transport: "glusterfs", servers: 6, gluster: { layout: "disperse", disperse: 6, redundancy: 2 }, fetch: "stream" },
  // four pieces in flight instead of eight, and a replicated file in pieces (not netboot's defaults: model/readSpread.ts fetchPlanOf)
  { name: "gluster-2x3-shard-w4", transport: "glusterfs", servers: 6, gluster: { layout: "replicate", replica: 3, options: { "features.shard": "on", "features.shard-block-size": "4MB" } }, fetch: { piece: 4 * 1024 ** 2, window: 4 } },
  { name: "gluster-ec42-w4", transport: "glusterfs", servers: 6, gluster: { layout: "disperse", disperse: 6, redundancy: 2 }, fetch: { piece: 4 * 1024 ** 2, window: 4 } },
  { name: "gluster-r3-pieces", transport: "glusterfs", servers: 3, gluster: { layout: "replicate", replica: 3 }, fetch: { piece: 4 * 1024 ** 2, window: 4 } },
  // the lab artifact that hid the spread for a day: bricks and nodes sharing one hostname (Procs.start)
  { name: "gluster-r3-samehost", transport: "glusterfs", servers: 3, gluster: { layout: "replicate", replica: 3 }, sharedHostname: true },
];

const USAGE = "usage: npm run bench:storm -- [--nodes 10,50,100,200] [--mbit 100] [--image-mb 16] [--variants a,b] [--timeout S] [--out FILE]";

/** A deterministic, incompressible image of `mb` MB, packed as tar.gz (what BootImage publishes). */
export function makeImage(dir: string, mb: number): string {
  const root = path.join(dir, "image-root");
  fs.mkdirSync(path.join(root, "sbin"), { recursive: true });
  const chunks: Buffer[] = [];
  let h = Buffer.from("netboot storm image");
  for (let i = 0; i < mb * 32768; i++) { h = crypto.createHash("sha256").update(h).digest(); chunks.push(h); }
  fs.writeFileSync(path.join(root, "payload.bin"), Buffer.concat(chunks));
  fs.writeFileSync(path.join(root, "sbin/init"), "#!/bin/sh\n", { mode: 0o755 });
  const out = path.join(dir, "image.tar.gz");
  execFileSync("sh", ["-c", `tar --sort=name --mtime=@0 --owner=0 --group=0 -C ${root} -cf - . | gzip -n -1 > ${out}`]);
  fs.rmSync(root, { recursive: true });
  return out;
}

/** netboot's own initramfs for a glusterfs boot of this machine's kernel (what a node fetches). */
export async function makeInitrd(dir: string, kver: string): Promise<string> {
  process.env.NETBOOT_CACHE_DIR ??= path.join(dir, "cache");
  fs.mkdirSync(path.join(dir, "boot-image/sbin"), { recursive: true });
  fs.writeFileSync(path.join(dir, "boot-image/sbin/init"), "#!/bin/sh\n");
  const vol = "volume v-client-0\n    type protocol/client\n    option remote-host 10.98.0.11\n    option remote-subvolume /b\nend-volume\n";
  const issues = new Issues("bench");
  const m = buildBootImageModel("storm", { kernelVersion: kver, imageSource: path.join(dir, "boot-image"), transport: "glusterfs", glusterVolfile: vol }, issues);
  if (!m) throw new Error(JSON.stringify(issues.list));
  const p = planInitramfs(m, issues);
  if (!p) throw new Error(JSON.stringify(issues.list));
  const b = await buildInitrd(p);
  const out = path.join(dir, "initrd.img");
  fs.writeFileSync(out, b.data);
  return out;
}

export function kernelVersion(): string {
  const v = fs.readdirSync("/lib/modules").filter((k) => fs.existsSync(`/boot/vmlinuz-${k}`)).sort().pop();
  if (!v) throw new Error("no Debian kernel with modules: apt-get install -y linux-image-amd64");
  return v;
}

export function summarize(r: StormResult, baseline?: StormResult) {
  const ok = r.results.filter((x) => x.ok);
  const imageS = ok.map((x) => x.image! / 1000);
  const phase = ok.map((x) => (x.image! - x.kernel!) / 1000);
  const last = imageS.length ? Math.max(...imageS) : NaN;
  const firstImageStart = ok.length ? Math.min(...ok.map((x) => x.kernel!)) / 1000 : NaN;
  const aggMBs = (r.imageBytes * ok.length) / 1e6 / (last - firstImageStart);
  const physical = (r.imageBytes * r.nodes * 8) / (r.mbit * 1e6 * r.servers);
  const base = baseline ? summarizeAgg(baseline) : undefined;
  return {
    variant: r.variant, nodes: r.nodes, ok: ok.length, failed: r.results.length - ok.length,
    lastImageS: +last.toFixed(1), medianS: +percentile(phase, 50).toFixed(1), p95S: +percentile(phase, 95).toFixed(1),
    lastLeaseS: +(Math.max(...r.results.map((x) => x.lease ?? NaN)) / 1000).toFixed(2),
    // DHCP itself: from the node's shell starting to its lease (the rest of lastLease is spawning the nodes)
    leaseP95S: +(percentile(r.results.map((x) => (x.lease ?? NaN) - (x.start ?? 0)), 95) / 1000).toFixed(2), dhcpRetries: r.results.reduce((a, x) => a + Math.max(0, x.dhcpTries - 1), 0),
    aggregateMBs: +aggMBs.toFixed(1), physicalLimitS: +physical.toFixed(1), vsPhysical: +((last - firstImageStart) / physical).toFixed(2),
    servedMB: r.bytesPerServer.map((b) => +(b / 1e6).toFixed(0)),
    vsNfsMaster: base ? +(aggMBs / base).toFixed(2) : undefined,
    errors: r.results.filter((x) => !x.ok).slice(0, 3).map((x) => `${x.node}: ${x.error}`),
  };
}
function summarizeAgg(r: StormResult): number {
  const ok = r.results.filter((x) => x.ok);
  const last = Math.max(...ok.map((x) => x.image!)) / 1000;
  const first = Math.min(...ok.map((x) => x.kernel!)) / 1000;
  return (r.imageBytes * ok.length) / 1e6 / (last - first);
}

async function main() {
  const { values: v } = parseCli("bench:storm", USAGE, { options: { nodes: { type: "string" }, mbit: { type: "string" }, "image-mb": { type: "string" }, variants: { type: "string" }, timeout: { type: "string" }, out: { type: "string" } } });
  const ns = (v.nodes ?? "10,50,100,200").split(",").map(Number);
  if (ns.some((n) => !Number.isInteger(n) || n < 1 || n > 1000)) throw new Error(`--nodes: give counts 1-1000 (got ${v.nodes})`);
  const mbit = numberFlag("bench:storm", USAGE, "mbit", v.mbit, 100, 1);
  const imageMb = numberFlag("bench:storm", USAGE, "image-mb", v["image-mb"], 16, 1);
  const timeoutS = numberFlag("bench:storm", USAGE, "timeout", v.timeout, 900, 10);
  const names = v.variants ? v.variants.split(",") : VARIANTS.map((x) => x.name);
  const unknown = names.filter((n) => !VARIANTS.some((x) => x.name === n));
  if (unknown.length) throw new Error(`--variants: unknown ${unknown.join(", ")} (known: ${VARIANTS.map((x) => x.name).join(", ")})`);
  const variants = VARIANTS.filter((x) => names.includes(x.name));
  requireTools();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "netboot-storm-"));
  // dnsmasq and nginx drop to unprivileged users: they must reach their roots below the work folder
  fs.chmodSync(work, 0o755);
  const kver = kernelVersion();
  console.log(`[storm] work folder ${work}; kernel ${kver}; image ${imageMb} MB; ${mbit} Mbit/s per server; nodes ${ns.join(", ")}`);
  const image = makeImage(work, imageMb);
  const initrd = await makeInitrd(work, kver);
  const lab = new StormLab({ work, maxNodes: Math.max(...ns), maxServers: Math.max(...variants.map((x) => x.servers)), mbit, kernel: `/boot/vmlinuz-${kver}`, initrd, image, log: (s) => console.log(s) });
  const rows: ReturnType<typeof summarize>[] = [];
  const onSignal = () => { void lab.down().then(() => process.exit(130)); };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await lab.up();
    const baseline = new Map<number, StormResult>();
    for (const variant of variants) {
      const handle = await lab.startVariant(variant);
      try {
        for (const n of ns) {
          const r = await lab.storm(variant, n, handle.fetch, timeoutS);
          if (variant.name === "nfs-master") baseline.set(n, r);
          const row = summarize(r, baseline.get(n));
          rows.push(row);
          console.log(JSON.stringify(row));
        }
      } finally {
        await handle.stop();
      }
    }
  } finally {
    await lab.down();
  }
  const table = ["| variant | N | ok | last image (s) | median / p95 (s) | aggregate MB/s | x NFS master | x physical limit | MB served per server |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.variant} | ${r.nodes} | ${r.ok}/${r.nodes} | ${r.lastImageS} | ${r.medianS} / ${r.p95S} | ${r.aggregateMBs} | ${r.vsNfsMaster ?? "-"} | ${r.vsPhysical} | ${r.servedMB.join(" / ")} |`)];
  console.log("\n" + table.join("\n"));
  const dhcp = ["| variant | N | last lease (s) | p95 start-to-lease (s) | DHCP retries |", "| --- | --- | --- | --- | --- |", ...rows.map((r) => `| ${r.variant} | ${r.nodes} | ${r.lastLeaseS} | ${r.leaseP95S} | ${r.dhcpRetries} |`)];
  console.log("\n" + dhcp.join("\n"));
  if (v.out) fs.writeFileSync(v.out, JSON.stringify({ mbit, imageMb, rows }, null, 2));
  fs.rmSync(work, { recursive: true, force: true });
  if (rows.some((r) => r.failed)) process.exitCode = 1;
}

if (require.main === module) main().catch((e) => { console.error(`bench:storm: ${e instanceof Error ? e.message : e}`); process.exit(1); });
