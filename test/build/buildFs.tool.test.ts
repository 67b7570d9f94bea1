/**
 * The remote build host's mirror (provider/build/buildFs.ts), with this machine standing in for the remote
 * (a LocalTransport runs the same `find`/`tar` commands an SSH host would): the plan through the mirror equals
 * the plan read directly, it settles in a few rounds, and a file that changes on the host is fetched again.
 */
import * as fs from "fs";
import * as path from "path";
import { LocalTransport } from "../../provider/transport/local";
import { BuildHosts } from "../../provider/build/buildFs";
import { planInitramfs } from "../../provider/build/plan";
import { buildBootImageModel } from "../../provider/model/bootImage";
import { Issues } from "../../provider/model/errors";
import { tmpDir } from "../helpers/env";
import { KVER } from "../helpers/osImage";

const FIX = path.join(__dirname, "fixtures");
// five plans that each hash a real kernel and modules: 14 s on a loaded 2-core machine, well past jest's 5 s
jest.setTimeout(180_000);

// Plans twice and mirrors the host's files: about 4 s here, more on a loaded machine, beyond jest's 5 s default.
jest.setTimeout(120_000);

test("a plan through the mirror equals the direct plan, and a changed file on the host is seen", async () => {
  const dir = tmpDir("buildfs");
  process.env.NETBOOT_CACHE_DIR = path.join(dir, "cache");
  fs.mkdirSync(path.join(dir, "img/sbin"), { recursive: true });
  fs.writeFileSync(path.join(dir, "img/vmlinuz"), "a kexec image needs a kernel of its own\n");
  const kernel = path.join(dir, "vmlinuz");
  fs.copyFileSync(`/boot/vmlinuz-${KVER}`, kernel);
  const volfile = fs.readFileSync(path.join(FIX, "client.vol"), "utf8").replace(/@HOST@/g, "10.0.0.1").replace(/@PORT@/g, "1").replace(/@BRICK@/g, "/b");
  const model = buildBootImageModel("m", { kernelVersion: KVER, kernelPath: kernel, imageSource: path.join(dir, "img"), transport: "glusterfs", glusterVolfile: volfile, handoff: "kexec" }, new Issues("m"))!;
  const issues = new Issues("m");
  const direct = planInitramfs(model, issues)!;
  expect(issues.list).toEqual([]);
  let rounds = 0;
  const hosts = new BuildHosts();
  const run = () => hosts.run(new LocalTransport(), "test-host", (bfs) => {
    rounds++;
    return planInitramfs(model, new Issues("m"), { fs: bfs });
  });
  const mirrored = await run();
  expect(mirrored).toBeDefined();
  expect(mirrored!.manifest).toBe(direct.manifest);
  expect(mirrored!.initrdDigest).toBe(direct.initrdDigest);
  expect(mirrored!.kernel.equals(direct.kernel)).toBe(true);
  expect(rounds).toBeLessThan(16);
  // everything is mirrored now: one plan, no fetch
  rounds = 0;
  await run();
  expect(rounds).toBe(1);
  // the kernel changes on the host: the mirror's check drops it, the plan fetches it again
  fs.appendFileSync(kernel, Buffer.from([1]));
  const after = await run();
  expect(after!.kernelSha256).not.toBe(direct.kernelSha256);
  expect(after!.kernel.length).toBe(direct.kernel.length + 1);
  // a mirrored copy lost on this machine (a cleaned cache) is fetched again, not read as missing
  const files = path.join(process.env.NETBOOT_CACHE_DIR!, "buildhosts");
  const mirrorDir = path.join(files, fs.readdirSync(files)[0], "files");
  fs.rmSync(path.join(mirrorDir, kernel));
  const again = await run();
  expect(again!.kernelSha256).toBe(after!.kernelSha256);
  // no time limit of its own: it reads and packs a real kernel, which takes seconds on a loaded machine
}, 300_000);
