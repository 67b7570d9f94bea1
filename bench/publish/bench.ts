/**
 * Publishing benchmark: netboot's NetworkImage (what `pulumi up` runs to put a hybrid OS image on a GlusterFS
 * volume) against what an admin does by hand: `tar` + `cp -a` onto a FUSE mount, and `rsync -a` onto it.
 * One run, side by side, same source, same standalone brick (glusterfsd -f on 127.0.0.1 inside a private
 * network namespace this script creates and removes). Three rounds: first publish, unchanged, one file changed.
 * For ours, "unchanged" is check() + diff(), all `pulumi up` does when nothing changed.
 * Usage: see bench/publish/README.md.
 */
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ProviderContext } from "../../provider/context";
import { networkImageHandler as networkImageHandlerOf } from "../../provider/resources/networkImage";
import { debianPackage } from "../../provider/util/debian";
import { parseCli } from "../../scripts/_cli";

// No flags (a stray argument is a mistake); checked again inside the namespace, where it is the same argv.
parseCli("bench:publish", "usage: npm run bench:publish", {});

const NS = `nbbench${process.pid % 100000}`;
const PORT = 24999;
const FIX = path.join(__dirname, "../../test/build/fixtures");
const HYBRID = ["/usr/share/doc", "/usr/share/zoneinfo", "/usr/share/i18n"];
const URN = "urn:pulumi:bench::bench::netboot:index:BootImage$netboot:index:NetworkImage::bench-image";

function need(cmd: string) {
  if (spawnSync("sh", ["-c", `command -v ${cmd}`]).status !== 0) throw new Error(`${cmd} is missing: run 'apt-get install ${debianPackage(cmd)}'`);
}

const sh = (cmd: string) => execFileSync("bash", ["-c", cmd], { encoding: "utf8", maxBuffer: 1 << 28 });
const secs = async (f: () => unknown) => {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "netboot-bench-publish-"));
  process.env.NETBOOT_CACHE_DIR = path.join(work, "cache");
  const brick = path.join(work, "brick");
  fs.mkdirSync(brick);
  const sub = (t: string) => t.replace(/@BRICK@/g, brick).replace(/@PORT@/g, String(PORT)).replace(/@HOST@/g, "127.0.0.1");
  fs.writeFileSync(path.join(work, "brick.vol"), sub(fs.readFileSync(path.join(FIX, "brick.vol"), "utf8")));
  const volfile = sub(fs.readFileSync(path.join(FIX, "client.vol"), "utf8"));
  const brickProc = spawn("glusterfsd", ["-N", "-f", path.join(work, "brick.vol"), "-l", path.join(work, "brick.log"), "--brick-port", String(PORT)], { stdio: "ignore" });
  const mnt = path.join(work, "mnt");
  fs.mkdirSync(mnt);
  try {
    // the source: busybox + init + python's library in RAM, docs, zoneinfo and locales data on the volume
    const src = path.join(work, "src");
    sh(`mkdir -p ${src}/sbin ${src}/bin ${src}/usr/lib ${src}/usr/share && cp -a /usr/lib/python3 ${src}/usr/lib/ && cp "$(command -v busybox)" ${src}/bin/busybox && ln -s ../bin/busybox ${src}/sbin/init`);
    for (const h of HYBRID) sh(`cp -a ${h} ${src}${h}`);
    const files = Number(sh(`find ${src} -type f | wc -l`).trim());
    const mb = Number(sh(`du -sm ${src} | cut -f1`).trim());
    await new Promise((r) => setTimeout(r, 1500));
    const inputs = {
      host: {}, name: "bench",
      spec: { kernelPath: "/boot/vmlinuz-" + fs.readdirSync("/lib/modules").sort().pop(), imageSource: src, transport: "glusterfs", glusterVolfile: volfile, imagePath: "/images/ours", mode: "hybrid", hybridPaths: HYBRID },
    };

    // --- ours
    const ctx = new ProviderContext();
    const networkImageHandler = networkImageHandlerOf(ctx);
    let outs: Record<string, unknown> = {};
    const oursFirst = await secs(async () => {
      const c = await networkImageHandler.check(URN, {}, inputs);
      outs = (await networkImageHandler.create(URN, c.inputs)).outs;
    });
    const oursSame = await secs(async () => {
      const c = await networkImageHandler.check(URN, outs, inputs);
      const d = await networkImageHandler.diff("id", URN, outs, c.inputs);
      if (d.changes) throw new Error(`unchanged inputs reported changes: ${JSON.stringify(d.detailedDiff)}`);
    });
    const touched = `${src}/usr/share/doc/netboot-bench.txt`;
    fs.writeFileSync(touched, "one changed file\n");
    const oursOne = await secs(async () => {
      const c = await networkImageHandler.check(URN, outs, inputs);
      const d = await networkImageHandler.diff("id", URN, outs, c.inputs);
      if (!d.changes) throw new Error("a changed file was not seen");
      outs = (await networkImageHandler.update("id", URN, outs, c.inputs)).outs;
    });
    fs.rmSync(touched);

    // --- by hand, through one FUSE mount (mounting is counted once, in the first round)
    const excludes = HYBRID.map((h) => `--exclude=.${h}`).join(" ");
    fs.writeFileSync(path.join(work, "client.vol"), volfile);
    const mountFile = () => sh(`glusterfs -f ${path.join(work, "client.vol")} -l ${work}/client.log ${mnt} && for i in $(seq 60); do [ "$(stat -c %i ${mnt})" = 1 ] && ls ${mnt} >/dev/null 2>&1 && break; sleep 0.5; done`);
    const cpRound = (dest: string) => sh(`mkdir -p ${dest}/root && tar -C ${src} ${excludes} -czf ${dest}/image.tar.gz . && for h in ${HYBRID.join(" ")}; do mkdir -p ${dest}/root$(dirname $h) && cp -a ${src}$h ${dest}/root$(dirname $h)/; done`);
    const rsyncRound = (dest: string) => sh(`mkdir -p ${dest}/root && tar -C ${src} ${excludes} -czf ${work}/image.tar.gz . && rsync -a ${work}/image.tar.gz ${dest}/ && rsync -aR --delete ${HYBRID.map((h) => `${src}/.${h}`).join(" ")} ${dest}/root/`);
    const cpFirst = await secs(() => (mountFile(), cpRound(`${mnt}/images/cp`)));
    const cpSame = await secs(() => cpRound(`${mnt}/images/cp`));
    const rsFirst = await secs(() => rsyncRound(`${mnt}/images/rsync`));
    const rsSame = await secs(() => rsyncRound(`${mnt}/images/rsync`));
    fs.writeFileSync(touched, "one changed file\n");
    const cpOne = await secs(() => cpRound(`${mnt}/images/cp`));
    const rsOne = await secs(() => rsyncRound(`${mnt}/images/rsync`));
    fs.rmSync(touched);
    sh(`umount ${mnt}`);

    const r = (a: number, b: number) => (a / b).toFixed(3);
    console.log(`source: ${files} files, ${mb} MB; hybrid ${HYBRID.join(" ")}; one standalone brick on 127.0.0.1 (FUSE client)`);
    console.log(`${"".padEnd(28)} ${"ours".padStart(8)} ${"tar+cp -a".padStart(10)} ${"tar+rsync".padStart(10)}   ours/cp  ours/rsync`);
    for (const [what, o, c, s] of [["first publish", oursFirst, cpFirst, rsFirst], ["unchanged (second up)", oursSame, cpSame, rsSame], ["one file changed", oursOne, cpOne, rsOne]] as [string, number, number, number][])
      console.log(`${what.padEnd(28)} ${o.toFixed(2).padStart(7)}s ${c.toFixed(2).padStart(9)}s ${s.toFixed(2).padStart(9)}s   ${r(o, c).padStart(7)}  ${r(o, s).padStart(10)}`);
    console.log(`ours: a change makes a new generation (root-<sha12>/) from hard links to the previous one plus the changed entries (round 3 sent ${(outs.lastPublish as { treeEntriesSent: number }).treeEntriesSent} of ${files}); the previous generation is kept for running nodes`);
  } finally {
    spawnSync("umount", [mnt]);
    const exited = new Promise((r) => brickProc.once("exit", r));
    brickProc.kill("SIGTERM");
    await exited;
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (!process.env.NETBOOT_BENCH_NS) {
  // outside: make the namespace, run this script inside it, remove the namespace
  for (const c of ["glusterfsd", "glusterfs", "rsync", "ip"]) need(c);
  execFileSync("ip", ["netns", "add", NS]);
  try {
    execFileSync("ip", ["-n", NS, "link", "set", "lo", "up"]);
    const r = spawnSync("ip", ["netns", "exec", NS, process.execPath, ...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit", env: { ...process.env, NETBOOT_BENCH_NS: NS } });
    process.exitCode = r.status ?? 1;
  } finally {
    spawnSync("ip", ["netns", "del", NS]);
  }
} else {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
