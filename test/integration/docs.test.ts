/**
 * Every command and example in README.md and docs/*.md runs as written (docs/reference.md is generated and left out).
 *
 * A fenced block is tested as the HTML comment on the line before it says (readers of the rendered page do not see
 * it):
 *   <!-- docs-test: run [cwd=DIR] -->       a sh/bash block: run by `bash -e -o pipefail` in a sandbox, must exit 0
 *   <!-- docs-test: typecheck [prelude="TS"] -->  a ts block: `tsc --noEmit` against the Node.js SDK (sdk/nodejs as
 *                                           `@netboot/netboot`); `prelude` declares what a fragment uses
 *   <!-- docs-test: preview [inventory=FILE] -->  a yaml block, a cluster inventory (`version: 1`) or a Pulumi YAML
 *                                           program (`resources:`, run with FILE as its cluster.yaml,
 *                                           default examples/yaml-quickstart/cluster.yaml): checked
 *                                           against schema/cluster.schema.json, then `pulumi preview` on it
 *   <!-- docs-test: skip reason="..." -->   not run here (the full quickstart, npm test, the VM lab, real hosts...);
 *                                           the reasons are printed
 * Every sh/bash block must carry one of them, so a new command cannot drift unnoticed.
 *
 * The sandbox is a temp folder that looks like the checkout (its top-level entries linked, examples/ copied, no
 * .state or target), with the environment the docs assume: the toolchain and ./bin on PATH, a file:// backend and
 * PULUMI_HOME in temp folders, a passphrase, no update check and no plugin downloads. The linked folders (dist,
 * node_modules, scripts...) are the checkout's own: a block marked run may write only below examples/ or new
 * files at the top (`npm run build` in a block would rebuild the checkout's dist, so blocks assume it is built).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { parseInventory, formatInventoryIssue } from "../../provider/inventory/parse";
import { REPO, tmpDir, toolchainBin } from "../helpers/env";

jest.setTimeout(240_000);

type Kind = "run" | "typecheck" | "preview" | "skip";
interface Block {
  file: string; // repo-relative
  line: number; // of the opening fence, 1-based
  lang: string;
  text: string;
  kind?: Kind;
  attrs: Record<string, string>;
}

const MARKER = /^<!--\s*docs-test:\s*(\w+)(.*?)-->\s*$/;

/** Fenced blocks of a markdown file, each with the docs-test marker on the line before its fence (if any). */
function docBlocks(file: string, text: string): Block[] {
  const lines = text.split("\n");
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l.trim() === "```");
    if (end < 0) throw new Error(`${file}:${i + 1}: fenced block is not closed`);
    const m = i > 0 ? MARKER.exec(lines[i - 1].trim()) : null;
    const attrs: Record<string, string> = {};
    if (m) for (const a of m[2].matchAll(/(\w+)=(?:"([^"]*)"|(\S+))/g)) attrs[a[1]] = a[2] ?? a[3];
    if (m && !["run", "typecheck", "preview", "skip"].includes(m[1])) throw new Error(`${file}:${i}: unknown docs-test kind \`${m[1]}\``);
    out.push({ file, line: i + 1, lang: open[2], text: lines.slice(i + 1, end).map((l) => l.slice(open[1].length)).join("\n") + "\n", kind: m?.[1] as Kind | undefined, attrs });
    i = end;
  }
  return out;
}

const DOCS = ["README.md", ...fs.readdirSync(path.join(REPO, "docs")).filter((f) => f.endsWith(".md") && f !== "reference.md").sort().map((f) => `docs/${f}`)];
const blocks = DOCS.flatMap((f) => docBlocks(f, fs.readFileSync(path.join(REPO, f), "utf8")));
const where = (b: Block) => `${b.file}:${b.line}`;
const SHELL = new Set(["sh", "bash", "shell", "console"]);

test("every sh/bash block in README.md and docs/ says how it is tested; the skipped ones give a reason", () => {
  const unmarked = blocks.filter((b) => SHELL.has(b.lang) && !b.kind).map(where);
  expect(unmarked).toEqual([]);
  const noReason = blocks.filter((b) => b.kind === "skip" && !b.attrs.reason).map(where);
  expect(noReason).toEqual([]);
  const wrong = blocks.filter((b) => (b.kind === "run" && !SHELL.has(b.lang)) || (b.kind === "typecheck" && b.lang !== "ts") || (b.kind === "preview" && b.lang !== "yaml")).map(where);
  expect(wrong).toEqual([]);
  const skipped = blocks.filter((b) => b.kind === "skip");
  console.log(`docs blocks: ${blocks.filter((b) => b.kind === "run").length} run, ${blocks.filter((b) => b.kind === "typecheck").length} typechecked, ` +
    `${blocks.filter((b) => b.kind === "preview").length} previewed, ${skipped.length} skipped:\n` + skipped.map((b) => `  ${where(b)}: ${b.attrs.reason}`).join("\n") +
    // fragments (ts with `...`, output excerpts, tables of fields) need no marker; they are listed so they stay in view
    `\nnot tested (no marker, not sh): ${blocks.filter((b) => !b.kind).map((b) => `${where(b)}${b.lang ? ` (${b.lang})` : ""}`).join(", ")}`);
});

// ---- the sandbox and its environment

let bin: string | undefined;
function engineEnv(dir: string): NodeJS.ProcessEnv {
  bin ??= toolchainBin();
  if (!fs.existsSync(path.join(REPO, "dist/provider/index.js"))) throw new Error("the provider is not built: run 'npm run build' (npm test does it)");
  fs.mkdirSync(path.join(dir, ".docs-state"), { recursive: true });
  return {
    ...process.env,
    PATH: `${bin}:${path.join(dir, "bin")}:${process.env.PATH}:/usr/sbin:/sbin`,
    PULUMI_BACKEND_URL: `file://${path.join(dir, ".docs-state")}`,
    PULUMI_CONFIG_PASSPHRASE: "netboot-docs-test-only",
    PULUMI_HOME: path.join(dir, ".docs-pulumi-home"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
}

/** A folder that looks like the checkout: top-level entries linked, examples/ copied (without state or targets). */
function sandbox(): string {
  const d = tmpDir("docs");
  const leaveOut = new Set([".git", ".state", "target", ".lab", "out", "examples"]);
  for (const e of fs.readdirSync(REPO)) if (!leaveOut.has(e) && !/^Pulumi\..+\.yaml$/.test(e)) fs.symlinkSync(path.join(REPO, e), path.join(d, e));
  fs.cpSync(path.join(REPO, "examples"), path.join(d, "examples"), {
    recursive: true,
    filter: (src) => !/\/examples\/[^/]+\/(target|build|node_modules|venv|Pulumi\.[^/]+\.yaml)$/.test(src),
  });
  return d;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, input?: string) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", input, timeout: 180_000 });
  return { code: r.status ?? 1, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

// ---- run

const runs = blocks.filter((b) => b.kind === "run");
describe("sh blocks marked run exit 0 in a sandbox", () => {
  test.each(runs.map((b) => [where(b), b] as const))("%s", (_w, b) => {
    const d = sandbox();
    try {
      const env = engineEnv(d);
      const cwd = path.join(d, b.attrs.cwd ?? ".");
      const r = run("bash", ["-e", "-o", "pipefail", "-s"], cwd, env, b.text);
      if (r.code !== 0) throw new Error(`${where(b)} exited ${r.code}:\n${b.text}\n--- output\n${r.out.slice(-4000)}`);
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});

// ---- typecheck: all ts blocks in one tsc run

const typed = blocks.filter((b) => b.kind === "typecheck");
test("ts blocks marked typecheck compile against the Node.js SDK", () => {
  if (!typed.length) return;
  const d = tmpDir("docs-ts");
  try {
    const files = typed.map((b, i) => {
      const f = `block${i}.ts`;
      const imports = /from "@netboot\/netboot"/.test(b.text) ? "" : `import * as netboot from "@netboot/netboot";\n`;
      // A module of its own (`export {}`), so one block's names do not clash with another's.
      fs.writeFileSync(path.join(d, f), `${imports}${b.attrs.prelude ? b.attrs.prelude + "\n" : ""}${b.text}export {};\n`);
      return f;
    });
    fs.writeFileSync(path.join(d, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, target: "ES2020", module: "commonjs", moduleResolution: "node", esModuleInterop: true, skipLibCheck: true,
        types: ["node"], typeRoots: [path.join(REPO, "node_modules/@types")], baseUrl: d,
        paths: { "@netboot/netboot": [path.join(REPO, "sdk/nodejs/index.ts")], "@pulumi/pulumi": [path.join(REPO, "node_modules/@pulumi/pulumi")], "@pulumi/pulumi/*": [path.join(REPO, "node_modules/@pulumi/pulumi/*")] },
      },
      files,
    }));
    const r = run("node", [path.join(REPO, "node_modules/typescript/bin/tsc"), "-p", d], d, process.env);
    // name each error by the doc line it comes from
    const named = r.out.replace(/block(\d+)\.ts\((\d+),(\d+)\)/g, (_m, i, l, c) => {
      const b = typed[Number(i)];
      const shift = (/from "@netboot\/netboot"/.test(b.text) ? 0 : 1) + (b.attrs.prelude ? b.attrs.prelude.split("\n").length : 0);
      return `${b.file}:${b.line + Number(l) - shift}:${c}`;
    });
    expect(r.code === 0 ? "" : named).toBe("");
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
});

// ---- preview: inventories and Pulumi YAML programs

const previews = blocks.filter((b) => b.kind === "preview");
/** This machine's newest kernel with its modules: the build host the previews check against. */
const KVER = fs.readdirSync("/lib/modules").filter((v) => fs.existsSync(`/boot/vmlinuz-${v}`)).sort().pop()!;
describe("yaml blocks marked preview pass the inventory schema and pulumi preview", () => {
  test.each(previews.map((b) => [where(b), b] as const))("%s", (_w, b) => {
    const d = tmpDir("docs-preview");
    try {
      const doc = parseYaml(b.text);
      const program = doc && typeof doc === "object" && "resources" in doc;
      const inventory = program ? fs.readFileSync(path.join(REPO, b.attrs.inventory ?? "examples/yaml-quickstart/cluster.yaml"), "utf8") : b.text;
      const check = parseInventory(inventory, "cluster.yaml");
      if (!check.ok) throw new Error(`${where(b)}: the inventory does not pass:\n${check.issues.map(formatInventoryIssue).join("\n")}`);
      // preview reads an image source only when it exists on this machine: its form must be one BootImage takes
      for (const [name, img] of Object.entries<any>(parseYaml(inventory).images ?? {}))
        if (/\.[a-z0-9]+$/i.test(img.imageSource) && !/\.(tar\.gz|tgz|tar\.xz|txz)$/.test(img.imageSource))
          throw new Error(`${where(b)}: images.${name}.imageSource ${img.imageSource}: BootImage takes a folder or a .tar.gz/.tgz/.tar.xz tarball`);
      // Preview checks each image's build plan against this machine (issue 18: preview is the gate), so the facts
      // a doc can only name for its reader's machine are this machine's here: its kernel release, and an image
      // source folder with what the handoff starts and the image's hybrid paths. Everything else is the doc's.
      const inv = parseYaml(inventory);
      for (const [name, img] of Object.entries<any>(inv.images ?? {})) {
        if (img.kernelVersion !== undefined) img.kernelVersion = KVER;
        if (img.imageSource === undefined) continue;
        img.imageSource = path.join(d, `image-${name}`);
        for (const sub of ["sbin", ...(img.hybridPaths ?? [])]) fs.mkdirSync(path.join(img.imageSource, sub), { recursive: true });
        fs.writeFileSync(path.join(img.imageSource, "sbin/init"), "#!/bin/sh\n", { mode: 0o755 });
      }
      fs.writeFileSync(path.join(d, "cluster.yaml"), stringifyYaml(inv));
      const head = `name: docs-preview\nruntime: yaml\nplugins:\n  providers:\n    - name: netboot\n      path: ${path.join(REPO, "bin")}\n`;
      const body = program ? b.text : `resources:\n  lab:\n    type: netboot:index:Cluster\n    properties:\n      inventoryPath: ./cluster.yaml\n`;
      fs.writeFileSync(path.join(d, "Pulumi.yaml"), head + body);
      const env = engineEnv(d);
      for (const args of [["stack", "init", "docs"], ["preview"]]) {
        const r = run("pulumi", [...args, "--non-interactive"], d, env);
        if (r.code !== 0) throw new Error(`${where(b)}: pulumi ${args.join(" ")} exited ${r.code}:\n${r.out.slice(-4000)}`);
      }
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
