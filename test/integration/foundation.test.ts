/**
 * Foundation: the real engine drives netboot:index:File through up -> preview (no changes) -> refresh
 * (no changes) -> hand edit -> refresh reports drift -> up repairs -> delete by hand -> up recreates ->
 * destroy leaves nothing behind.
 */
import * as fs from "fs";
import * as path from "path";
import { sha256 } from "../../provider/drift/digest";
import * as netboot from "../../sdk/nodejs";
import { changed, testStack, TestStack } from "../helpers/engine";
import { tmpDir } from "../helpers/env";

jest.setTimeout(300_000);

describe("netboot:index:File through the real Pulumi engine", () => {
  const root = tmpDir("file-target");
  const file = path.join(root, "etc/netboot/hello.conf");
  let t: TestStack;

  beforeAll(async () => {
    t = await testStack("foundation", async () => {
      const f = new netboot.File("hello", { host: { root }, path: "/etc/netboot/hello.conf", content: "greeting = hello\n", mode: "0640" });
      return { sha256: f.sha256, fullPath: f.fullPath };
    });
  });

  test("up writes the file atomically with its mode and records its sha256", async () => {
    const up = await t.stack.up({ onOutput: (s) => t.log.push(s) });
    expect(up.summary.result).toBe("succeeded");
    expect(fs.readFileSync(file, "utf8")).toBe("greeting = hello\n");
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    expect(up.outputs.fullPath.value).toBe(file);
    expect(up.outputs.sha256.value).toBe(sha256("greeting = hello\n"));
    // no temp files left beside it
    expect(fs.readdirSync(path.dirname(file))).toEqual(["hello.conf"]);
  });

  test("preview and refresh report no changes", async () => {
    const pre = await t.stack.preview({ expectNoChanges: true });
    expect(changed(pre.changeSummary)).toEqual({});
    const ref = await t.stack.refresh({ expectNoChanges: true });
    expect(ref.summary.result).toBe("succeeded");
  });

  test("a hand edit shows in refresh, fails --expect-no-changes, and up repairs it", async () => {
    fs.writeFileSync(file, "greeting = tampered\n");
    const out: string[] = [];
    await expect(t.stack.refresh({ expectNoChanges: true, onOutput: (s) => out.push(s) })).rejects.toThrow(/no changes were expected/);
    const refreshed = await t.stack.refresh({ onOutput: (s) => out.push(s) });
    expect(refreshed.summary.resourceChanges?.update).toBe(1);
    const pre = await t.stack.preview({ diff: true, onOutput: (s) => out.push(s) });
    expect(pre.changeSummary.update).toBe(1);
    expect(out.join("")).toMatch(/tampered/);
    await t.stack.up();
    expect(fs.readFileSync(file, "utf8")).toBe("greeting = hello\n");
    expect((await t.stack.preview()).changeSummary.update ?? 0).toBe(0);
  });

  test("a mode change by hand is drift too", async () => {
    fs.chmodSync(file, 0o666);
    await t.stack.refresh();
    expect((await t.stack.preview()).changeSummary.update).toBe(1);
    await t.stack.up();
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
  });

  test("a file deleted by hand is recreated by up", async () => {
    fs.rmSync(file);
    await t.stack.refresh();
    await t.stack.up();
    expect(fs.readFileSync(file, "utf8")).toBe("greeting = hello\n");
  });

  test("destroy removes the file and the folders it created, nothing else", async () => {
    const other = path.join(root, "etc/keep.txt");
    fs.writeFileSync(other, "not ours\n");
    await t.destroy();
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.existsSync(path.join(root, "etc/netboot"))).toBe(false);
    expect(fs.readFileSync(other, "utf8")).toBe("not ours\n");
  });
});
