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

  test("a folder claim (ending in /) holds everything below it, either way round; a path beside it is free", () => {
    const o = new PathOwners();
    expect(o.claim("urn:img", [{ host: H, path: "/srv/http/images/web/", field: "name" }])).toEqual([]);
    expect(o.claim("urn:f", [{ host: H, path: "/srv/http/images/web/sub/initrd.img", field: "path" }])).toEqual([
      { host: H, path: "/srv/http/images/web/sub/initrd.img", field: "path", holder: "urn:img", holderField: "name" },
    ]);
    expect(o.claim("urn:f", [{ host: H, path: "/srv/http/images/web", field: "path" }])[0]?.holder).toBe("urn:img");
    expect(o.claim("urn:f", [{ host: H, path: "/srv/http/images/web2/x", field: "path" }, { host: H, path: "/srv/http/images/web.txt", field: "path" }])).toEqual([]);
    // the other way round: a folder claimed after a file in it, or a folder holding a claimed folder
    expect(o.claim("urn:img2", [{ host: H, path: "/srv/http/images/web2/", field: "name" }])[0]).toMatchObject({ holder: "urn:f", holderField: "path" });
    expect(o.claim("urn:img3", [{ host: H, path: "/srv/http/", field: "name" }])[0]?.holder).toMatch(/^urn:(img|f)$/);
    // let go, the folder is free again
    o.release("urn:img");
    expect(o.claim("urn:img2", [{ host: H, path: "/srv/http/images/web/", field: "name" }])).toEqual([]);
  });
});
