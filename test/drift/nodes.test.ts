import { diffFields, diffNodes } from "../../provider/drift/nodes";

const n = (i: number, extra: Record<string, unknown> = {}) => ({ name: `n${i}`, macs: [`52:54:00:00:00:0${i}`], ip: `10.0.0.${i}`, ...extra });

describe("diffNodes", () => {
  test("names the field of the one node that changed", () => {
    expect(diffNodes("nodes", [n(1), n(2), n(3)], [n(1), n(2, { kernelArgs: "nb.debug=1" }), n(3)])).toEqual([{ path: "nodes[1].kernelArgs", kind: "add" }]);
    expect(diffNodes("nodes", [n(1, { kernelArgs: "a" })], [n(1, { kernelArgs: "b" })])).toEqual([{ path: "nodes[0].kernelArgs", kind: "update" }]);
    expect(diffNodes("nodes", [n(1, { kernelArgs: "a" })], [n(1)])).toEqual([{ path: "nodes[0].kernelArgs", kind: "delete" }]);
    expect(diffNodes("nodes", [n(1)], [{ ...n(1), macs: ["52:54:00:00:00:01", "52:54:00:00:01:01"] }])).toEqual([{ path: "nodes[0].macs", kind: "update" }]);
  });

  test("nodes added or removed at the end are whole entries; an absent field equals an undefined one", () => {
    expect(diffNodes("nodes", [n(1)], [n(1), n(2)])).toEqual([{ path: "nodes[1]", kind: "add" }]);
    expect(diffNodes("nodes", [n(1), n(2)], [n(1)])).toEqual([{ path: "nodes[1]", kind: "delete" }]);
    expect(diffNodes("nodes", [n(1)], [n(1, { firmware: undefined })])).toEqual([]);
  });

  test("fields of one object", () => {
    expect(diffFields("boot", { localDisk: true }, { kernelUrl: "http://x/k", initrdUrl: "http://x/i" }).map((c) => c.path)).toEqual(["boot.initrdUrl", "boot.kernelUrl", "boot.localDisk"]);
    expect(diffFields("boot", undefined, { localDisk: true })).toEqual([{ path: "boot", kind: "add" }]);
    expect(diffFields("boot", { localDisk: true }, { localDisk: true })).toEqual([]);
  });
});
