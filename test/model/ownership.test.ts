import { PathOwners } from "../../provider/model/ownership";

describe("PathOwners", () => {
  const H = "local:/tmp/t";

  test("a path claimed by a second resource is refused, naming the holder and its field", () => {
    const o = new PathOwners();
    expect(o.claim("urn:a", [{ host: H, path: "/etc/x", field: "path" }])).toEqual([]);
    expect(o.claim("urn:b", [{ host: H, path: "/etc//x", field: 'files["/etc//x"]' }, { host: H, path: "/etc/y", field: 'files["/etc/y"]' }])).toEqual([
      { host: H, path: "/etc//x", field: 'files["/etc//x"]', holder: "urn:a", holderField: "path" },
    ]);
  });

  test("the same path on another host, or claimed again by its owner, is no conflict", () => {
    const o = new PathOwners();
    o.claim("urn:a", [{ host: H, path: "/etc/x", field: "path" }]);
    expect(o.claim("urn:b", [{ host: "ssh:root@10.0.0.1:22", path: "/etc/x", field: "path" }])).toEqual([]);
    expect(o.claim("urn:a", [{ host: H, path: "/etc/x", field: "path" }])).toEqual([]);
  });

  test("an owner that lets go of a path frees it", () => {
    const o = new PathOwners();
    o.claim("urn:a", [{ host: H, path: "/etc/x", field: "path" }]);
    o.claim("urn:a", [{ host: H, path: "/etc/z", field: "path" }]);
    expect(o.claim("urn:b", [{ host: H, path: "/etc/x", field: "path" }])).toEqual([]);
    o.release("urn:a");
    expect(o.claim("urn:c", [{ host: H, path: "/etc/z", field: "path" }])).toEqual([]);
  });
});
