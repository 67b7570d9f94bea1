/**
 * Two real stacks whose checks both pass for one path (issue 18, claim-then-verify at apply, resources/journal.ts
 * header), through the `pulumi` CLI on one local target root. B's provider process reads the host's journal at its
 * first check ("early") and keeps that read for the run; B's File at /etc/x registers only after A's whole `up`
 * wrote /etc/x (its content waits for a signal file), so its check, against the read made before A applied,
 * passes: the situation of two stacks checked at the same moment. The apply refuses it and writes nothing.
 * The unit side (both applying at once, an update's entry put back, the cost) is test/resources/journalRace.test.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { ChildProcess } from "child_process";
import { cliProject, CliProject } from "../helpers/engine";
import { REPO, tmpDir } from "../helpers/env";
import { journalPath, parseEntry } from "../../provider/resources/journal";

jest.setTimeout(240_000);

describe("two stacks checked at the same moment for one path", () => {
  const root = tmpDir("race-root");
  const signal = `${root}-go`;
  const sdk = `import * as netboot from "${REPO}/sdk/nodejs";\nimport * as fs from "fs";\n`;
  const host = `{ root: ${JSON.stringify(root)} }`;
  let a: CliProject;
  let b: CliProject;
  let bUp: ChildProcess | undefined;

  beforeAll(() => {
    a = cliProject("race-a", sdk + `new netboot.FileSet("conf", { host: ${host}, files: { "/etc/x": { content: "from a\\n" } } });\n`);
    b = cliProject(
      "race-b",
      sdk +
        `new netboot.File("early", { host: ${host}, path: "/etc/early", content: "b\\n" });\n` +
        `const go = new Promise<string>((resolve) => { const t = setInterval(() => { if (fs.existsSync(${JSON.stringify(signal)})) { clearInterval(t); resolve("from b\\n"); } }, 100); });\n` +
        `new netboot.File("x", { host: ${host}, path: "/etc/x", content: go });\n`,
    );
  });
  afterAll(() => {
    if (bUp?.exitCode === null && bUp.pid) process.kill(-bUp.pid, "SIGKILL");
    for (const p of [b, a]) p?.run(["destroy", "--yes", "--skip-preview"]);
    for (const p of [a, b]) p?.remove();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(signal, { force: true });
  });

  test("the stack that applies second is refused at apply, naming the other; the host keeps the first one's file", async () => {
    bUp = b.start(["up", "--yes", "--skip-preview"]);
    const exited = new Promise<number>((resolve) => bUp!.on("exit", (code) => resolve(code ?? 1)));
    // B's first resource is applied: B's provider has read the journal (then empty of A's)
    const early = path.join(root, journalPath("urn:pulumi:test::race-b::netboot:index:File::early"));
    const t0 = Date.now();
    while (parseEntry(fs.existsSync(early) ? fs.readFileSync(early, "utf8") : "")?.state !== "done") {
      if (Date.now() - t0 > 120_000 || bUp.exitCode !== null) throw new Error(`B's first resource was not applied:\n${fs.readFileSync(path.join(b.dir, "cli.log"), "utf8")}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const up = a.run(["up", "--yes", "--skip-preview"]);
    expect(up.code).toBe(0);
    expect(fs.readFileSync(path.join(root, "etc/x"), "utf8")).toBe("from a\n");
    fs.writeFileSync(signal, "");

    const code = await exited;
    const out = fs.readFileSync(path.join(b.dir, "cli.log"), "utf8");
    fs.writeFileSync(path.join(REPO, "test", ".work", "crossStackRace-b.out"), out);
    expect(code).not.toBe(0);
    const urnA = "urn:pulumi:test::race-a::netboot:index:FileSet::conf";
    const line = out.split("\n").find((l) => l.includes('netboot:index:File "x": path = "/etc/x": is also written by netboot:index:FileSet "conf" of stack "test" of project "race-a"'));
    expect(line).toBeDefined();
    expect(line).toContain(urnA);
    expect(line).toContain(`rm ${root}${journalPath(urnA)}. This apply withdrew its claim and changed no file`);
    expect(line).toContain("the two stacks ran at the same time");
    expect(fs.readFileSync(path.join(root, "etc/x"), "utf8")).toBe("from a\n");
    expect(fs.existsSync(path.join(root, journalPath("urn:pulumi:test::race-b::netboot:index:File::x")))).toBe(false);
    expect(parseEntry(fs.readFileSync(path.join(root, journalPath(urnA)), "utf8"))).toMatchObject({ state: "done", paths: ["/etc/x"] });
  });
});
