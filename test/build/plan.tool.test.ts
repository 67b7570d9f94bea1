import * as fs from "fs";
import * as path from "path";
import { Issues } from "../../provider/model/errors";
import { buildBootImageModel } from "../../provider/model/bootImage";
import { planInitramfs } from "../../provider/build/plan";
import { archive } from "../../provider/build/initramfs";
import { readCpio } from "../../provider/render/cpio";
import { tmpDir } from "../helpers/env";

const KVER = fs.readdirSync("/lib/modules").filter((v) => fs.existsSync(`/boot/vmlinuz-${v}`)).sort().pop()!;
const VOL = fs.readFileSync(path.join(__dirname, "fixtures/client.vol"), "utf8").replace(/@HOST@/g, "10.89.43.1").replace(/@PORT@/g, "24903").replace(/@BRICK@/g, "/b");
const image = tmpDir("plan-image");
fs.mkdirSync(path.join(image, "sbin"));
fs.writeFileSync(path.join(image, "sbin/init"), "#!/bin/sh\n");

function plan(args: any) {
  const issues = new Issues('netboot:index:BootImage "t"');
  const m = buildBootImageModel("t", { kernelVersion: KVER, imageSource: image, transport: "glusterfs", glusterVolfile: VOL, ...args }, issues);
  return { plan: m && planInitramfs(m, issues), issues: issues.list };
}

describe("initramfs build plan", () => {
  test("exactly the volfile's xlators plus fuse, meta and socket; aliases with targets; reasons in the manifest", () => {
    const { plan: p, issues } = plan({});
    expect(issues).toEqual([]);
    const xl = p!.files.filter((f) => /\/glusterfs\/[^/]+\/(xlator|rpc-transport)\//.test(f.path)).map((f) => f.path.replace(/.*\/glusterfs\/[^/]+\//, "")).sort();
    expect(xl).toEqual([
      "rpc-transport/socket.so", "xlator/cluster/dht.so", "xlator/cluster/distribute.so", "xlator/debug/io-stats.so", "xlator/features/utime.so", "xlator/meta.so",
      "xlator/mount/fuse.so", "xlator/performance/md-cache.so", "xlator/performance/open-behind.so", "xlator/performance/quick-read.so",
      "xlator/performance/write-behind.so", "xlator/protocol/client.so",
    ]);
    expect(p!.manifest).toMatch(/libgcc_s\.so\.1\tfile\t.*loaded by glibc at run time/);
    expect(p!.manifest).toMatch(/fuse\.ko\tfile\t.*FUSE for the glusterfs client/);
    expect(p!.manifest).toMatch(/failover\.ko\tfile\t.*module dependency of net_failover/);
    expect(p!.manifest).toMatch(/\/etc\/netboot\/client\.vol\tfile\t.*the client volfile/);
  });

  test("a replicated volume's nodes each read from their own replica; a read policy the volume sets itself is kept", () => {
    const rep = (extra: string) => `volume r-client-0\n    type protocol/client\n    option remote-host 10.89.43.1\n    option remote-subvolume /b\nend-volume\n` +
      `volume r-client-1\n    type protocol/client\n    option remote-host 10.89.43.2\n    option remote-subvolume /b\nend-volume\n` +
      `volume r-replicate-0\n    type cluster/replicate\n${extra}    subvolumes r-client-0 r-client-1\nend-volume\n`;
    const init = (args: any) => plan(args).plan!.files.find((f) => f.path === "/init")!.content!.toString();
    expect(init({ glusterVolfile: rep("") })).toContain("--xlator-option=r-replicate-0.read-subvolume-index=$((n % 2))");
    expect(init({ glusterVolfile: rep("    option read-hash-mode 2\n") })).not.toContain("gluster_read_opts");
    // the volfile itself is baked as the GlusterVolume gave it
    expect(plan({ glusterVolfile: rep("") }).plan!.files.find((f) => f.path === "/etc/netboot/client.vol")!.content!.toString()).toBe(rep(""));
  });

  test("the same inputs give the same digest and byte-identical archives; a changed volfile changes both", () => {
    const a = plan({}).plan!;
    const b = plan({}).plan!;
    expect(a.initrdDigest).toBe(b.initrdDigest);
    expect(archive(a).equals(archive(b))).toBe(true);
    const c = plan({ glusterVolfile: VOL.replace("option ping-timeout 42", "option ping-timeout 10") }).plan!;
    expect(c.initrdDigest).not.toBe(a.initrdDigest);
    const names = readCpio(archive(a)).map((e) => e.name);
    expect(names).toEqual([...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
  });

  test("validation: a missing xlator by name, kernel/modules mismatch, bad enums - all at once", () => {
    const { plan: p, issues } = plan({ glusterVolfile: VOL.replace("type performance/open-behind", "type performance/no-such-xlator"), modules: ["no_such_module"] });
    expect(p).toBeUndefined();
    const text = issues.map((i) => `${i.field}=${JSON.stringify(i.value)}: ${i.message}`).join("\n");
    expect(text).toMatch(/glusterVolfile="performance\/no-such-xlator": names xlator performance\/no-such-xlator, which the build host lacks .*failed to construct the graph/);
    expect(text).toMatch(/modules\[0\]="no_such_module": is not a module of kernel/);

    const other = tmpDir("plan-mods");
    fs.writeFileSync(path.join(other, "modules.dep"), "kernel/x.ko:\n");
    fs.mkdirSync(path.join(other, "kernel"));
    fs.copyFileSync(`/lib/modules/${KVER}/kernel/fs/fuse/fuse.ko`, path.join(other, "kernel/x.ko"));
    fs.writeFileSync(path.join(other, "kernel/x.ko"), Buffer.concat([Buffer.from("\0vermagic=5.10.0-9-amd64 SMP mod_unload\0")]));
    const mm = plan({ modulesDir: other }).issues.map((i) => i.message).join("\n");
    expect(mm).toMatch(/holds modules of kernel 5\.10\.0-9-amd64 but the kernel is /);

    const bad = new Issues("t");
    buildBootImageModel("t", { transport: "ftp", mode: "disk", compression: "lz9", imageSource: "rel/path", kernelVersion: KVER }, bad);
    expect(bad.list.map((i) => i.field).sort()).toEqual(["compression", "imageSource", "mode", "transport"]);
    // the lists are the schema's enums
    expect(bad.list.find((i) => i.field === "compression")?.message).toBe("must be one of `gzip`, `xz`, `zstd`");
  });

  test("NIC drivers: the default set covers common server NICs; one the kernel lacks is left out with a note, one named in nicModules is an error", () => {
    const names = (p: NonNullable<ReturnType<typeof plan>["plan"]>) => p.files.filter((f) => f.path.endsWith(".ko") || /\.ko\.(xz|zst|gz)$/.test(f.path)).map((f) => path.basename(f.path).replace(/\.ko.*$/, ""));
    const all = plan({}).plan!;
    for (const m of ["virtio_net", "e1000e", "igb", "igc", "ixgbe", "i40e", "ice", "tg3", "bnxt_en", "mlx5_core"]) expect(names(all)).toContain(m);
    expect(all.notes).toEqual([]);
    // nicModules replaces the set
    const vm = plan({ nicModules: ["virtio_pci", "virtio_net"] }).plan!;
    expect(names(vm)).toContain("virtio_net");
    expect(names(vm)).not.toContain("mlx5_core");
    expect(vm.files.length).toBeLessThan(all.files.length);

    // a kernel without mlx5_core (a modules folder whose modules.dep lacks it, as a cloud kernel's does)
    const lean = tmpDir("plan-lean");
    const dep = fs.readFileSync(`/lib/modules/${KVER}/modules.dep`, "utf8").split("\n").filter((l) => !/mlx5/.test(l.split(":")[0])).join("\n");
    fs.writeFileSync(path.join(lean, "modules.dep"), dep);
    fs.copyFileSync(`/lib/modules/${KVER}/modules.builtin`, path.join(lean, "modules.builtin"));
    fs.symlinkSync(`/lib/modules/${KVER}/kernel`, path.join(lean, "kernel"));
    const left = plan({ modulesDir: lean });
    expect(left.issues).toEqual([]);
    expect(left.plan!.notes).toEqual([`default NIC driver mlx5_core is not a module of kernel ${KVER}: left out (set nicModules to choose the drivers)`]);
    expect(names(left.plan!)).not.toContain("mlx5_core");
    const named = plan({ modulesDir: lean, nicModules: ["virtio_net", "mlx5_core"] });
    expect(named.plan).toBeUndefined();
    expect(named.issues.map((i) => `${i.field}=${i.value}: ${i.message}`)).toEqual([`nicModules[1]=mlx5_core: is not a module of kernel ${KVER} (not in ${lean}/modules.dep or modules.builtin)`]);
    const bad = new Issues("t");
    buildBootImageModel("t", { imageSource: image, kernelVersion: KVER, transport: "http", nicModules: ["ok_name", "bad name"] }, bad);
    expect(bad.list.map((i) => `${i.field}=${i.value}`)).toEqual(["nicModules[1]=bad name"]);
  });

  test("a kernel release the build host lacks: each issue names kernelVersion with its own value, not a folder made from it", () => {
    const { plan: p, issues } = plan({ kernelVersion: "9.9.9-nb-missing" });
    expect(p).toBeUndefined();
    const kv = issues.filter((x) => x.field === "kernelVersion");
    expect(kv.map((x) => x.message)).toEqual([
      "/boot/vmlinuz-9.9.9-nb-missing does not exist on the build host (this machine) (install the linux-image package of that release)",
      "/lib/modules/9.9.9-nb-missing/modules.dep does not exist on the build host (the modules of kernel 9.9.9-nb-missing)",
    ]);
    expect(kv.map((x) => x.value)).toEqual(["9.9.9-nb-missing", "9.9.9-nb-missing"]);
  });
});
