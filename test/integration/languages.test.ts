/**
 * The examples in YAML, Python and Go, each run by the real `pulumi` CLI through its language host (YAML: Pulumi's
 * own pulumi-language-yaml built from the Go module proxy; Python and Go: netboot's toolchain/langhost), against
 * the netboot plugin and the generated SDKs: up -> files in the local target -> preview reports no changes ->
 * destroy leaves no file. Each example is copied to a temp folder; only the paths back to this repo are rewritten.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO, tmpDir, toolchainBin } from "../helpers/env";

jest.setTimeout(600_000);

function walk(d: string): string[] {
  if (!fs.existsSync(d)) return [];
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
}

interface Example {
  dir: string;
  pulumi(args: string[]): { code: number; out: string; seconds: number };
}

function example(name: string, prepare: (dir: string) => void = () => {}): Example {
  const bin = toolchainBin();
  const base = tmpDir(`lang-${name}`);
  const dir = path.join(base, name);
  fs.cpSync(path.join(REPO, "examples", name), dir, { recursive: true, filter: (s) => !/\/(target|venv|__pycache__)$/.test(s) });
  const y = path.join(dir, "Pulumi.yaml");
  fs.writeFileSync(y, fs.readFileSync(y, "utf8").replace("path: ../../bin", `path: ${path.join(REPO, "bin")}`));
  fs.mkdirSync(path.join(base, "state"));
  prepare(dir);
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    PULUMI_BACKEND_URL: `file://${path.join(base, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "netboot-tests-only",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_HOME: path.join(base, "home"),
    GOFLAGS: "-mod=mod",
    GOTOOLCHAIN: "local",
  };
  const pulumi = (args: string[]) => {
    const t0 = Date.now();
    const r = spawnSync("pulumi", [...args, "--non-interactive", "--color=never"], { cwd: dir, env, encoding: "utf8" });
    return { code: r.status ?? 1, out: r.stdout + r.stderr, seconds: (Date.now() - t0) / 1000 };
  };
  expect(pulumi(["stack", "init", "test"]).code).toBe(0);
  return { dir, pulumi };
}

/** up -> the files are there -> preview no changes -> destroy -> no file left. Returns the timings. */
function lifecycle(ex: Example, check: (target: string) => void): Record<string, number> {
  const up = ex.pulumi(["up", "--yes"]);
  if (up.code !== 0) throw new Error(up.out);
  const target = path.join(ex.dir, "target");
  check(target);
  const pre = ex.pulumi(["preview", "--expect-no-changes"]);
  if (pre.code !== 0) throw new Error(pre.out);
  const down = ex.pulumi(["destroy", "--yes"]);
  if (down.code !== 0) throw new Error(down.out);
  expect(walk(target)).toEqual([]);
  return { up: up.seconds, preview: pre.seconds, destroy: down.seconds };
}

const read = (p: string) => fs.readFileSync(p, "utf8");

describe("examples in other languages", () => {
  const timings: Record<string, Record<string, number>> = {};
  afterAll(() => console.log(`language example timings (s): ${JSON.stringify(timings)}`));

  test("YAML: a Cluster from cluster.yaml plus a NodeGroup on its server's info", () => {
    const ex = example("yaml-quickstart");
    timings.yaml = lifecycle(ex, (target) => {
      expect(read(path.join(target, "etc/dnsmasq.d/netboot-pxe.conf"))).toContain("interface=nbq0");
      expect(read(path.join(target, "srv/netboot/dhcp-hosts.d/compute"))).toContain("52:54:00:76:00:02,10.76.0.12,c02");
      expect(read(path.join(target, "srv/netboot/dhcp-hosts.d/login"))).toContain("52:54:00:76:00:31,10.76.0.31,login1");
      expect(read(path.join(target, "srv/netboot/http/ipxe/group-compute.ipxe"))).toContain("http://10.76.0.1/images/vmlinuz");
    });
  });

  test("Python: PxeServer and NodeGroup through the generated sdk/python (pulumi 3.248.0 from PyPI)", () => {
    const t0 = Date.now();
    const ex = example("python-quickstart", (dir) => {
      // The SDK is installed from a copy: pip builds in the source tree, which must stay as generated.
      const sdk = path.join(path.dirname(dir), "sdk-python");
      fs.cpSync(path.join(REPO, "sdk/python"), sdk, { recursive: true });
      const venv = spawnSync("python3", ["-m", "venv", path.join(dir, "venv")], { encoding: "utf8" });
      if (venv.status !== 0) throw new Error(`python3 -m venv failed (apt-get install -y python3-venv): ${venv.stderr}`);
      const pip = spawnSync(path.join(dir, "venv/bin/pip"), ["install", "-q", "pulumi==3.248.0", sdk], { encoding: "utf8" });
      if (pip.status !== 0) throw new Error(`pip install failed: ${pip.stderr}`);
    });
    const setup = (Date.now() - t0) / 1000;
    timings.python = { venv: setup, ...lifecycle(ex, (target) => {
      expect(read(path.join(target, "etc/dnsmasq.d/netboot-pxe.conf"))).toContain("interface=nbp0");
      expect(read(path.join(target, "srv/netboot/dhcp-hosts.d/compute"))).toContain("52:54:00:77:00:02,10.77.0.12,c02");
      expect(read(path.join(target, "srv/netboot/http/ipxe/node-52-54-00-77-00-02.ipxe"))).toContain("console=ttyS0");
    }) };
  });

  test("Go: PxeServer and NodeGroup through the generated sdk/go (compiled by the language host)", () => {
    const ex = example("go-quickstart", (dir) => {
      const mod = path.join(dir, "go.mod");
      fs.writeFileSync(mod, read(mod).replace("=> ../../sdk/go", `=> ${path.join(REPO, "sdk/go")}`));
    });
    timings.go = lifecycle(ex, (target) => {
      expect(read(path.join(target, "etc/dnsmasq.d/netboot-pxe.conf"))).toContain("interface=nbg0");
      expect(read(path.join(target, "srv/netboot/dhcp-hosts.d/compute"))).toContain("52:54:00:78:00:02,10.78.0.12,c02");
    });
  });

  // `pulumi package add <plugin>`: the engine asks the plugin for its schema, the language host generates a local
  // SDK into sdks/netboot and links it into the program (Link). Node.js is covered outside the repo by
  // installable.test.ts; here the two other languages, each from an example with its SDK reference removed.
  const plugin = path.join(REPO, "bin", "pulumi-resource-netboot");

  test("Go: pulumi package add generates sdks/netboot with a go.mod and links it by require + replace", () => {
    const ex = example("go-quickstart", (dir) => {
      const mod = path.join(dir, "go.mod");
      fs.writeFileSync(mod, read(mod).replace(/^.*github\.com\/netboot\/pulumi-netboot\/sdk\/go.*$/gm, ""));
    });
    const add = ex.pulumi(["package", "add", plugin]);
    if (add.code !== 0) throw new Error(add.out);
    expect(add.out).toContain('import "github.com/netboot/pulumi-netboot/sdk/go/netboot"');
    expect(read(path.join(ex.dir, "sdks/netboot/go.mod"))).toMatch(/^module github\.com\/netboot\/pulumi-netboot\/sdk\/go$/m);
    const mod = read(path.join(ex.dir, "go.mod"));
    expect(mod).toContain("replace github.com/netboot/pulumi-netboot/sdk/go => ./sdks/netboot");
    const tidy = spawnSync("go", ["mod", "tidy"], { cwd: ex.dir, encoding: "utf8", env: { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod" } });
    if (tidy.status !== 0) throw new Error(`go mod tidy: ${tidy.stderr}`);
    timings.goPackageAdd = lifecycle(ex, (target) => {
      expect(read(path.join(target, "etc/dnsmasq.d/netboot-pxe.conf"))).toContain("interface=nbg0");
    });
  });

  test("Python: pulumi package add puts sdks/netboot into requirements.txt; pip installs it from there", () => {
    const ex = example("python-quickstart", (dir) => {
      fs.writeFileSync(path.join(dir, "requirements.txt"), "pulumi==3.248.0\n");
      const venv = spawnSync("python3", ["-m", "venv", path.join(dir, "venv")], { encoding: "utf8" });
      if (venv.status !== 0) throw new Error(`python3 -m venv failed (apt-get install -y python3-venv): ${venv.stderr}`);
    });
    const add = ex.pulumi(["package", "add", plugin]);
    if (add.code !== 0) throw new Error(add.out);
    expect(add.out).toContain("import pulumi_netboot as netboot");
    expect(read(path.join(ex.dir, "requirements.txt"))).toBe("pulumi==3.248.0\n./sdks/netboot\n");
    const pip = spawnSync(path.join(ex.dir, "venv/bin/pip"), ["install", "-q", "-r", "requirements.txt"], { cwd: ex.dir, encoding: "utf8" });
    if (pip.status !== 0) throw new Error(`pip install -r requirements.txt: ${pip.stderr}`);
    timings.pythonPackageAdd = lifecycle(ex, (target) => {
      expect(read(path.join(target, "etc/dnsmasq.d/netboot-pxe.conf"))).toContain("interface=nbp0");
    });
  });
});
