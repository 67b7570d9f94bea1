import * as fs from "fs";
import * as path from "path";
import { LocalTransport } from "../../provider/transport/local";
import { tmpDir } from "../helpers/env";

describe("LocalTransport", () => {
  test("maps host paths below the root and refuses to leave it", () => {
    const t = new LocalTransport("/srv/target");
    expect(t.fullPath("/etc/x")).toBe("/srv/target/etc/x");
    expect(() => t.fullPath("/etc/../../x")).toThrow(/escapes the host root/);
    expect(() => t.fullPath("etc/x")).toThrow(/absolute/);
  });

  test("put is atomic: mode applied, no temp file left, a failed validation keeps the old file", async () => {
    const root = tmpDir("local");
    const t = new LocalTransport(root);
    await t.put("/etc/app.conf", "v1\n", { mode: 0o600 });
    const full = path.join(root, "etc/app.conf");
    expect(fs.readFileSync(full, "utf8")).toBe("v1\n");
    expect(fs.statSync(full).mode & 0o777).toBe(0o600);
    let staged = "";
    await expect(
      t.put("/etc/app.conf", "v2\n", {
        mode: 0o600,
        validate: async (p) => {
          staged = p;
          expect(fs.readFileSync(p, "utf8")).toBe("v2\n");
          throw new Error("consumer said no");
        },
      }),
    ).rejects.toThrow("consumer said no");
    expect(path.dirname(staged)).toBe(path.dirname(full));
    expect(fs.readFileSync(full, "utf8")).toBe("v1\n");
    expect(fs.readdirSync(path.dirname(full))).toEqual(["app.conf"]);
  });

  test("exec runs argv without a shell", async () => {
    const t = new LocalTransport();
    const r = await t.exec(["echo", "$HOME;", "`id`"]);
    expect(r.stdout).toBe("$HOME; `id`\n");
  });
});
