/**
 * A network file system (a GlusterFS volume through its client volfile, or an NFS export) mounted for the
 * length of one operation on a host, and seen as a Transport whose paths are paths on the volume.
 *
 * The mount goes through the host's own transport (`exec`), so it works the same on this machine and on an
 * SSH host: a private temp folder (`mktemp -d`), `glusterfs --volfile=...` or `mount -t nfs4`, the work,
 * then `umount` and the temp folder removed, also when the work failed. Writes through the returned
 * transport are the host transport's writes (temp file + fsync + rename), so they are atomic on the volume.
 */
import { debianPackage } from "../util/debian";
import { sleep } from "../util/wait";
import { LocalTransport } from "./local";
import { BatchRead, Confine, ExecResult, FileStat, PutOptions, PutResult, ReadFound, ReadOptions, Transport, TransportError } from "./transport";

export type NetworkFs = { kind: "glusterfs"; volfile: string } | { kind: "nfs"; export: string };

/** NFS version the initramfs mounts with; the publisher mounts the same way (one TCP port, no rpcbind). */
export const NFS_MOUNT = { type: "nfs4", options: "vers=4.1" };

/** A transport whose paths live below `prefix` of another transport's host (used for a mounted volume). */
export class PrefixTransport implements Transport {
  readonly description: string;
  readonly prunesEmptyFolders = false;
  constructor(private readonly inner: Transport, private readonly prefix: string, what: string) {
    this.description = `${inner.description} ${what}`;
  }
  private p(p: string): string {
    if (!p.startsWith("/") || p.split("/").includes("..")) throw new TransportError(this.description, "resolve", p, "paths on a volume must be absolute, without `..`");
    return this.prefix + p;
  }
  fullPath(p: string): string {
    return this.inner.fullPath(this.p(p));
  }
  get(p: string, opts?: ReadOptions): Promise<Buffer | undefined> {
    return this.inner.get(this.p(p), this.confineRead(opts));
  }
  stat(p: string, opts?: ReadOptions): Promise<FileStat | undefined> {
    return this.inner.stat(this.p(p), this.confineRead(opts));
  }
  /** Every read of a batch is confined at the mount point (see `confineRead`). */
  readMany(reads: BatchRead[]): Promise<(ReadFound | undefined)[]> {
    return this.inner.readMany(reads.map((r) => ({ path: this.p(r.path), within: this.prefix })));
  }
  /** A confined read on the volume stops following symlinks at the mount point, as writes do. */
  private confineRead(opts: ReadOptions | undefined): ReadOptions | undefined {
    return opts?.confined ? { confined: true, within: this.prefix } : opts;
  }
  /** The whole volume is netboot's: no symlink on it is followed (a `within` on the volume narrows nothing). */
  private confine(): Confine {
    return { within: this.prefix };
  }
  syncDirs(dirs: string[]): Promise<void> {
    return this.inner.syncDirs(dirs.map((d) => this.p(d)), this.confine());
  }
  put(p: string, data: Buffer | string, opts: PutOptions): Promise<PutResult> {
    return this.inner.put(this.p(p), data, { ...opts, ...this.confine() }).then((r) => ({ ...r, createdDirs: r.createdDirs.map((d) => d.slice(this.prefix.length) || "/") }));
  }
  remove(p: string): Promise<boolean> {
    return this.inner.remove(this.p(p), this.confine());
  }
  removeDirIfEmpty(p: string): Promise<boolean> {
    return this.inner.removeDirIfEmpty(this.p(p), this.confine());
  }
  list(dir: string, opts?: ReadOptions): Promise<string[] | undefined> {
    return this.inner.list(this.p(dir), this.confineRead(opts));
  }
  mkdirp(dir: string, mode?: number): Promise<string[]> {
    return this.inner.mkdirp(this.p(dir), mode, this.confine()).then((ds) => ds.map((d) => d.slice(this.prefix.length) || "/"));
  }
  exec(argv: string[], opts?: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> }): Promise<ExecResult> {
    return this.inner.exec(argv, opts);
  }
  async close(): Promise<void> {}
}

function must(r: ExecResult, host: Transport, what: string): string {
  if (r.code !== 0) throw new TransportError(host.description, what, "", (r.stderr || r.stdout).trim() || `exit ${r.code}`);
  return r.stdout.trim();
}


/** What a mounted network file system offers to the work function. */
export interface Mounted {
  /** paths are paths on the volume (`/netboot/images/compute/image-....tar.gz`) */
  fs: Transport;
  /** the host path a volume path is mounted at (for commands run on the host through `fs.exec`) */
  hostPath(volumePath: string): string;
}

/**
 * Mounts `spec` on `host`, runs `work`, unmounts. Fails with the host, the source and the client's own words
 * (the glusterfs log tail, mount.nfs's message) when the mount does not come up within `timeoutMs`.
 */
export async function withNetworkFs<T>(host: Transport, spec: NetworkFs, work: (m: Mounted) => Promise<T>, opts: { timeoutMs?: number } = {}): Promise<T> {
  const tool = spec.kind === "glusterfs" ? "glusterfs" : "mount.nfs";
  const has = await host.exec(["sh", "-c", `command -v ${tool} || test -x /sbin/${tool} || test -x /usr/sbin/${tool}`]);
  if (has.code !== 0) throw new TransportError(host.description, "mount", spec.kind, `${tool} is not installed on this host: run 'apt-get install ${debianPackage(tool)}'`);
  // the kernel side: FUSE for the glusterfs client, an NFSv4 client for nfs (loaded on demand when it is a module)
  const kernel = spec.kind === "glusterfs"
    ? await host.exec(["sh", "-c", "test -c /dev/fuse || modprobe -q fuse 2>/dev/null; test -c /dev/fuse"])
    : await host.exec(["sh", "-c", "grep -qw nfs4 /proc/filesystems || modprobe -q nfsv4 2>/dev/null; grep -qw nfs4 /proc/filesystems"]);
  if (kernel.code !== 0)
    throw new TransportError(host.description, "mount", spec.kind === "glusterfs" ? "the GlusterFS volume" : spec.export, spec.kind === "glusterfs"
      ? "this host has no /dev/fuse (FUSE), which the glusterfs client needs: load the fuse module, or publish from another host (BootImage publishHost), or set publishImage: false and put the image on the volume yourself"
      : "the kernel of this host has no NFSv4 client (no nfs4 in /proc/filesystems, `modprobe nfsv4` failed): publish from a host whose kernel has one (BootImage publishHost), or set publishImage: false and put the image on the export yourself");
  const dir = must(await host.exec(["mktemp", "-d", "/tmp/netboot-netfs.XXXXXX"]), host, "mktemp");
  const mnt = `${dir}/mnt`;
  const log = `${dir}/client.log`;
  const source = spec.kind === "glusterfs" ? "the GlusterFS volume (client volfile)" : spec.export;
  let mounted = false;
  try {
    must(await host.exec(["mkdir", "-m", "0700", mnt]), host, "mkdir");
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    if (spec.kind === "glusterfs") {
      const vol = `${dir}/client.vol`;
      must(await host.exec(["sh", "-c", 'umask 077 && cat > "$1"', "sh", vol], { input: spec.volfile }), host, "write volfile");
      const r = await host.exec(["glusterfs", `--volfile=${vol}`, `--log-file=${log}`, "--process-name=netboot-publish", mnt]);
      if (r.code !== 0) throw new Error(`glusterfs exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
      mounted = true;
      // The client daemonizes before the graph is up: wait until the FUSE root answers with the volume's root
      // (inode 1) and the bricks are connected (a listing succeeds).
      for (;;) {
        const s = await host.exec(["sh", "-c", 'test "$(stat -c %i "$1")" = 1 && ls -a "$1" >/dev/null', "sh", mnt], { timeoutMs: 20_000 });
        if (s.code === 0) break;
        if (Date.now() > deadline) {
          const tail = await host.exec(["tail", "-n", "8", log]);
          throw new Error(`the volume did not come up within ${Math.round((opts.timeoutMs ?? 60_000) / 1000)} s (are the bricks running and reachable from this host?); glusterfs log:\n${tail.stdout.trim()}`);
        }
        await sleep(500);
      }
    } else {
      const r = await host.exec(["mount", "-t", NFS_MOUNT.type, "-o", `${NFS_MOUNT.options},soft,timeo=100,retrans=2,retry=0`, spec.export, mnt], { timeoutMs: opts.timeoutMs ?? 60_000 });
      if (r.code !== 0) throw new Error(`mount -t ${NFS_MOUNT.type} ${spec.export} failed: ${(r.stderr || r.stdout).trim()}`);
      mounted = true;
    }
  } catch (e) {
    await unmount();
    if (e instanceof TransportError) throw e;
    throw new TransportError(host.description, "mount", source, (e as Error).message);
  }
  // A local host's target root does not apply: the mount point is a real folder of this machine.
  const direct = host instanceof LocalTransport ? new LocalTransport() : host;
  const fs = new PrefixTransport(direct, mnt, `(${spec.kind} ${spec.kind === "nfs" ? spec.export : "volume"})`);
  try {
    return await work({ fs, hostPath: (p) => mnt + p });
  } finally {
    await unmount();
  }

  async function unmount(): Promise<void> {
    if (mounted) {
      mounted = false;
      const u = await host.exec(["umount", mnt], { timeoutMs: 30_000 });
      if (u.code !== 0) await host.exec(["umount", "-l", mnt], { timeoutMs: 30_000 });
    }
    await host.exec(["rm", "-rf", "--one-file-system", dir]);
  }
}
