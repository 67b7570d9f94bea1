/**
 * netboot as a user installs it: `npm run package` makes the release artifacts; a Pulumi project in a folder of its
 * own, with none of this repo's files but those artifacts, installs the plugin from its archive
 * (`pulumi plugin install --file`), the SDK from its tarball (or through `pulumi package add`), and runs
 * up -> preview (no changes) -> destroy. PATH holds the Pulumi CLI and its language hosts, Node.js and the system:
 * not this repo's bin/, and Pulumi.yaml names no plugin path, so the engine can only use the installed plugin.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO, tmpDir, toolchainBin } from "../helpers/env";

jest.setTimeout(900_000);

const VERSION: string = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")).version;
// The @pulumi/pulumi the user's project takes: the one this repo is tested with (any from the SDK's range works).
const PULUMI_SDK: string = JSON.parse(fs.readFileSync(path.join(REPO, "package-lock.json"), "utf8")).packages["node_modules/@pulumi/pulumi"].version;

function walk(d: string): string[] {
  if (!fs.existsSync(d)) return [];
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8" });
  const out = (r.stdout ?? "") + (r.stderr ?? "");
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}) in ${cwd}:\n${out}`);
  return out;
}

const PROGRAM = `import * as path from "path";
import * as netboot from "@netboot/netboot";

const root = path.resolve("target");
const pxe = new netboot.PxeServer("pxe", {
  host: { root },
  interface: "nbi0",
  subnet: "10.79.0.0/24",
  serverIp: "10.79.0.1",
  dhcpMode: "authoritative",
  dynamicRange: { start: "10.79.0.200", end: "10.79.0.250" },
});
const compute = new netboot.NodeGroup("compute", {
  server: pxe.info,
  boot: { localDisk: true },
  nodes: [{ name: "c01", macs: ["52:54:00:79:00:01"], ip: "10.79.0.11" }],
});
export const nodes = compute.nodeTable;
export const node = process.version;
`;

describe("installable: the release artifacts in a project outside this repo", () => {
  let out: string;
  let base: string;
  let env: NodeJS.ProcessEnv;
  const pulumi = (args: string[], cwd: string) => run("pulumi", [...args, "--non-interactive", "--color=never"], cwd, env);
  /**
   * A new stack of `app`: up (6 resources) -> `check` on the up output -> preview without changes -> destroy leaves
   * the target empty. `pathFirst`: a folder put first on PATH for these runs only (another node, another CLI).
   */
  const lifecycle = (app: string, stack: string, check: (up: string) => void, pathFirst?: string) => {
    const saved = env;
    if (pathFirst) env = { ...env, PATH: `${pathFirst}:${env.PATH}` };
    try {
      pulumi(["stack", "init", stack], app);
      const up = pulumi(["up", "--yes"], app);
      expect(up).toMatch(/\+ 6 created/);
      check(up);
      pulumi(["preview", "--expect-no-changes"], app);
      pulumi(["destroy", "--yes"], app);
      expect(walk(path.join(app, "target"))).toEqual([]);
    } finally {
      env = saved;
    }
  };

  beforeAll(() => {
    const bin = toolchainBin();
    out = tmpDir("package");
    run("bash", [path.join(REPO, "scripts/package.sh"), out], REPO, process.env);
    base = tmpDir("installable");
    fs.mkdirSync(path.join(base, "state"));
    env = {
      HOME: process.env.HOME,
      LANG: "C.UTF-8",
      // The CLI and its language hosts, Node.js, the system. Not the repo's bin/ (which holds the checkout's plugin).
      PATH: [bin, path.dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"].join(":"),
      PULUMI_HOME: path.join(base, "pulumi-home"),
      PULUMI_BACKEND_URL: `file://${path.join(base, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: "netboot-tests-only",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      // A plugin the engine would download is a failure here: the archive is the only source.
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      npm_config_cache: process.env.npm_config_cache ?? path.join(process.env.HOME ?? "/root", ".npm"),
    };
  });
  afterAll(() => {
    if (base) fs.rmSync(base, { recursive: true, force: true });
    if (out) fs.rmSync(out, { recursive: true, force: true });
  });

  test("npm run package: the artifacts, their checksums, and the same bytes from a second run", () => {
    const names = fs.readdirSync(out).sort();
    expect(names).toEqual(
      [`netboot-netboot-${VERSION}.tgz`, `pulumi-resource-netboot-v${VERSION}-linux-amd64.tar.gz`, `pulumi_netboot-${VERSION}-py3-none-any.whl`, "SHA256SUMS"].sort(),
    );
    run("sha256sum", ["-c", "SHA256SUMS"], out, process.env);
    const members = run("tar", ["-tzf", `pulumi-resource-netboot-v${VERSION}-linux-amd64.tar.gz`], out, process.env).split("\n");
    for (const m of ["./pulumi-resource-netboot", "./LICENSE", "./schema/schema.json", "./dist/provider/index.js", "./node_modules/@pulumi/pulumi/package.json"]) {
      expect(members).toContain(m);
    }
    // Production dependencies only: the test framework and the compiler stay out.
    expect(members.filter((m) => /^\.\/node_modules\/(jest|ts-jest|eslint)\//.test(m))).toEqual([]);
    const sdk = run("tar", ["-xzOf", `netboot-netboot-${VERSION}.tgz`, "package/package.json"], out, process.env);
    const manifest = JSON.parse(sdk);
    expect(manifest).toMatchObject({ name: "@netboot/netboot", version: VERSION, main: "index.js", types: "index.d.ts" });
    expect(manifest.dependencies["@pulumi/pulumi"]).toMatch(/^\^3\./);

    const again = tmpDir("package-again");
    try {
      run("bash", [path.join(REPO, "scripts/package.sh"), again], REPO, process.env);
      const sums = (d: string) => fs.readFileSync(path.join(d, "SHA256SUMS"), "utf8").split("\n").filter((l) => !l.includes(".whl"));
      // The wheel is built by pip with build isolation; the plugin archive and the npm SDK are ours to keep exact.
      expect(sums(again)).toEqual(sums(out));
    } finally {
      fs.rmSync(again, { recursive: true, force: true });
    }
  });

  test("plugin install from the archive, SDK from its tarball: up, preview without changes, destroy", () => {
    pulumi(["plugin", "install", "resource", "netboot", VERSION, "--file", path.join(out, `pulumi-resource-netboot-v${VERSION}-linux-amd64.tar.gz`)], base);
    expect(pulumi(["plugin", "ls"], base)).toMatch(new RegExp(`netboot\\s+resource\\s+${VERSION.replace(/\./g, "\\.")}`));

    const app = path.join(base, "site-infra");
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, "Pulumi.yaml"), "name: site-infra\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "site-infra", private: true }, null, 2));
    fs.writeFileSync(path.join(app, "index.ts"), PROGRAM);
    run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", path.join(out, `netboot-netboot-${VERSION}.tgz`), `@pulumi/pulumi@${PULUMI_SDK}`], app, env);
    expect(fs.existsSync(path.join(app, "node_modules/@netboot/netboot/index.js"))).toBe(true);

    lifecycle(app, "dev", () => {
      expect(fs.readFileSync(path.join(app, "target/etc/dnsmasq.d/netboot-pxe.conf"), "utf8")).toContain("interface=nbi0");
      expect(fs.readFileSync(path.join(app, "target/srv/netboot/dhcp-hosts.d/compute"), "utf8")).toContain("52:54:00:79:00:01,10.79.0.11,c01");
    });
  });

  // Node.js 20 is what the suite runs on; 22 is the other supported runtime (scripts/node-runtime.sh fetches the
  // official build from the npm registry). A `node` shim first on PATH records every start and runs Node.js 22,
  // so the test sees that both the plugin (its launcher runs `node`) and the program ran on it.
  test("Node.js 22: the installed plugin and the program run on it, up to destroy", () => {
    const fetched = spawnSync("bash", [path.join(REPO, "scripts/node-runtime.sh"), "22"], { encoding: "utf8" });
    if (fetched.status !== 0) throw new Error(`bash scripts/node-runtime.sh 22 failed:\n${fetched.stderr}`);
    const node22 = path.join(fetched.stdout.trim().split("\n").pop()!, "node");
    const shim = path.join(base, "node22-shim");
    fs.mkdirSync(shim);
    const starts = path.join(base, "node22-starts.log");
    fs.writeFileSync(path.join(shim, "node"), `#!/bin/sh\necho "$*" >> ${starts}\nexec ${node22} "$@"\n`, { mode: 0o755 });
    const app = path.join(base, "site-infra");
    expect(fs.existsSync(path.join(app, "node_modules/@netboot/netboot"))).toBe(true); // the project of the test above
    lifecycle(app, "node22", (up) => {
      expect(up).toMatch(/node\s*: "v22\./);
      const ran = fs.readFileSync(starts, "utf8");
      expect(ran).toMatch(/dist\/provider\/index\.js/); // the plugin, from PULUMI_HOME/plugins
      expect(ran).toMatch(/@pulumi\/pulumi\/cmd\/run/); // the program
    }, shim);
  });

  // Any Pulumi CLI from the pinned version up: the newest engine the Go module proxy served when this was written,
  // built by scripts/toolchain.sh into a cache of its own (minutes the first time), drives the same project and
  // the same installed plugin through the state the pinned CLI wrote.
  const NEWER_PULUMI = "v3.276.0";
  test(`a newer Pulumi CLI (${NEWER_PULUMI}) runs the same project with the installed plugin`, () => {
    const built = spawnSync("bash", [path.join(REPO, "scripts/toolchain.sh"), "--only", "nodejs"], { encoding: "utf8", env: { ...process.env, NETBOOT_PULUMI_VERSION: NEWER_PULUMI } });
    if (built.status !== 0) throw new Error(`NETBOOT_PULUMI_VERSION=${NEWER_PULUMI} bash scripts/toolchain.sh --only nodejs failed:\n${built.stderr.slice(-3000)}`);
    const bin = built.stdout.trim().split("\n").pop()!;
    const app = path.join(base, "site-infra");
    expect(fs.existsSync(path.join(app, "node_modules/@netboot/netboot"))).toBe(true); // the project of the tests above
    expect(run(path.join(bin, "pulumi"), ["version"], app, env).trim()).toBe(NEWER_PULUMI);
    lifecycle(app, "newer", () => undefined, bin);
  });

  test("pulumi package add: the SDK generated from the installed plugin, linked and installed, then up", () => {
    // Needs the plugin installed by the test above (or by itself when run alone).
    const installed = pulumi(["plugin", "ls"], base);
    if (!installed.includes("netboot")) {
      pulumi(["plugin", "install", "resource", "netboot", VERSION, "--file", path.join(out, `pulumi-resource-netboot-v${VERSION}-linux-amd64.tar.gz`)], base);
    }
    const app = path.join(base, "added");
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, "Pulumi.yaml"), "name: added\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "added", private: true }, null, 2));
    run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", `@pulumi/pulumi@${PULUMI_SDK}`], app, env);
    const added = pulumi(["package", "add", `netboot@${VERSION}`], app);
    expect(added).toContain('import * as netboot from "@netboot/netboot"');
    const manifest = JSON.parse(fs.readFileSync(path.join(app, "package.json"), "utf8"));
    expect(manifest.dependencies["@netboot/netboot"]).toBe("file:sdks/netboot");
    expect(fs.existsSync(path.join(app, "node_modules/@netboot/netboot/package.json"))).toBe(true);

    fs.writeFileSync(path.join(app, "index.ts"), PROGRAM);
    pulumi(["stack", "init", "dev"], app);
    pulumi(["up", "--yes"], app);
    expect(fs.readFileSync(path.join(app, "target/etc/dnsmasq.d/netboot-pxe.conf"), "utf8")).toContain("dhcp-range=");
    pulumi(["destroy", "--yes"], app);
  });
});
