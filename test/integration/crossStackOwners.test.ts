/**
 * Two stacks (two projects, as two teams run them) on one local target root, through the `pulumi` CLI: stack A
 * owns /etc/x (a FileSet entry); stack B's File at the same path is refused at `preview` naming A's resource and
 * the journal entry to remove if A were gone, and B's `up` writes nothing. Once A is destroyed, B's up succeeds.
 * The unit side (entries, same-stack renames, older entries) is test/resources/journalOwners.test.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { cliProject, CliProject } from "../helpers/engine";
import { REPO, hashTree, tmpDir } from "../helpers/env";
import { journalPath } from "../../provider/resources/journal";

jest.setTimeout(180_000);


describe("a path owned by another stack on the same host", () => {
  const root = tmpDir("owners-root");
  const sdk = `import * as netboot from "${REPO}/sdk/nodejs";\n`;
  let a: CliProject;
  let b: CliProject;
  let aUp = false;
  // `up --skip-preview`: the program runs once per up, not twice (B's refused up then proves the check at up itself)
  const run = (p: CliProject, args: string[]) => {
    const t0 = Date.now();
    const r = p.run(args);
    process.stdout.write(`crossStackOwners: ${path.basename(p.dir)} ${args[0]} ${((Date.now() - t0) / 1000).toFixed(1)} s (exit ${r.code})\n`);
    return r;
  };

  beforeAll(() => {
    a = cliProject("owners-a", sdk + `new netboot.FileSet("conf", { host: { root: ${JSON.stringify(root)} }, files: { "/etc/x": { content: "from a\\n" } } });\n`);
    b = cliProject("owners-b", sdk + `new netboot.File("x", { host: { root: ${JSON.stringify(root)} }, path: "/etc/x", content: "from b\\n" });\n`);
  });
  afterAll(() => {
    for (const p of [aUp ? a : undefined, b]) if (p) run(p, ["destroy", "--yes", "--skip-preview"]);
    for (const p of [a, b]) p?.remove();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("B is refused at preview and at up (nothing written) while A owns the path; after A's destroy, B's up succeeds", () => {
    const up = run(a, ["up", "--yes", "--skip-preview"]);
    aUp = true;
    expect(up.code).toBe(0);
    expect(fs.readFileSync(path.join(root, "etc/x"), "utf8")).toBe("from a\n");
    const before = hashTree(root);

    const preview = run(b, ["preview"]);
    fs.writeFileSync(path.join(REPO, "test", ".work", "crossStackOwners-preview.out"), preview.out);
    expect(preview.code).not.toBe(0);
    const urnA = "urn:pulumi:test::owners-a::netboot:index:FileSet::conf";
    const line = preview.out.split("\n").find((l) => l.includes('netboot:index:File "x": path = "/etc/x": is also written by netboot:index:FileSet "conf" of stack "test" of project "owners-a"'));
    expect(line).toBeDefined();
    expect(line).toContain(urnA);
    expect(line).toContain(`rm ${root}${journalPath(urnA)}`);
    expect(preview.out).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

    const refused = run(b, ["up", "--yes", "--skip-preview"]);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain("is also written by netboot:index:FileSet \"conf\"");
    expect(hashTree(root)).toBe(before);
    expect(fs.readFileSync(path.join(root, "etc/x"), "utf8")).toBe("from a\n");

    expect(run(a, ["destroy", "--yes", "--skip-preview"]).code).toBe(0);
    aUp = false;
    expect(fs.readdirSync(root)).toEqual([]);
    const again = run(b, ["up", "--yes", "--skip-preview"]);
    expect(again.code).toBe(0);
    expect(fs.readFileSync(path.join(root, "etc/x"), "utf8")).toBe("from b\n");
  });
});
