/**
 * Golden files of the initramfs /init renderer: test/golden/init/<case>/input.json -> init, udhcpc.script.
 * `UPDATE_GOLDEN=1 npx jest test/build/initGolden.tool.test.ts` rewrites them. Each rendered init must also parse
 * with `busybox sh -n`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderInitFiles } from "../../provider/render/init";

const ROOT = path.join(__dirname, "..", "golden", "init");

describe("init golden files", () => {
  for (const c of fs.readdirSync(ROOT).sort()) {
    test(c, () => {
      const input = JSON.parse(fs.readFileSync(path.join(ROOT, c, "input.json"), "utf8"));
      for (const f of renderInitFiles(input)) {
        const file = path.join(ROOT, c, path.basename(f.path) === "init" ? "init" : path.basename(f.path));
        if (process.env.UPDATE_GOLDEN) fs.writeFileSync(file, f.content);
        expect(f.content).toBe(fs.readFileSync(file, "utf8"));
        const syntax = spawnSync("busybox", ["sh", "-n"], { input: f.content, encoding: "utf8" });
        expect(syntax.stderr).toBe("");
        expect(syntax.status).toBe(0);
      }
    });
  }
});
