#!/usr/bin/env node
// Generates schema/cluster.schema.json (the YAML inventory's JSON Schema) from schema/schema.json, so the two
// cannot drift: every key of a server, volume, image, group or node takes its shape (type, enum values, nested
// objects, map values) and, unless the inventory says otherwise, its description from the component input it is
// passed to. What this file adds is only what the inventory itself means: which inputs an entry may set, which
// are required there (defaults fill `host` and `server`), its own keys (`volume`, `image`, a node's `mac`, an SSH
// `privateKeyFile` instead of the key), and constraints JSON Schema can say before the model runs (patterns,
// ranges), written against the shared definitions below.
// `node scripts/gen-inventory-schema.js --check` fails when the committed file is stale.
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "schema/schema.json"), "utf8"));
const out = path.join(root, "schema/cluster.schema.json");

const IPV4 = "((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const def = (n) => ({ $ref: `#/definitions/${n}` });
const PORT = { minimum: 1, maximum: 65535 };
const NONEMPTY = { minLength: 1 };

const typeOf = (ref) => {
  const t = pkg.types[ref.replace(/^#\/types\//, "")];
  if (!t) throw new Error(`schema/schema.json: no type ${ref}`);
  return t;
};
const inputs = (tok) => pkg.resources[`netboot:index:${tok}`].inputProperties;
const props = (tok) => pkg.types[`netboot:index:${tok}`].properties;

/** The JSON Schema shape of a Pulumi schema property: an enum becomes its values, an object type its fields. */
function derive(p) {
  if (p.$ref) {
    const t = typeOf(p.$ref);
    if (Array.isArray(t.enum)) return { enum: t.enum.map((e) => e.value) };
    return { type: "object", additionalProperties: false, properties: {}, _from: t.properties };
  }
  switch (p.type) {
    case "string": case "integer": case "number": case "boolean": return { type: p.type };
    case "array": return { type: "array", _items: p.items };
    case "object": return { type: "object", additionalProperties: derive(p.additionalProperties) };
    default: throw new Error(`unsupported property ${JSON.stringify(p)}`);
  }
}

/**
 * One key: the schema property `p` (undefined for the inventory's own keys) with the inventory's overlay `ov`:
 * `$ref` to a definition (checked to be a string field), `properties` of a nested object (a key list: only these
 * keys, in this order), `items` of a list, `description`, and plain JSON Schema constraints.
 */
function build(p, ov = {}, where) {
  const { properties, items, description, ...constraints } = ov;
  let s;
  if (!p) s = {};
  else if (ov.$ref) {
    // a definition narrows a string (or enum) field; `host` is the inventory's form of the Host type
    const fits = ov.$ref === "#/definitions/host" ? p.$ref === "#/types/netboot:index:Host" : p.type === "string" || (p.$ref && Array.isArray(typeOf(p.$ref).enum));
    if (!fits) throw new Error(`${where}: ${JSON.stringify(p)} cannot take ${ov.$ref}`);
    s = {};
  } else s = derive(p);
  const { _from, _items, ...shape } = s;
  const r = { ...shape, ...constraints };
  if (_from || properties) r.properties = object(_from || {}, properties || Object.fromEntries(Object.keys(_from).map((k) => [k, {}])), where);
  if (_items || items) r.items = build(_items, items, `${where}[]`);
  // a key narrowed to a definition keeps that definition's description (parse.ts hints with it: "An IPv4
  // address, e.g. ..." says what to write); docs/reference.md shows the component input's next to it
  const d = description ?? (p && !ov.$ref ? p.description : undefined);
  if (d) r.description = d;
  return r;
}

/** The keys of `keys` (in order), each built from the schema's `from[key]` unless marked `own`. */
function object(from, keys, where) {
  const o = {};
  for (const [k, ov] of Object.entries(keys)) {
    const { own, ...rest } = ov;
    if (!own && !from[k]) throw new Error(`${where}.${k}: not a field of the schema (mark the inventory's own keys \`own: true\`)`);
    o[k] = build(own ? undefined : from[k], rest, `${where}.${k}`);
  }
  return o;
}

/** An entry: keys built from a component's inputs, `required` as the inventory requires them. */
const entry = (from, keys, required, where, extra = {}) => ({
  type: "object",
  additionalProperties: false,
  ...(required.length ? { required } : {}),
  ...extra,
  properties: object(from, keys, where),
});

const host = {
  type: "object",
  additionalProperties: false,
  description: "Where files are written: a local folder (`root`) or a machine reached over SSH.",
  properties: object(props("Host"), {
    root: { ...NONEMPTY, description: "Local target folder; a relative path is relative to the inventory file's folder." },
    systemd: {},
    ssh: {
      required: ["host", "hostKey", "privateKeyFile"],
      description: "An SSH connection. The private key stays out of the inventory: name a file on the machine running `pulumi up`.",
      properties: {
        host: NONEMPTY,
        port: PORT,
        user: NONEMPTY,
        hostKey: { pattern: "^(ssh-|ecdsa-)" },
        privateKeyFile: { own: true, type: "string", ...NONEMPTY, description: "File holding the PEM private key; read at deployment time and kept secret in state." },
      },
    },
  }, "host"),
};

const server = entry(inputs("PxeServer"), {
  host: { $ref: "#/definitions/host" },
  interface: { pattern: "^[A-Za-z0-9_.:-]{1,15}$" },
  subnet: def("cidr"),
  serverIp: def("ipv4"),
  dhcpMode: {},
  dynamicRange: { required: ["start", "end"], properties: { start: def("ipv4"), end: def("ipv4"), leaseTime: { pattern: "^([0-9]+[smhdw]?|infinite)$" } } },
  domain: {},
  bootFiles: {},
  ipxeFiles: { description: "Boot file name -> path of the binary on the build host." },
  httpPort: PORT,
  baseDir: def("absPath"),
  dnsmasqUnit: {},
}, ["interface", "subnet", "serverIp", "dhcpMode"], "server");

const volume = entry(inputs("GlusterVolume"), {
  host: def("host"),
  volumeName: { description: "Volume name (default: the entry's name)." },
  mode: {},
  bricks: { minItems: 1, items: { required: ["host", "path"], properties: { host: NONEMPTY, path: def("absPath"), port: PORT } } },
  layout: {},
  replica: { minimum: 2 },
  disperse: { minimum: 3 },
  redundancy: { minimum: 1 },
  options: {},
  clusterSubnet: def("cidr"),
  allowSameHostSets: {},
  stateDir: def("absPath"),
  glusterdSocket: {},
  force: {},
}, ["mode", "bricks", "layout", "clusterSubnet"], "volume");

const image = entry(inputs("BootImage"), {
  server: { own: true, ...def("name"), description: "The server (a key of `servers`) that publishes the image; default `defaults.server`." },
  volume: { own: true, ...def("name"), description: "Transport glusterfs: the volume (a key of `volumes`) whose client volfile the image mounts." },
  kernelVersion: {},
  kernelPath: def("absPath"),
  modulesDir: def("absPath"),
  imageSource: NONEMPTY,
  transport: {},
  nfsExport: {},
  imagePath: def("absPath"),
  mode: {},
  hybridPaths: { items: def("absPath") },
  handoff: {},
  modules: {},
  compression: {},
  onFailure: {},
  kernelArgs: {},
  publishImage: { description: "glusterfs/nfs: publish the OS image onto the volume or export (default true; the build host mounts it)." },
}, ["imageSource", "transport"], "image");

const group = entry(inputs("NodeGroup"), {
  server: { own: true, ...def("name"), description: "The server (a key of `servers`); default `defaults.server`." },
  image: { own: true, ...def("name"), description: "The image (a key of `images`) the group boots. Give either `image` or `boot`." },
  boot: {
    description: "What the group boots when it uses no image: URLs (relative ones are relative to the server's HTTP root) or the local disk.",
    properties: { kernelUrl: NONEMPTY, initrdUrl: NONEMPTY, args: {}, localDisk: {} },
  },
  nodes: {
    items: {
      required: ["name", "ip"],
      description: "A node: `mac` (one) or `macs` (several).",
      properties: {
        name: def("name"),
        mac: { own: true, ...def("mac"), description: "The node's MAC address (shorthand for a one-entry `macs`)." },
        macs: { minItems: 1, items: def("mac") },
        ip: def("ipv4"),
        firmware: {},
        kernelArgs: {},
        tags: {},
        overlay: {},
      },
    },
  },
  overlay: {},
}, ["nodes"], "group");

const section = (what, ref) => ({
  type: "object",
  description: `${what}, by name.`,
  propertyNames: def("name"),
  additionalProperties: def(ref),
});

const inventory = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: "https://netboot.local/schema/cluster.schema.json",
  title: "netboot cluster inventory",
  description: "A whole diskless cluster as data: PXE servers, GlusterFS volumes, boot images and node groups. Read by the `netboot:index:Cluster` component. Every section is a map from a name (a lower-case DNS label, which becomes the resource name and names the files on the host) to the settings of one component; the settings are the component's inputs (see docs/reference.md), plus the references between entries named here. GENERATED by scripts/gen-inventory-schema.js from schema/schema.json: do not edit by hand.",
  type: "object",
  additionalProperties: false,
  required: ["version"],
  properties: {
    version: { const: 1, description: "Format version of this file: `1`." },
    description: { type: "string", description: "Free text about the cluster." },
    defaults: {
      type: "object",
      additionalProperties: false,
      description: "Values every entry inherits unless it sets its own.",
      properties: {
        host: { ...def("host"), description: "Host of servers and volumes that name none." },
        server: { ...def("name"), description: "Server of images and groups that name none." },
      },
    },
    servers: section("PXE servers (netboot:index:PxeServer)", "server"),
    volumes: section("GlusterFS volumes (netboot:index:GlusterVolume)", "volume"),
    images: section("Boot images (netboot:index:BootImage)", "image"),
    groups: section("Node groups (netboot:index:NodeGroup)", "group"),
  },
  definitions: {
    name: { type: "string", pattern: "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", description: "A lower-case DNS label, e.g. `compute` or `rack-1`." },
    ipv4: { type: "string", pattern: `^${IPV4}$`, description: "An IPv4 address, e.g. `10.0.0.1`." },
    cidr: { type: "string", pattern: `^${IPV4}/([0-9]|[12][0-9]|3[0-2])$`, description: "An IPv4 network in CIDR notation, e.g. `10.0.0.0/24`." },
    mac: { type: "string", pattern: "^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$", description: "A MAC address, e.g. `52:54:00:12:34:56`." },
    absPath: { type: "string", pattern: "^/", description: "An absolute path, e.g. `/srv/netboot`." },
    host,
    server,
    volume,
    image,
    group,
  },
};

const text = JSON.stringify(inventory, null, 2) + "\n";
if (process.argv.includes("--check")) {
  const cur = fs.existsSync(out) ? fs.readFileSync(out, "utf8") : "";
  if (cur !== text) {
    console.error("schema/cluster.schema.json is stale: run `npm run gen` and commit the result.");
    process.exit(1);
  }
} else {
  // temp file + rename: the provider reads this file at run time and must never see half of it
  fs.writeFileSync(`${out}.tmp`, text);
  fs.renameSync(`${out}.tmp`, out);
  console.error(`wrote ${path.relative(root, out)}`);
}
