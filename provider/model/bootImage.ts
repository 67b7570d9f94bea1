/**
 * The validated model of a boot image (pure: no fs). Build-host facts (does the kernel exist, does the
 * volfile name an xlator the host lacks) are checked by the build plan (`provider/build/plan.ts`), which
 * runs in the Initramfs resource's check() so `pulumi preview` fails before anything is written.
 */
import * as path from "path";
import { checkAbsPath, checkSafe, Issues, KERNEL_ARGS_MAX } from "./errors";
import { isSafeName, parseIPv4 } from "./net";
import { parseVolfile, VolfileParseError, xlatorTypes } from "../render/volfileParse";
import { Handoff, Mode, OnFailure, Transport } from "../render/init";

export type Compression = "gzip" | "xz" | "zstd";

export interface BootImageModel {
  name: string;
  kernelVersion?: string;
  kernelPath?: string;
  modulesDir?: string;
  imageSource: string;
  transport: Transport;
  glusterVolfile?: string;
  /** xlator types the volfile names (`cluster/replicate`, ...) */
  xlators: string[];
  nfsExport?: string;
  /** folder on the network file system holding image.tar.gz (and root/ in hybrid mode) */
  imagePath?: string;
  mode: Mode;
  hybridPaths: string[];
  handoff: Handoff;
  modules: string[];
  compression: Compression;
  onFailure: OnFailure;
  kernelArgs: string;
}

/** NIC drivers every image gets (QEMU/KVM virtio, Intel e1000/e1000e/igb); add yours with `modules`. */
export const DEFAULT_NIC_MODULES = ["virtio_pci", "virtio_net", "e1000", "e1000e", "igb"];

function oneOf<T extends string>(issues: Issues, field: string, v: unknown, allowed: readonly T[], dflt?: T): T {
  if ((v === undefined || v === null || v === "") && dflt !== undefined) return dflt;
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    issues.add(field, v, `must be one of ${allowed.map((a) => `\`${a}\``).join(", ")}`);
    return (dflt ?? allowed[0]) as T;
  }
  return v as T;
}

const MODULE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Builds the model from resolved BootImage args; every problem goes to `issues`. */
export function buildBootImageModel(name: string, a: any, issues: Issues): BootImageModel | undefined {
  if (!isSafeName(name)) issues.add("name", name, "must be a lower-case DNS label (it names published files)");
  const transport = oneOf(issues, "transport", a.transport, ["glusterfs", "nfs", "http"] as const);
  const mode = oneOf(issues, "mode", a.mode, ["ram", "hybrid"] as const, "ram");
  const handoff = oneOf(issues, "handoff", a.handoff, ["switch_root", "kexec"] as const, "switch_root");
  const compression = oneOf(issues, "compression", a.compression, ["gzip", "xz", "zstd"] as const, "zstd");
  const onFailure = oneOf(issues, "onFailure", a.onFailure, ["shell", "reboot"] as const, "shell");

  if (a.kernelVersion === undefined && a.kernelPath === undefined) issues.add("kernelVersion", undefined, "give kernelVersion (e.g. 6.1.0-56-amd64) or kernelPath");
  if (a.kernelVersion !== undefined && !(typeof a.kernelVersion === "string" && /^[A-Za-z0-9._+-]{1,64}$/.test(a.kernelVersion)))
    issues.add("kernelVersion", a.kernelVersion, "must be a kernel release such as 6.1.0-56-amd64");
  if (a.kernelPath !== undefined) checkAbsPath(issues, "kernelPath", a.kernelPath);
  if (a.modulesDir !== undefined) checkAbsPath(issues, "modulesDir", a.modulesDir);
  checkAbsPath(issues, "imageSource", a.imageSource);

  const server = a.server;
  if (!server || typeof server !== "object" || typeof server.httpRoot !== "string" || typeof server.httpBaseUrl !== "string")
    issues.add("server", server, "must be a PxeServer's `info` output (with host, httpRoot, httpBaseUrl)");

  let xlators: string[] = [];
  const transportOk = transport === a.transport; // an invalid transport is reported once, not as its fallback's errors
  if (transport === "glusterfs" && transportOk) {
    if (typeof a.glusterVolfile !== "string" || !a.glusterVolfile.trim()) issues.add("glusterVolfile", a.glusterVolfile, "is required with transport glusterfs (a GlusterVolume's clientVolfile)");
    else {
      try {
        xlators = xlatorTypes(parseVolfile(a.glusterVolfile));
        for (const x of xlators)
          if (!/^[a-z0-9_-]+(\/[a-z0-9_-]+)?$/.test(x)) issues.add("glusterVolfile", x, "names an xlator type that is not `category/name`");
      } catch (e) {
        if (e instanceof VolfileParseError) issues.add("glusterVolfile", undefined, e.message);
        else throw e;
      }
    }
  } else if (a.glusterVolfile !== undefined) issues.add("glusterVolfile", "(set)", `is only used with transport glusterfs, not ${transport}`);

  if (transport === "nfs") {
    const m = typeof a.nfsExport === "string" ? /^([^:]+):(\/.*)$/.exec(a.nfsExport) : null;
    if (!m || parseIPv4(m[1]) === undefined || !checkAbsPath(new Issues(""), "", m[2]))
      issues.add("nfsExport", a.nfsExport, "must be `IPv4:/export` (the initramfs has no name service before the mount)");
  } else if (a.nfsExport !== undefined) issues.add("nfsExport", a.nfsExport, `is only used with transport nfs, not ${transport}`);

  let imagePath: string | undefined;
  if (transport !== "http") {
    imagePath = a.imagePath ?? `/netboot/images/${name}`;
    checkAbsPath(issues, "imagePath", imagePath);
    if (imagePath === "/") issues.add("imagePath", imagePath, "must be a folder below the volume's root");
    imagePath = imagePath === undefined ? undefined : path.posix.normalize(imagePath).replace(/\/$/, "");
  } else if (a.imagePath !== undefined) issues.add("imagePath", a.imagePath, "is only used with glusterfs or nfs (http serves the image from the PxeServer)");

  const hybridPaths: string[] = [];
  if (mode === "hybrid") {
    if (transport === "http") issues.add("mode", mode, "hybrid needs a network file system (glusterfs or nfs), not http");
    if (!Array.isArray(a.hybridPaths) || a.hybridPaths.length === 0) issues.add("hybridPaths", a.hybridPaths, "hybrid mode needs at least one path (e.g. /usr/share)");
    for (const [i, p] of ((Array.isArray(a.hybridPaths) ? a.hybridPaths : []) as unknown[]).entries()) {
      if (!checkAbsPath(issues, `hybridPaths[${i}]`, p)) continue;
      const n = path.posix.normalize(p as string).replace(/\/$/, "");
      if (n === "" || ["/", "/proc", "/sys", "/dev", "/run", "/etc", "/sbin", "/bin", "/lib", "/usr"].includes(n))
        issues.add(`hybridPaths[${i}]`, p, "must be a folder the image can live without in RAM (not /, /etc, /usr, /bin, /sbin, /lib or a kernel file system)");
      else hybridPaths.push(n);
    }
  } else if (a.hybridPaths !== undefined && a.hybridPaths.length) issues.add("hybridPaths", a.hybridPaths, "is only used with mode hybrid");

  const modules: string[] = [];
  for (const [i, m] of ((a.modules ?? []) as unknown[]).entries()) {
    if (typeof m !== "string" || !MODULE_NAME.test(m)) issues.add(`modules[${i}]`, m, "must be a kernel module name such as ixgbe");
    else modules.push(m);
  }
  const kernelArgs = a.kernelArgs ?? "";
  // The same rule as NodeGroup's boot.args, which these arguments become (iPXE reads `;` and `#`).
  if (kernelArgs) checkSafe(issues, "kernelArgs", kernelArgs, { semicolons: false, max: KERNEL_ARGS_MAX });

  if (!issues.ok) return undefined;
  return {
    name, kernelVersion: a.kernelVersion, kernelPath: a.kernelPath, modulesDir: a.modulesDir, imageSource: a.imageSource,
    transport, glusterVolfile: a.glusterVolfile, xlators, nfsExport: a.nfsExport, imagePath, mode, hybridPaths: [...new Set(hybridPaths)].sort(),
    handoff, modules, compression, onFailure, kernelArgs,
  };
}
