import { checkAbsPath, checkFilePath, checkSafe, cut, escapeControls, formatIssue, Issues, KERNEL_ARGS_MAX, modeOf, modeString, parseMode, show, ValidationError } from "../../provider/model/errors";
import { checkUnitName } from "../../provider/model/daemon";
import { isHostOrIPv4 } from "../../provider/model/net";

const R = 'netboot:index:File "f"';

describe("messages: values escaped and cut", () => {
  test("control characters are shown as escapes, never raw", () => {
    expect(escapeControls("a\nb\0c\r\td\u001b[31m\u007f\u202e")).toBe("a\\nb\\0c\\r\\td\\u001b[31m\\u007f\\u202e");
    const line = formatIssue({ resource: R, field: 'files["/a\nb"]', value: "x\0y\nz", message: "bad\nthing" });
    expect(line).toBe('netboot:index:File "f": files["/a\\nb"] = "x\\0y\\nz": bad\\nthing');
    expect(line).not.toMatch(/[\0\n\r]/);
  });

  test("a visible escape is not confused with a backslash the user typed", () => {
    expect(show("a\\nb")).toBe('"a\\\\nb"');
    expect(show("a\nb")).toBe('"a\\nb"');
    expect(show('say "hi"')).toBe('"say \\"hi\\""');
  });

  test("a long value is cut and its length said", () => {
    const v = "k".repeat(100_000);
    const s = show(v);
    expect(s).toBe(`"${"k".repeat(120)}"... (100000 characters)`);
    expect(formatIssue({ resource: R, field: "content", value: v, message: "m" }).length).toBeLessThan(250);
    // counted in characters, not UTF-16 units, and never cut inside an escape
    expect(cut("\u{1F600}".repeat(130), 120)).toBe("\u{1F600}".repeat(120) + "... (130 characters)");
    expect(cut("\n".repeat(130), 2)).toBe("\\n\\n... (130 characters)");
  });

  test("non-strings are shown as JSON, cut", () => {
    expect(show(42)).toBe("42");
    expect(show({ a: [1] })).toBe('{"a":[1]}');
    expect(show(Array(1000).fill("x"))).toMatch(/\.\.\. \(\d+ characters\)$/);
  });

  test("ValidationError lists every issue, one line each", () => {
    const e = new ValidationError([
      { resource: R, field: "a", value: "1\n2", message: "m1" },
      { resource: R, field: "b", value: undefined, message: "m2" },
    ]);
    expect(e.message.split("\n")).toEqual([
      "2 validation errors; nothing was written:",
      `  - ${R}: a = "1\\n2": m1`,
      `  - ${R}: b: m2`,
    ]);
  });
});

describe("limits", () => {
  const msgs = (f: (i: Issues) => void) => {
    const i = new Issues(R);
    f(i);
    return i.list.map((x) => `${x.field}: ${x.message}`);
  };

  test("a value longer than its limit is refused with its length", () => {
    expect(msgs((i) => checkSafe(i, "kernelArgs", "a".repeat(200_000), { max: KERNEL_ARGS_MAX }))).toEqual(["kernelArgs: is 200000 characters long; at most 2047"]);
    expect(msgs((i) => checkSafe(i, "x", "a".repeat(4097)))).toEqual(["x: is 4097 characters long; at most 4096"]);
    expect(msgs((i) => checkSafe(i, "x", "a".repeat(4096)))).toEqual([]);
  });

  test("paths: PATH_MAX, NAME_MAX, folders", () => {
    expect(msgs((i) => checkAbsPath(i, "p", "/" + "d/".repeat(5000)))).toEqual(["p: is 10001 characters long; at most 4095"]);
    expect(msgs((i) => checkAbsPath(i, "p", `/data/${"n".repeat(256)}`))).toEqual(["p: has a name of 256 bytes; at most 255 (Linux NAME_MAX)"]);
    expect(msgs((i) => checkAbsPath(i, "p", `/data/${"n".repeat(255)}`))).toEqual([]);
    for (const p of ["/", "/etc/", "/etc/."]) expect(msgs((i) => checkFilePath(i, "path", p))).toEqual(["path: names a folder; give the path of a file"]);
    expect(msgs((i) => checkFilePath(i, "path", "/etc/hosts"))).toEqual([]);
  });
});

describe("hosts, units and signals", () => {
  test("an address with an octet over 255 is not a host name", () => {
    for (const bad of ["10.0.0.300", "1.2.3", "999", "10.0.0.1.5", "-a.example", "a..b", ""]) expect([bad, isHostOrIPv4(bad)]).toEqual([bad, false]);
    for (const ok of ["10.0.0.1", "gluster1", "gluster1.lab.example", "node-1.c0"]) expect([ok, isHostOrIPv4(ok)]).toEqual([ok, true]);
  });

  test("unit names: systemd's characters only, no option look-alike", () => {
    const bad = ["dnsmasq; reboot", "dnsmasq\n", "dns\0masq", "-dnsmasq", "a b", "$(id)", "x".repeat(256), ""];
    for (const u of bad) {
      const i = new Issues(R);
      expect([u, checkUnitName(i, "signal.systemdUnit", u)]).toEqual([u, false]);
      expect(i.list[0].field).toBe("signal.systemdUnit");
    }
    for (const u of ["dnsmasq", "dnsmasq@pxe.service", "nginx.service", "a:b_c.d\\x2d"]) expect(checkUnitName(new Issues(R), "u", u)).toBe(true);
  });

  test("signal names: the closed set", () => {
  });
});

describe("file modes: one form inside (a number), the schema's string only at the edge", () => {
  test("check's parse names the field and the value of a mode that is not octal permission bits", () => {
    for (const bad of ["0999", "rwx", "rw-r--r--", "077777", "0x1ff", 420]) {
      const issues = new Issues(R);
      expect(parseMode(issues, 'files["/a"].mode', bad)).toBe(0o644);
      expect(issues.list.map(formatIssue)).toEqual([`${R}: files["/a"].mode = ${show(bad)}: must be octal permission bits such as "0644"`]);
    }
    const issues = new Issues(R);
    expect([parseMode(issues, "mode", "0640"), parseMode(issues, "mode", "755"), parseMode(issues, "mode", "04755"), parseMode(issues, "mode", undefined, 0o600)]).toEqual([0o640, 0o755, 0o4755, 0o600]);
    expect(issues.ok).toBe(true);
  });

  test("modeOf takes only what check passed (a bad mode past check is a bug: it throws, never a silent 0644)", () => {
    expect(modeOf("0640")).toBe(0o640);
    expect(modeOf(undefined, 0o600)).toBe(0o600);
    expect(() => modeOf("rwx")).toThrow(/internal: mode "rwx" reached past check/);
    expect(() => modeOf("0999")).toThrow(/must be octal permission bits/);
  });

  test("modeString is the schema's form and round-trips through modeOf", () => {
    for (const m of [0o644, 0o600, 0o755, 0o1777, 0o4755, 0o7]) expect(modeOf(modeString(m))).toBe(m);
    expect([modeString(0o644), modeString(0o1777), modeString(0o7)]).toEqual(["0644", "01777", "0007"]);
  });
});
