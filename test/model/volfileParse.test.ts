import { parseVolfile, xlatorTypes, topVolume, VolfileParseError } from "../../provider/model/volfileParse";

describe("parseVolfile", () => {
  const text = `
# a comment line
volume v-client-0
    type protocol/client
    option remote-host 10.88.1.1
    option remote-subvolume /data/brick1
    option ping-timeout 42
    option ping-timeout 10
end-volume
volume v-client-1
  type protocol/client   option remote-host "10.88.1.2" option remote-subvolume /data/b#2
end-volume
volume /data/brick1
    type cluster/replicate
    option odd "has space and \\"quote\\" and \\\\ backslash"
    option kw "volume"
    subvolumes v-client-0 v-client-1
end-volume
volume v
    type debug/io-stats
    subvolumes /data/brick1
end-volume
`;

  it("reads volumes, types, options (last repeated key wins), subvolumes and the top", () => {
    const g = parseVolfile(text);
    expect(g.volumes.map((v) => v.name)).toEqual(["v-client-0", "v-client-1", "/data/brick1", "v"]);
    expect(g.volumes[0].options).toEqual({ "remote-host": "10.88.1.1", "remote-subvolume": "/data/brick1", "ping-timeout": "10" });
    expect(g.volumes[1].options["remote-host"]).toBe("10.88.1.2");
    expect(g.volumes[1].options["remote-subvolume"]).toBe("/data/b#2");
    expect(g.volumes[2].options.odd).toBe('has space and "quote" and \\ backslash');
    expect(g.volumes[2].options.kw).toBe("volume");
    expect(g.volumes[2].subvolumes).toEqual(["v-client-0", "v-client-1"]);
    expect(topVolume(g).name).toBe("v");
    expect(xlatorTypes(g)).toEqual(["protocol/client", "cluster/replicate", "debug/io-stats"]);
  });

  it("drops a raw newline inside quotes", () => {
    const g = parseVolfile('volume a\n type x/y\n option k "ab\ncd"\nend-volume\n');
    expect(g.volumes[0].options.k).toBe("abcd");
  });

  const bad: Array<[string, string, RegExp]> = [
    ["backtick", "volume a\n type x/y\n option k `id`\nend-volume\n", /backtick/],
    ["backtick in quotes", 'volume a\n type x/y\n option k "`id`"\nend-volume\n', /backtick/],
    ["undefined subvolume", "volume a\n type x/y\n subvolumes b\nend-volume\n", /not defined earlier/],
    ["type not first", "volume a\n option k v\n type x/y\nend-volume\n", /type/],
    ["two subvolumes lines", "volume a\n type x/y\nend-volume\nvolume b\n type x/y\n subvolumes a\n subvolumes a\nend-volume\n", /more than one/],
    ["missing end-volume", "volume a\n type x/y\n", /end-volume/],
    ["unquoted keyword value", "volume a\n type x/y\n option k volume\nend-volume\n", /keyword/],
    ["empty", "# nothing\n", /no volume/],
    ["duplicate volume", "volume a\n type x/y\nend-volume\nvolume a\n type x/y\nend-volume\n", /twice/],
    ["unterminated string", 'volume a\n type x/y\n option k "abc\nend-volume\n', /unterminated/],
  ];
  it.each(bad)("refuses %s", (_n, t, re) => {
    expect(() => parseVolfile(t)).toThrow(VolfileParseError);
    expect(() => parseVolfile(t)).toThrow(re);
  });

  it("names the line of the error", () => {
    expect(() => parseVolfile("volume a\n type x/y\n\n bogus\nend-volume\n")).toThrow(/line 4/);
  });
});
