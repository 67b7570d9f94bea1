/**
 * Boot storms: N simulated nodes boot at once against servers rendered by netboot's own model and renderers
 * (the same functions the provider runs in `pulumi up`), each server behind a link shaped to a fixed bandwidth.
 *
 * A simulated node is a network namespace on the lab's bridge with the node's MAC, running the node's real data
 * path with the real clients:
 *   1. DHCP: busybox udhcpc (the initramfs's client) against the real dnsmasq and the group's static lease;
 *   2. iPXE chain: boot.ipxe -> node-<mac>.ipxe -> group-<g>.ipxe from the real nginx (curl);
 *   3. the kernel and initramfs those scripts name (curl; sizes checked);
 *   4. the OS image over the transport under test into the node's tmpfs: the glusterfs FUSE client mounting
 *      netboot's client volfile, libnfs's nfs-cp (this machine's kernel has no NFS client), or curl;
 *   5. the image's sha256 checked against the published one.
 * The image is copied, not unpacked: unpacking is the same CPU work for every transport and this machine's two
 * cores would measure themselves, not the servers.
 *
 * Bandwidth: each storage server's egress is shaped with `tc tbf` to `mbit` (a scaled-down NIC); the head
 * (dnsmasq, nginx for scripts, kernel and initramfs) is not shaped, so the image phase is what is compared.
 * Namespaces are named `nbs<pid>-*` and removed at the end; every process is ended by its own pid.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Issues } from "../../provider/model/errors";
import { buildGlusterModel, GlusterModel } from "../../provider/model/gluster";
import { buildNodeGroupModel, buildPxeServerModel, full, PxeServerModel, serverInfo } from "../../provider/model/pxe";
import { renderDnsmasq } from "../../provider/render/dnsmasq";
import { renderNginx, renderNginxMain } from "../../provider/render/nginx";
import { renderNodeGroup } from "../../provider/render/nodeGroup";
import { FETCH_FN, GLUSTER_CACHE, renderReadOptsFn } from "../../provider/render/init";
import { renderBootScript } from "../../provider/render/ipxe";
import { FetchPlan, fetchPlanOf, isEmptySpread, readSpreadOf } from "../../provider/model/readSpread";
import { parseVolfile } from "../../provider/model/volfileParse";
import { brickGraph, clientGraph, volfileText } from "../../provider/render/volfile";
import { renderGaneshaConfig } from "../../test/helpers/ganesha";
import { prepareGlusterdDir } from "../../test/helpers/gluster";

export type Transport = "glusterfs" | "nfs" | "http";

export interface Variant {
  /** a short name for the tables: nfs-master, http, gluster-r3, ... */
  name: string;
  transport: Transport;
  /** storage servers it uses (s1..sN) */
  servers: number;
  /** glusterfs: the GlusterVolume arguments (layout, replica, disperse, redundancy, options) */
  gluster?: { layout: string; replica?: number; disperse?: number; redundancy?: number; options?: Record<string, string> };
  /** nfs: NFS-Ganesha's FSAL; GLUSTER re-exports this variant's glusterfs volume from every server */
  fsal?: "VFS" | "GLUSTER";
  /** glusterfs: the client as glusterd leaves it, without the init's read spread (model/readSpread.ts) */
  glusterdReads?: boolean;
  /**
   * glusterfs: how a node reads the image file. Unset: as the init does (model/readSpread.ts `fetchPlanOf`: a
   * sharded volume in pieces, several at once, else one stream); "stream": one stream whatever the volume (the
   * init before pieces); a plan: those pieces, whatever the volume.
   */
  fetch?: "stream" | FetchPlan;
  /** glusterfs: bricks and nodes keep this machine's one hostname (the lab artifact that pins AFR's reads: Procs.start) */
  sharedHostname?: boolean;
}

export interface NodeResult {
  node: string;
  ok: boolean;
  error?: string;
  /** ms from the storm's start to: the node's shell running (spawning hundreds of namespaced shells takes a while on two cores), lease, scripts, kernel+initramfs, image */
  start?: number;
  lease?: number;
  scripts?: number;
  kernel?: number;
  image?: number;
  dhcpTries: number;
}

export interface StormResult {
  variant: string;
  nodes: number;
  imageBytes: number;
  mbit: number;
  servers: number;
  results: NodeResult[];
  /** bytes each storage server sent during the image phase (from its interface counters) */
  bytesPerServer: number[];
  wallMs: number;
}

const SUBNET = "10.98.0.0/16";
const HEAD_IP = "10.98.0.1";
const serverIp = (i: number) => `10.98.0.${10 + i}`;
const nodeIp = (i: number) => `10.98.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
const nodeMac = (i: number) => `52:54:00:5e:${((i >> 8) & 0xff).toString(16).padStart(2, "0")}:${(i & 0xff).toString(16).padStart(2, "0")}`;
const BRICK_PORT = 49152;

function sh(cmd: string, allowFail = false): string {
  const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

export function requireTools(): void {
  const need: Array<[string, string]> = [["dnsmasq", "dnsmasq"], ["nginx", "nginx-light"], ["glusterfsd", "glusterfs-server"], ["glusterfs", "glusterfs-client"],
    ["ganesha.nfsd", "nfs-ganesha nfs-ganesha-vfs nfs-ganesha-gluster"], ["nfs-cp", "libnfs-utils"], ["busybox", "busybox-static"], ["curl", "curl"], ["tc", "iproute2"]];
  const missing = need.filter(([t]) => sh(`PATH=$PATH:/usr/sbin:/sbin command -v ${t}`, true).trim() === "");
  if (missing.length) throw new Error(`missing tools for the storm: ${missing.map(([t]) => t).join(", ")}; install with: apt-get install -y ${[...new Set(missing.map(([, p]) => p))].join(" ")}`);
  if (process.getuid && process.getuid() !== 0) throw new Error("the storm needs root (network namespaces, FUSE, tc)");
}

/** A daemon or node process, ended by its own pid. */
class Procs {
  readonly list: ChildProcess[] = [];
  /**
   * `hostname`: the process gets a UTS namespace of its own with that name, as a separate machine has. It matters:
   * AFR's choose-local (on by default) compares the client's gethostname() with the host in each brick's
   * pathinfo and pins every read to a brick it takes for local. Processes that share one hostname all look local
   * to each other, and every node would read from one brick whatever the read policy.
   */
  start(ns: string, argv: string[], log: string, hostname?: string): ChildProcess {
    const fd = fs.openSync(log, "a");
    const uts = hostname ? ["unshare", "--uts", "sh", "-c", `hostname ${hostname} && exec "$@"`, "sh"] : [];
    const p = spawn("ip", ["netns", "exec", ns, ...uts, ...argv], { stdio: ["ignore", fd, fd] });
    fs.closeSync(fd);
    this.list.push(p);
    return p;
  }
  async stop(p: ChildProcess): Promise<void> {
    if (p.exitCode !== null || p.signalCode !== null || !p.pid) return;
    p.kill("SIGTERM");
    await new Promise<void>((r) => {
      const t = setTimeout(() => { p.kill("SIGKILL"); r(); }, 5000);
      p.once("exit", () => { clearTimeout(t); r(); });
    });
  }
  async stopAll(): Promise<void> {
    for (const p of this.list.splice(0).reverse()) await this.stop(p);
  }
}

async function waitFor(what: string, ms: number, ok: () => boolean, why: () => string = () => ""): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${why() ? `: ${why()}` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function must<T>(v: T | undefined, issues: Issues): T {
  if (!v || !issues.ok) throw new Error(issues.list.map((i) => `${i.resource}.${i.field}: ${i.message} (${JSON.stringify(i.value)})`).join("\n"));
  return v;
}

function writeRendered(prefix: string, f: { path: string; content: string }): void {
  const p = f.path.startsWith(prefix) ? f.path : path.join(prefix, f.path);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, f.content);
}

export interface StormLabOptions {
  work: string;
  maxNodes: number;
  maxServers: number;
  mbit: number;
  kernel: string;
  initrd: string;
  image: string;
  log: (s: string) => void;
}

/**
 * The lab of one storm run: a bridge namespace, the head (dnsmasq + nginx as netboot renders them for one
 * PxeServer and one NodeGroup of maxNodes nodes), maxServers shaped storage namespaces, maxNodes node namespaces.
 */
export class StormLab {
  readonly id = `nbs${process.pid % 100000}`;
  readonly procs = new Procs();
  /** glusterd-managed volumes running (FSAL_GLUSTER variants): their daemons are not children of ours */
  private managed: Array<{ dir: string; servers: number; name: string; cli: (s: number, args: string[]) => string }> = [];
  readonly ns: string[] = [];
  readonly root: string;
  pxe!: PxeServerModel;
  imageSha = "";
  imageBytes = 0;
  kernelBytes = 0;
  initrdBytes = 0;
  private head?: ChildProcess[];
  constructor(readonly o: StormLabOptions) {
    this.root = path.join(o.work, "target");
  }

  private nsAdd(name: string): string {
    const n = `${this.id}-${name}`;
    sh(`ip netns del ${n} 2>/dev/null; ip netns add ${n} && ip -n ${n} link set lo up`);
    this.ns.push(n);
    return n;
  }
  private leg(ns: string, i: string, addr: string | undefined, mac?: string): void {
    const sw = `${this.id}-sw`;
    sh(`ip link add v${i} netns ${sw} type veth peer name eth0 netns ${ns}` + (mac ? ` address ${mac}` : ""));
    sh(`ip -n ${sw} link set v${i} master br0 up && ip -n ${ns} link set eth0 up` + (addr ? ` && ip -n ${ns} addr add ${addr}/16 dev eth0` : ""));
  }
  serverNs(i: number): string { return `${this.id}-s${i}`; }
  nodeNs(i: number): string { return `${this.id}-n${i}`; }
  nodeName(i: number): string { return `n${String(i + 1).padStart(4, "0")}`; }

  async up(): Promise<void> {
    const o = this.o;
    fs.mkdirSync(this.root, { recursive: true });
    const sw = this.nsAdd("sw");
    sh(`ip -n ${sw} link add br0 type bridge && ip -n ${sw} link set br0 type bridge forward_delay 0 && ip -n ${sw} link set br0 up`);
    // a bridge with hundreds of ports: no multicast snooping, no STP; neighbour tables big enough for all nodes
    sh(`ip -n ${sw} link set br0 type bridge mcast_snooping 0 stp_state 0`, true);
    const head = this.nsAdd("h");
    this.leg(head, "h", HEAD_IP);
    for (let s = 1; s <= o.maxServers; s++) {
      const ns = this.nsAdd(`s${s}`);
      this.leg(ns, `s${s}`, serverIp(s));
      // the scaled-down NIC: a token bucket on the server's egress (what it serves)
      sh(`ip netns exec ${ns} tc qdisc add dev eth0 root tbf rate ${o.mbit}mbit burst ${Math.max(32, Math.ceil(o.mbit / 8))}kb latency 400ms`);
      for (const k of ["gc_thresh1 4096", "gc_thresh2 8192", "gc_thresh3 16384"]) sh(`ip netns exec ${ns} sysctl -qw net.ipv4.neigh.default.${k}`, true);
    }
    for (const k of ["gc_thresh1 4096", "gc_thresh2 8192", "gc_thresh3 16384"]) sh(`ip netns exec ${head} sysctl -qw net.ipv4.neigh.default.${k}`, true);
    o.log(`[storm] ${o.maxServers} storage servers at ${o.mbit} Mbit/s each, head unshaped`);
    for (let i = 0; i < o.maxNodes; i++) {
      const ns = this.nsAdd(`n${i}`);
      this.leg(ns, `n${i}`, undefined, nodeMac(i));
    }
    o.log(`[storm] ${o.maxNodes} node namespaces on the bridge`);
    await this.startHead();
    this.imageBytes = fs.statSync(o.image).size;
    this.imageSha = crypto.createHash("sha256").update(fs.readFileSync(o.image)).digest("hex");
  }

  /** dnsmasq and nginx from netboot's renderers: one PxeServer (static DHCP), one NodeGroup of maxNodes nodes. */
  private async startHead(): Promise<void> {
    const issues = new Issues("PxeServer storm");
    this.pxe = must(buildPxeServerModel("storm", { interface: "eth0", subnet: SUBNET, serverIp: HEAD_IP, dhcpMode: "static" }, { root: this.root }, issues), issues);
    const m = this.pxe;
    for (const f of [renderDnsmasq(m), renderNginx(m), renderNginxMain(m), renderBootScript(m)]) writeRendered(this.root, f);
    const http = full(m, m.paths.httpRoot);
    fs.mkdirSync(path.join(http, "images"), { recursive: true });
    fs.copyFileSync(this.o.kernel, path.join(http, "images/vmlinuz"));
    fs.copyFileSync(this.o.initrd, path.join(http, "images/initrd.img"));
    this.kernelBytes = fs.statSync(this.o.kernel).size;
    this.initrdBytes = fs.statSync(this.o.initrd).size;
    const gi = new Issues("NodeGroup storm");
    const nodes = Array.from({ length: this.o.maxNodes }, (_, i) => ({ name: this.nodeName(i), macs: [nodeMac(i)], ip: nodeIp(i) }));
    const g = must(buildNodeGroupModel("storm", {
      server: serverInfo(m), nodes,
      boot: { kernelUrl: `${m.httpBaseUrl}images/vmlinuz`, initrdUrl: `${m.httpBaseUrl}images/initrd.img`, args: "console=ttyS0" },
    }, gi), gi);
    for (const f of renderNodeGroup(g)) writeRendered(this.root, f);
    for (const d of [m.paths.runDir, `${m.paths.base}/nginx-overlays.d`, m.paths.tftpRoot]) fs.mkdirSync(full(m, d), { recursive: true });
    const conf = full(m, m.paths.dnsmasqConf);
    const nginxConf = full(m, `${m.paths.base}/nginx.conf`);
    // the real consumers' checks of the whole configuration they will load
    sh(`/usr/sbin/dnsmasq --test -C ${conf}`);
    sh(`ip netns exec ${this.id}-h /usr/sbin/nginx -t -q -c ${nginxConf}`);
    const head = `${this.id}-h`;
    this.head = [
      this.procs.start(head, ["/usr/sbin/dnsmasq", "-k", "-C", conf, "--log-facility", path.join(this.o.work, "dnsmasq.log")], path.join(this.o.work, "dnsmasq.out")),
      this.procs.start(head, ["/usr/sbin/nginx", "-c", nginxConf, "-g", "daemon off;"], path.join(this.o.work, "nginx.out")),
    ];
    await waitFor("nginx on the head", 10_000, () => sh(`ip netns exec ${head} ss -Htln 'sport = :80'`, true).includes(HEAD_IP));
    await waitFor("dnsmasq on the head", 10_000, () => sh(`ip netns exec ${head} ss -Hluna 'sport = :67'`, true).trim() !== "");
  }

  /** The glusterfs model of a variant, rendered by netboot (standalone: bricks without glusterd). */
  glusterModel(v: Variant): GlusterModel {
    const issues = new Issues(`GlusterVolume ${v.name}`);
    const bricks = Array.from({ length: v.servers }, (_, i) => ({ host: serverIp(i + 1), path: path.join(this.o.work, "bricks", v.name, `s${i + 1}`), port: BRICK_PORT }));
    return must(buildGlusterModel(v.name.replace(/[^A-Za-z0-9_-]/g, "-"), {
      mode: "standalone", bricks, layout: v.gluster!.layout, replica: v.gluster!.replica, disperse: v.gluster!.disperse, redundancy: v.gluster!.redundancy,
      options: v.gluster!.options, clusterSubnet: SUBNET, stateDir: path.join(this.o.work, "gluster"),
    }, { root: this.root }, issues), issues);
  }

  /** Starts a variant's servers, publishes the image on them and returns what a node needs to fetch it. */
  async startVariant(v: Variant): Promise<{ fetch: (node: number, dst: string) => string; stop: () => Promise<void>; plan?: FetchPlan }> {
    const started: ChildProcess[] = [];
    const dir = path.join(this.o.work, "v", v.name);
    fs.mkdirSync(dir, { recursive: true });
    const stop = async () => {
      this.stopManaged(dir); // while glusterd still answers the CLI
      for (const p of started.reverse()) await this.procs.stop(p);
    };
    const rr = (node: number) => serverIp(1 + (node % v.servers));
    try {
      if (v.transport === "http") {
        const www = path.join(dir, "www");
        fs.mkdirSync(www, { recursive: true });
        fs.copyFileSync(this.o.image, path.join(www, "image.tar.gz"));
        const conf = path.join(dir, "nginx.conf");
        fs.writeFileSync(conf, `worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/nginx.error.log;\nevents { worker_connections 1024; }\n` +
          `http { access_log off; sendfile on; tcp_nopush on; client_body_temp_path ${dir}/tmp; server { listen ${serverIp(1)}:80; root ${www}; } }\n`);
        started.push(this.procs.start(this.serverNs(1), ["/usr/sbin/nginx", "-c", conf, "-g", "daemon off;"], path.join(dir, "nginx.out"), "s1"));
        await waitFor("the image's nginx", 10_000, () => sh(`ip netns exec ${this.serverNs(1)} ss -Htln 'sport = :80'`, true).trim() !== "");
        return { stop, fetch: (_n, dst) => `curl -sSf --retry 5 --retry-connrefused -o ${dst} http://${serverIp(1)}/image.tar.gz` };
      }
      let model: GlusterModel | undefined;
      if (v.gluster && v.fsal === "GLUSTER") {
        // NFS-Ganesha over GlusterFS: FSAL_GLUSTER (libgfapi) asks a glusterd's management port for the volume's
        // graph and has no option for a volfile, so this volume is glusterd's own (one peer per server), not the
        // standalone bricks below.
        model = this.glusterModel(v);
        await this.startManagedVolume(v, model, dir, started);
      } else if (v.gluster) {
        model = this.glusterModel(v);
        for (const b of model.bricks) {
          fs.mkdirSync(path.join(b.path, ".glusterfs"), { recursive: true }); // as the brick unit's ExecStartPre does
          const vf = path.join(dir, `brick-${b.index}.vol`);
          fs.writeFileSync(vf, volfileText(brickGraph(model, b)));
          const ns = this.serverNs(b.index + 1);
          started.push(this.procs.start(ns, ["/usr/sbin/glusterfsd", "-N", "-f", vf, "-l", path.join(dir, `brick-${b.index}.log`), "-p", path.join(dir, `brick-${b.index}.pid`)], path.join(dir, `brick-${b.index}.out`), v.sharedHostname ? undefined : `s${b.index + 1}`));
        }
        for (const b of model.bricks)
          await waitFor(`brick ${b.index} of ${v.name}`, 20_000, () => sh(`ip netns exec ${this.serverNs(b.index + 1)} ss -Htln 'sport = :${b.port}'`, true).trim() !== "",
            () => sh(`tail -5 ${path.join(dir, `brick-${b.index}.log`)}`, true));
        const clientVol = path.join(dir, "client.vol");
        // with `features.shard` the client graph has shard above distribute (every client, the publisher too)
        const volText = volfileText(clientGraph(model));
        fs.writeFileSync(clientVol, volText);
        // publish through a FUSE mount of the client volfile, from the head (unshaped; set-up, not measured). One
        // shell: `ip netns exec` gives its command a mount namespace of its own, so the mount lives only there.
        const mnt = path.join(dir, "publish");
        fs.mkdirSync(mnt, { recursive: true });
        sh(`ip netns exec ${this.id}-h sh -c '/usr/sbin/glusterfs -f ${clientVol} -l ${dir}/publish.log ${mnt} && i=0; ` +
          `until [ "$(stat -f -c %T ${mnt})" = fuseblk ] || [ "$(stat -f -c %T ${mnt})" = fuse ]; do i=$((i+1)); [ $i -gt 150 ] && exit 1; sleep 0.2; done; ` +
          `mkdir -p ${mnt}/images && cp ${this.o.image} ${mnt}/images/.image.tmp && mv ${mnt}/images/.image.tmp ${mnt}/images/image.tar.gz && ` +
          `sha256sum ${mnt}/images/image.tar.gz > ${dir}/published.sha; rc=$?; umount ${mnt}; exit $rc'`);
        const got = fs.readFileSync(`${dir}/published.sha`, "utf8").split(" ")[0];
        if (got !== this.imageSha) throw new Error(`${v.name}: the image read back from the volume has sha256 ${got}, not ${this.imageSha}`);
        // the init's busybox runs the init's own function, not a copy of it
        const fetchFn = path.join(dir, "fetch.sh");
        fs.writeFileSync(fetchFn, FETCH_FN + "\n");
        // the init's image read: pieces several at once from a sharded volume (renderInit's unpack), else a stream
        const plan = v.fetch === "stream" ? undefined : v.fetch ?? fetchPlanOf(parseVolfile(volText));
        if (v.transport === "glusterfs")
          return { stop, plan, fetch: (n, dst) => {
            const m = `/tmp/${this.id}-mnt-${n}`;
            // the init's own mount: glusterfs from the volfile BootImage bakes (the GlusterVolume's), the init's cache options
            // and the init's read spread, computed by the init's own shell function from the node's leased address
            const spread = v.glusterdReads ? undefined : readSpreadOf(parseVolfile(volText));
            const pin = isEmptySpread(spread) ? "" : ` $(gluster_read_opts "$(ip -4 -o addr show dev eth0 | sed -n 's/.* inet \\([0-9.]*\\).*/\\1/p')")`;
            return (isEmptySpread(spread) ? "" : `${renderReadOptsFn(spread!)}\n`) + `mkdir -p ${m} && /usr/sbin/glusterfs -f ${clientVol}${pin} -l ${dir}/client-${n}.log -p ${dir}/client-${n}.pid ${GLUSTER_CACHE} ${m} && ` +
              `i=0; until [ -e ${m}/images/image.tar.gz ]; do i=$((i+1)); [ $i -gt 150 ] && echo "no image on the mount" >&2 && exit 1; sleep 0.2; done; ` +
              (plan ? `busybox sh -c '. ${fetchFn}; fetch_image ${m}/images/image.tar.gz ${plan.piece} ${plan.window} ${dst}.pieces' > ${dst}` : `cp ${m}/images/image.tar.gz ${dst}`) +
              `; rc=$?; umount ${m}; rmdir ${m}; exit $rc`;
          } };
      }
      // NFS-Ganesha on every server the variant has (one for the NFS master), nodes spread over them round robin
      const heads = v.fsal === "GLUSTER" ? v.servers : 1;
      const exportDir = path.join(dir, "export");
      if (v.fsal !== "GLUSTER") {
        fs.mkdirSync(path.join(exportDir, "images"), { recursive: true });
        fs.copyFileSync(this.o.image, path.join(exportDir, "images/image.tar.gz"));
      }
      for (let s = 1; s <= heads; s++) {
        const gdir = path.join(dir, `ganesha-${s}`);
        fs.mkdirSync(path.join(gdir, "recovery"), { recursive: true });
        let conf = renderGaneshaConfig({ bindAddr: serverIp(s), recoveryRoot: path.join(gdir, "recovery"), exports: [{ path: v.fsal === "GLUSTER" ? "/" : exportDir, pseudo: "/export" }] });
        // libnfs (nfs-cp) speaks NFSv4.0; the boot path's kernel client uses 4.1
        conf = conf.replace("Minor_Versions = 1, 2;", "Minor_Versions = 0, 1, 2;");
        if (v.fsal === "GLUSTER") conf = conf.replace("FSAL { Name = VFS; }", `FSAL { Name = GLUSTER; Hostname = "${serverIp(s)}"; Volume = "${model!.name}"; }`);
        fs.writeFileSync(path.join(gdir, "ganesha.conf"), conf);
        started.push(this.procs.start(this.serverNs(s), ["sh", "-c", `mount -t tmpfs -o mode=0755 ganesha-run /run && exec /usr/bin/ganesha.nfsd -F -f ${gdir}/ganesha.conf -L ${gdir}/ganesha.log -p ${gdir}/ganesha.pid -N NIV_EVENT`], path.join(gdir, "out.log"), `s${s}`));
        await waitFor(`NFS-Ganesha on s${s}`, 60_000, () => sh(`ip netns exec ${this.serverNs(s)} ss -Htln 'sport = :2049'`, true).trim() !== "", () => sh(`tail -5 ${gdir}/ganesha.log`, true));
      }
      return { stop, fetch: (n, dst) => `nfs-cp 'nfs://${heads === 1 ? serverIp(1) : rr(n)}/export/images/image.tar.gz?version=4' ${dst} >/dev/null` };
    } catch (e) {
      await stop();
      throw e;
    }
  }

  /**
   * A glusterd on every server of the variant (its own working folder, socket and hostname, as a machine of its
   * own: the bricks it spawns inherit the hostname, so gfapi on that server takes its own brick for local), the
   * servers probed into one pool, the volume created and started by the CLI, and the image published through a
   * FUSE mount that fetches its graph from s1's glusterd. `stop` (in `started`) ends glusterd; the bricks and
   * other daemons it spawned are ended by the pid files they wrote below the variant's folder.
   */
  private async startManagedVolume(v: Variant, model: GlusterModel, dir: string, started: ChildProcess[]): Promise<void> {
    const gd = (s: number) => path.join(dir, `glusterd-${s}`);
    const cli = (s: number, args: string[], allowFail = false) =>
      sh(["gluster", `--glusterd-sock=${gd(s)}/glusterd.sock`, `--log-file=${gd(s)}/cli.log`, "--mode=script", ...args].map((a) => `'${a}'`).join(" "), allowFail);
    const answers = (s: number) => { try { cli(s, ["volume", "list"]); return true; } catch { return false; } };
    for (let s = 1; s <= v.servers; s++) {
      const vol = prepareGlusterdDir(gd(s));
      started.push(this.procs.start(this.serverNs(s), ["glusterd", "-N", "-f", vol, "-l", `${gd(s)}/log/glusterd.log`], `${gd(s)}/out.log`, `s${s}`));
    }
    for (let s = 1; s <= v.servers; s++)
      await waitFor(`glusterd on s${s}`, 30_000, () => fs.existsSync(`${gd(s)}/glusterd.sock`) && answers(s));
    for (let s = 2; s <= v.servers; s++) cli(1, ["peer", "probe", serverIp(s)]);
    await waitFor("the trusted pool", 60_000, () => (cli(1, ["pool", "list"], true).match(/\tConnected/g) ?? []).length === v.servers);
    const g = v.gluster!;
    const shape = g.layout === "disperse" ? ["disperse", String(g.disperse), "redundancy", String(g.redundancy)] : ["replica", String(g.replica)];
    for (const b of model.bricks) fs.mkdirSync(b.path, { recursive: true });
    cli(1, ["volume", "create", model.name, ...shape, ...model.bricks.map((b) => `${b.host}:${b.path}`), "force"]);
    for (const [k, val] of Object.entries(g.options ?? {})) cli(1, ["volume", "set", model.name, k, val]);
    cli(1, ["volume", "start", model.name]);
    this.managed.push({ dir, servers: v.servers, name: model.name, cli });
    const mnt = path.join(dir, "publish");
    fs.mkdirSync(mnt, { recursive: true });
    await waitFor(`the bricks of ${v.name}`, 30_000, () => (cli(1, ["volume", "status", model.name, "detail"], true).match(/Online\s*:\s*Y/g) ?? []).length === model.bricks.length);
    sh(`ip netns exec ${this.id}-h sh -c '/usr/sbin/glusterfs --volfile-server=${serverIp(1)} --volfile-id=${model.name} -l ${dir}/publish.log ${mnt} && ` +
      `mkdir -p ${mnt}/images && cp ${this.o.image} ${mnt}/images/.image.tmp && mv ${mnt}/images/.image.tmp ${mnt}/images/image.tar.gz && ` +
      `sha256sum ${mnt}/images/image.tar.gz > ${dir}/published.sha; rc=$?; umount ${mnt}; exit $rc'`);
    const got = fs.readFileSync(`${dir}/published.sha`, "utf8").split(" ")[0];
    if (got !== this.imageSha) throw new Error(`${v.name}: the image read back from the volume has sha256 ${got}, not ${this.imageSha}`);
  }

  /** Stops the daemons glusterd spawned (bricks, self-heal) for the volumes in `dir` (all: every one), each by its pid file. */
  private stopManaged(dir?: string): void {
    const mine = this.managed.filter((m) => dir === undefined || m.dir === dir);
    this.managed = this.managed.filter((m) => !mine.includes(m));
    for (const m of mine) {
      try { m.cli(1, ["volume", "stop", m.name, "force"]); } catch { /* glusterd gone: the pid files below still name its daemons */ }
      for (const f of sh(`find ${m.dir} -name '*.pid' -path '*glusterd-*'`, true).split("\n").filter(Boolean)) {
        const pid = Number(fs.readFileSync(f, "utf8").trim());
        if (pid > 1 && fs.existsSync(`/proc/${pid}/cmdline`) && /gluster/.test(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"))) try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
      }
    }
  }

  /** Bytes sent so far by each storage server's NIC (its egress is what it served). */
  txBytes(servers: number): number[] {
    return Array.from({ length: servers }, (_, i) => Number(sh(`ip netns exec ${this.serverNs(i + 1)} cat /sys/class/net/eth0/statistics/tx_bytes`).trim()));
  }

  /** One storm: `n` nodes boot at once; resolves when every node has its image (or failed). */
  async storm(v: Variant, n: number, fetch: (node: number, dst: string) => string, timeoutS: number): Promise<StormResult> {
    const dir = path.join(this.o.work, "storm", `${v.name}-${n}`);
    fs.mkdirSync(dir, { recursive: true });
    const tmpfs = path.join(dir, "ram");
    fs.mkdirSync(tmpfs, { recursive: true });
    sh(`mount -t tmpfs -o size=${Math.ceil((this.imageBytes * n) / 1048576) + 64}m storm-ram ${tmpfs}`);
    const script = path.join(dir, "udhcpc.sh");
    fs.writeFileSync(script, `#!/bin/sh\ncase "$1" in bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface" ;; esac\n`, { mode: 0o755 });
    const base = this.pxe.httpBaseUrl;
    const before = this.txBytes(v.servers);
    const t0 = Date.now();
    const now = `$(($(date +%s%N)/1000000 - ${t0}))`;
    const runs = Array.from({ length: n }, (_, i) => new Promise<NodeResult>((resolve) => {
      const dst = `${tmpfs}/${this.nodeName(i)}`;
      const mac = nodeMac(i).replace(/:/g, "-");
      const node = [
        `set -e`,
        `echo START ${now}`,
        `ip addr flush dev eth0`,
        // the initramfs's DHCP client: discover every 2 s, up to 20 tries
        `busybox udhcpc -i eth0 -f -q -n -t 20 -T 2 -s ${script} 2>&1 | grep -c 'discover' | sed 's/^/TRIES /' || true`,
        `ip -4 -o addr show dev eth0 | grep -q 'inet ' || { echo "ERR no lease"; exit 1; }`,
        `echo LEASE ${now}`,
        `c() { curl -sSf --retry 5 --retry-connrefused --retry-delay 1 "$@"; }`,
        `c -o /dev/null ${base}ipxe/boot.ipxe`,
        `g=$(c ${base}ipxe/node-${mac}.ipxe | sed -n 's/^chain[^h]*\\(http[^ ]*\\).*/\\1/p' | head -1)`,
        `[ -n "$g" ] || { echo "ERR node script names no group script"; exit 1; }`,
        `s=$(c "$g")`,
        `k=$(echo "$s" | sed -n 's/^kernel \\([^ ]*\\).*/\\1/p'); r=$(echo "$s" | sed -n 's/^initrd --name [^ ]* \\([^ ]*\\).*/\\1/p')`,
        `echo SCRIPTS ${now}`,
        `[ "$(c -o /dev/null -w '%{size_download}' "$k")" = ${this.kernelBytes} ] || { echo "ERR kernel size"; exit 1; }`,
        `[ "$(c -o /dev/null -w '%{size_download}' "$r")" = ${this.initrdBytes} ] || { echo "ERR initrd size"; exit 1; }`,
        `echo KERNEL ${now}`,
        `( ${fetch(i, dst)} ) || { echo "ERR image fetch failed"; exit 1; }`,
        `echo IMAGE ${now}`,
        `echo "SHA $(sha256sum ${dst} | cut -d' ' -f1)"`,
        `rm -f ${dst}`,
      ].join("\n");
      const log = path.join(dir, `${this.nodeName(i)}.log`);
      const p = this.procs.start(this.nodeNs(i), ["sh", "-c", node], log, v.sharedHostname ? undefined : this.nodeName(i));
      const timer = setTimeout(() => p.kill("SIGKILL"), timeoutS * 1000);
      p.once("exit", (code) => {
        clearTimeout(timer);
        const text = fs.readFileSync(log, "utf8");
        const at = (k: string) => { const m = new RegExp(`^${k} (\\d+)$`, "m").exec(text); return m ? Number(m[1]) : undefined; };
        const sha = /^SHA ([0-9a-f]{64})$/m.exec(text)?.[1];
        const r: NodeResult = { node: this.nodeName(i), ok: code === 0 && sha === this.imageSha, start: at("START"), lease: at("LEASE"), scripts: at("SCRIPTS"), kernel: at("KERNEL"), image: at("IMAGE"), dhcpTries: Number(/^TRIES (\d+)$/m.exec(text)?.[1] ?? 0) };
        if (!r.ok) r.error = (/^ERR (.*)$/m.exec(text)?.[1] ?? (sha && sha !== this.imageSha ? `image sha256 ${sha}` : code === null ? "timed out" : `exit ${code}`)) + `: ${text.trim().split("\n").slice(-3).join(" | ")}`;
        resolve(r);
      });
    }));
    const results = await Promise.all(runs);
    const wallMs = Date.now() - t0;
    const after = this.txBytes(v.servers);
    sh(`umount ${tmpfs}`, true);
    // the procs of this storm are done: forget them
    return { variant: v.name, nodes: n, imageBytes: this.imageBytes, mbit: this.o.mbit, servers: v.servers, results, bytesPerServer: after.map((a, i) => a - before[i]), wallMs };
  }

  async down(): Promise<void> {
    this.stopManaged();
    await this.procs.stopAll();
    // glusterfs clients of nodes that were killed (a timed-out node) daemonized themselves: end them by their pid files
    for (const f of sh(`ls ${this.o.work}/v/*/client-*.pid 2>/dev/null`, true).split("\n").filter(Boolean)) {
      const pid = Number(fs.readFileSync(f, "utf8").trim());
      if (pid > 1 && fs.existsSync(`/proc/${pid}/cmdline`) && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("glusterfs")) try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
    }
    for (const n of this.ns.splice(0).reverse()) sh(`ip netns del ${n}`, true);
  }
}

export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
