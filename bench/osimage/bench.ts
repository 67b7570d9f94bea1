/**
 * OsImage build benchmark: netboot's OsImage (what `pulumi up` runs: check, then create) against a plain
 * `mmdebstrap` of the same inputs (the same argv, package cache hooks included), in one run, as ratios.
 * Rounds:
 *   plain      mmdebstrap into a temp folder (the baseline; it also fills the package cache for both)
 *   first      OsImage check + create with an empty image cache: mmdebstrap, then the root's digest and packages
 *   no change  check + diff, all `pulumi preview` and `pulumi up` run when the inputs are unchanged
 *   cache hit  check + create with the root in the cache (a new stack or a lost state): the root re-hashed, no build
 * Inputs: bookworm minbase + systemd-sysv, udev, openssh-server, iproute2 (the integrator's reference build).
 * Run as root (needs mmdebstrap). Usage: npm run bench:osimage
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ProviderContext } from "../../provider/context";
import { mmdebstrapCommand } from "../../provider/build/osImage";
import { aptArchiveCache, machineMirror } from "../../provider/build/osImageBuild";
import { Issues } from "../../provider/model/errors";
import { buildOsImageModel, DebianModel } from "../../provider/model/osImage";
import { osImageHandler } from "../../provider/resources/osImage";
import { OsImageOutputs } from "../../provider/schema-types";
import { parseCli } from "../../scripts/_cli";

parseCli("bench:osimage", "usage: npm run bench:osimage", {});

const URN = "urn:pulumi:bench::bench::netboot:index:OsImage::bench";
const INPUTS = { debian: { suite: "bookworm", packages: ["systemd-sysv", "udev", "openssh-server", "iproute2"] } };

const secs = async (f: () => unknown) => {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};

async function main() {
  if (spawnSync("sh", ["-c", "command -v mmdebstrap"]).status !== 0) throw new Error("mmdebstrap is missing: run 'apt-get install -y mmdebstrap'");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "netboot-bench-osimage-"));
  process.env.NETBOOT_OSIMAGE_CACHE = path.join(work, "osimages");
  try {
    const issues = new Issues("bench");
    const model = buildOsImageModel(INPUTS, issues) as DebianModel;
    const mirror = machineMirror();
    if (!model || !mirror) throw new Error(`bench inputs: ${JSON.stringify(issues.list)} (mirror ${mirror})`);
    const plainRoot = path.join(work, "plain");
    const filesDir = path.join(work, "files");
    fs.mkdirSync(filesDir);
    fs.mkdirSync(aptArchiveCache(), { recursive: true });
    const { argv, env } = mmdebstrapCommand({ ...model, mirror }, { target: plainRoot, aptCache: aptArchiveCache(), filesDir });
    const plain = await secs(() => {
      const r = spawnSync(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
      if (r.status !== 0) throw new Error(`mmdebstrap failed: ${r.stderr}`);
    });
    const mb = Number(spawnSync("du", ["-sm", plainRoot], { encoding: "utf8" }).stdout.split("\t")[0]);
    fs.rmSync(plainRoot, { recursive: true, force: true });

    const h = osImageHandler(new ProviderContext({ progress: { report: () => undefined } }));
    let outs = {} as OsImageOutputs;
    const first = await secs(async () => {
      const c = await h.check(URN, undefined, INPUTS);
      if (c.failures?.length) throw new Error(JSON.stringify(c.failures));
      outs = (await h.create(URN, c.inputs)).outs;
    });
    if (outs.lastBuild?.cached !== "false") throw new Error("the first build was served from a cache");
    let changes: boolean | undefined;
    const unchanged = await secs(async () => {
      const c = await h.check(URN, outs, INPUTS);
      changes = (await h.diff("id", URN, outs, c.inputs)).changes;
    });
    if (changes) throw new Error("unchanged inputs gave a change");
    let hit = {} as OsImageOutputs;
    const cacheHit = await secs(async () => {
      const c = await h.check(URN, undefined, INPUTS);
      hit = (await h.create(URN, c.inputs)).outs;
    });
    if (hit.lastBuild?.cached !== "true" || hit.digest !== outs.digest) throw new Error("the second create was not a cache hit of the same digest");

    const row = (name: string, s: number) => `| ${name} | ${s.toFixed(2)} s | ${(s / plain).toFixed(3)} |`;
    console.log(`OsImage build, bookworm minbase + ${INPUTS.debian.packages.join(", ")} (${mb} MB root, ${Object.keys(outs.packages).length} packages), ${os.cpus().length} CPUs`);
    console.log("| round | time | / plain mmdebstrap |\n| --- | --- | --- |");
    console.log([row("plain mmdebstrap", plain), row("OsImage first build", first), row("OsImage no change (check + diff)", unchanged), row("OsImage cache hit (check + create)", cacheHit)].join("\n"));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
