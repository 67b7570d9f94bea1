/**
 * The validated model of a boot image (pure: no fs). Build-host facts (does the kernel exist, does the
 * volfile name an xlator the host lacks) are checked by the build plan (`provider/build/plan.ts`), which
 * runs in the Initramfs resource's check() so `pulumi preview` fails before anything is written.
 */
import * as path from "path";
import { checkAbsPath, checkSafe, Issues, KERNEL_ARGS_MAX } from "./errors";
import { oneOf } from "./enums";
import { isSafeName, parseIPv4 } from "./net";
import { parseVolfile, VolfileGraph, VolfileParseError, xlatorTypes } from "./volfileParse";
import {
  BOOT_MODE_VALUES, BootMode, Compression, COMPRESSION_VALUES, Handoff, HANDOFF_VALUES, IMAGE_TRANSPORT_VALUES, ImageTransport, ON_FAILURE_VALUES, OnFailure,
} from "../schema-enums";
import type { BootImageSpec } from "../schema-types";

export type { Compression };

export interface BootImageModel {
  name: string;
  kernelVersion?: string;
  kernelPath?: string;
  modulesDir?: string;
  imageSource: string;
  transport: ImageTransport;
  glusterVolfile?: string;
  /** the volfile's graph, parsed once (here), so nothing downstream parses the text again; the build needs only `xlators` */
  volfileGraph?: VolfileGraph;
  /** xlator types the volfile names (`cluster/replicate`, ...) */
  xlators: string[];
  nfsExport?: string;
  /** folder on the network file system holding image.tar.gz (and root/ in hybrid mode) */
  imagePath?: string;
  mode: BootMode;
  hybridPaths: string[];
  handoff: Handoff;
  modules: string[];
  /** The NIC drivers to carry; undefined: DEFAULT_NIC_MODULES (whichever of them the kernel has). */
  nicModules?: string[];
  compression: Compression;
  onFailure: OnFailure;
  kernelArgs: string;
}

/**
 * The NIC drivers an image carries unless `nicModules` names its own: VMs (virtio, QEMU's e1000/e1000e) and the
 * common server NICs: Intel 1 GbE (igb, igc), 10 GbE (ixgbe), 10/25/40 GbE (i40e), 25/100 GbE (ice), Broadcom
 * NetXtreme (tg3) and NetXtreme-E (bnxt_en), NVIDIA/Mellanox ConnectX-4 and later (mlx5_core). Each comes with the
 * modules it needs (modules.dep). A default the kernel lacks is left out with a warning; docs/boot-images.md has
 * the sizes (the server drivers add 2.45 MB to the zstd initramfs with the Debian 12 kernel: 6.00 -> 8.45 MB).
 */
export const DEFAULT_NIC_MODULES = ["virtio_pci", "virtio_net", "e1000", "e1000e", "igb", "igc", "ixgbe", "i40e", "ice", "tg3", "bnxt_en", "mlx5_core"];

const MODULE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * What a spec is made of, for resources that must read one from older state or from a program that bypassed the
 * SDK's types: every field is checked here, so the static type is a promise, not a precondition.
 */
export type SpecLike = { [K in keyof BootImageSpec]?: unknown };

/**
 * Builds the model from a boot image's spec (the BootImage arguments without `server` and the publish/build
 * hosts, which are its own business); every problem goes to `issues`. With `parse: false` the volfile is taken
 * as it is (no graph, no xlators): for a resource that only mounts the volume (NetworkImage), whose volfile the
 * Initramfs check parses. With `partial: true` (some inputs unknown, so absent from `a`), rules that need a field
 * that may be among the unknown ones wait for the full check.
 */
export function buildBootImageModel(name: string, a: SpecLike, issues: Issues, opts: { parse?: boolean; partial?: boolean } = {}): BootImageModel | undefined {
  if (!isSafeName(name)) issues.add("name", name, "must be a lower-case DNS label (it names published files)");
  const transport = oneOf(issues, "transport", a.transport, IMAGE_TRANSPORT_VALUES);
  const mode = oneOf(issues, "mode", a.mode, BOOT_MODE_VALUES, "ram");
  const handoff = oneOf(issues, "handoff", a.handoff, HANDOFF_VALUES, "switch_root");
  const compression = oneOf(issues, "compression", a.compression, COMPRESSION_VALUES, "zstd");
  const onFailure = oneOf(issues, "onFailure", a.onFailure, ON_FAILURE_VALUES, "shell");

  // partial: some inputs are still unknown (a fresh stack's preview, kernelPath from an OsImage not built yet)
  // and missing here; the either-or rule waits for the check that sees them all
  if (a.kernelVersion === undefined && a.kernelPath === undefined && !opts.partial) issues.add("kernelVersion", undefined, "give kernelVersion (e.g. 6.1.0-56-amd64) or kernelPath");
  if (a.kernelVersion !== undefined && !(typeof a.kernelVersion === "string" && /^[A-Za-z0-9._+-]{1,64}$/.test(a.kernelVersion)))
    issues.add("kernelVersion", a.kernelVersion, "must be a kernel release such as 6.1.0-56-amd64");
  if (a.kernelPath !== undefined) checkAbsPath(issues, "kernelPath", a.kernelPath);
  if (a.modulesDir !== undefined) checkAbsPath(issues, "modulesDir", a.modulesDir);
  checkAbsPath(issues, "imageSource", a.imageSource);

  let xlators: string[] = [];
  let volfileGraph: VolfileGraph | undefined;
  const transportOk = transport === a.transport; // an invalid transport is reported once, not as its fallback's errors
  if (transport === "glusterfs" && transportOk) {
    if (typeof a.glusterVolfile !== "string" || !a.glusterVolfile.trim()) issues.add("glusterVolfile", a.glusterVolfile, "is required with transport glusterfs (a GlusterVolume's clientVolfile)");
    else if (opts.parse !== false) {
      try {
        volfileGraph = parseVolfile(a.glusterVolfile);
        xlators = xlatorTypes(volfileGraph);
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
    const given = a.imagePath ?? `/netboot/images/${name}`;
    if (checkAbsPath(issues, "imagePath", given)) {
      if (given === "/") issues.add("imagePath", given, "must be a folder below the volume's root");
      imagePath = path.posix.normalize(given as string).replace(/\/$/, "");
    }
  } else if (a.imagePath !== undefined) issues.add("imagePath", a.imagePath, "is only used with glusterfs or nfs (http serves the image from the PxeServer)");

  const hybridPaths: string[] = [];
  if (mode === "hybrid") {
    if (transport === "http") issues.add("mode", mode, "hybrid needs a network file system (glusterfs or nfs), not http");
    if (!Array.isArray(a.hybridPaths) || a.hybridPaths.length === 0) issues.add("hybridPaths", a.hybridPaths, "hybrid mode needs at least one path (e.g. /usr/share)");
    for (const [i, p] of ((Array.isArray(a.hybridPaths) ? a.hybridPaths : []) as unknown[]).entries()) {
      if (!checkAbsPath(issues, `hybridPaths[${i}]`, p)) continue;
      const n = path.posix.normalize(p as string).replace(/\/$/, "");
      // /usr may stay on the network: it is bind-mounted before the hand-off, as systemd requires of a separate
      // /usr. /etc must be in RAM (the init writes the node's name there); /bin, /sbin and /lib are links into /usr
      // on a merged-/usr image, and a bind mount over a link fails.
      if (n === "" || ["/", "/proc", "/sys", "/dev", "/run", "/etc", "/sbin", "/bin", "/lib", "/lib64"].includes(n))
        issues.add(`hybridPaths[${i}]`, p, "must be a folder the image can live without in RAM (not /, /etc, /bin, /sbin, /lib (list /usr instead) or a kernel file system)");
      else hybridPaths.push(n);
    }
  } else if (Array.isArray(a.hybridPaths) && a.hybridPaths.length) issues.add("hybridPaths", a.hybridPaths, "is only used with mode hybrid");

  const modules: string[] = [];
  for (const [i, m] of (Array.isArray(a.modules) ? (a.modules as unknown[]) : []).entries()) {
    if (typeof m !== "string" || !MODULE_NAME.test(m)) issues.add(`modules[${i}]`, m, "must be a kernel module name such as ixgbe");
    else modules.push(m);
  }
  if (a.modules !== undefined && !Array.isArray(a.modules)) issues.add("modules", a.modules, "must be a list of kernel module names");
  let nicModules: string[] | undefined;
  if (a.nicModules !== undefined) {
    if (!Array.isArray(a.nicModules)) issues.add("nicModules", a.nicModules, "must be a list of kernel module names (`[]` for none)");
    else {
      nicModules = [];
      for (const [i, m] of (a.nicModules as unknown[]).entries()) {
        if (typeof m !== "string" || !MODULE_NAME.test(m)) issues.add(`nicModules[${i}]`, m, "must be a kernel module name such as mlx5_core");
        else nicModules.push(m);
      }
    }
  }
  const kernelArgs = a.kernelArgs ?? "";
  // The same rule as NodeGroup's boot.args, which these arguments become (iPXE reads `;` and `#`).
  if (kernelArgs) checkSafe(issues, "kernelArgs", kernelArgs, { semicolons: false, max: KERNEL_ARGS_MAX });

  if (!issues.ok) return undefined;
  // every field below passed its check above: the casts narrow what was `unknown`
  const s = a as BootImageSpec;
  return {
    name, kernelVersion: s.kernelVersion, kernelPath: s.kernelPath, modulesDir: s.modulesDir, imageSource: s.imageSource,
    transport, glusterVolfile: s.glusterVolfile, volfileGraph, xlators, nfsExport: s.nfsExport, imagePath, mode, hybridPaths: [...new Set(hybridPaths)].sort(),
    handoff, modules, ...(nicModules ? { nicModules } : {}), compression, onFailure, kernelArgs: kernelArgs as string,
  };
}
