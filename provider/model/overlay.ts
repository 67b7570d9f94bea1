/**
 * The validated model of a node group's overlay: the files laid over a node's root at boot (Warewulf's system
 * and runtime overlays). Group files apply to every node of the group, node files to one node; both may be
 * templates over the node's variables. Every problem is reported at once, each with its field, and a template
 * that names a variable some node lacks is an error naming the file, the variable and the node: it fails at
 * preview, before anything is written, not at boot.
 */
import { checkFilePath, checkSafe, Issues, parseMode } from "./errors";
import { isHostname, parseIPv4 } from "./net";

/** One file of an overlay, as validated. `field` is where it came from (for messages). */
export interface OverlayFile {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  content: string;
  template: boolean;
  secret: boolean;
  field: string;
}

export interface HostEntry {
  ip: string;
  names: string[];
}

export interface GroupOverlayModel {
  files: OverlayFile[];
  /** The files of the image the group boots (its boot target's `overlay`, a BootImage's): under the group's. */
  imageFiles: OverlayFile[];
  /** `/etc/hostname` with the node's name (default on). */
  hostname: boolean;
  /** `/etc/hosts` with the server, the group's nodes and `extraHosts` (default on). */
  hosts: boolean;
  extraHosts: HostEntry[];
  /** `/etc/resolv.conf` instead of DHCP's (none: DHCP's, kept up to date by the keeper). */
  resolver?: Resolver;
  /** `/root/.ssh/authorized_keys` lines (none: no file). */
  authorizedKeys: string[];
  /** Tags every node of the group has (a node's own tags win). */
  tags: Record<string, string>;
  /** Per-node SSH host keys, generated once and kept in state as secrets. */
  hostKeys: boolean;
  /** Change (e.g. increase) to generate new host keys for every node. */
  rotateHostKeys: number;
}

export interface Resolver {
  nameservers: string[];
  search: string[];
}

export interface NodeOverlayModel {
  files: OverlayFile[];
  tags: Record<string, string>;
}

/** What a template may name: these, and `tags.<key>` for the node's tags. */
export const TEMPLATE_VARIABLES = ["name", "group", "ip", "mac", "macs", "domain", "serverIp", "serverName"] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

/** The facts of one node that its templates and built-ins are rendered from. */
export interface NodeFacts {
  name: string;
  group: string;
  ip: string;
  macs: string[];
  domain?: string;
  serverIp: string;
  serverName: string;
  tags: Record<string, string>;
}

/** The cpio overlay caps what one node's archive may hold: it is fetched into RAM by the initramfs. */
export const OVERLAY_MAX_BYTES = 16 * 1024 * 1024;

/** A property bag from the engine, not yet validated. */
type Bag = Record<string, unknown>;

const TAG_KEY = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
/** `{{ name }}`, `{{tags.rack}}`: an identifier, dots between parts. Anything else after `{{` is an error. */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)\s*\}\}/y;

export type TemplatePart = { kind: "text"; text: string } | { kind: "var"; name: string };

/**
 * Splits a template into text and variables. `{{` opens a variable and must be followed by a name and `}}`;
 * a literal `{{` is written `{{ "{{" }}`, the one escape, so no text is ever half-read as a variable.
 */
export function parseTemplate(content: string): { parts: TemplatePart[]; errors: string[] } {
  const parts: TemplatePart[] = [];
  const errors: string[] = [];
  let i = 0;
  let text = "";
  while (i < content.length) {
    const open = content.indexOf("{{", i);
    if (open < 0) {
      text += content.slice(i);
      break;
    }
    text += content.slice(i, open);
    if (content.startsWith('{{ "{{" }}', open)) {
      text += "{{";
      i = open + '{{ "{{" }}'.length;
      continue;
    }
    PLACEHOLDER.lastIndex = open;
    const m = PLACEHOLDER.exec(content);
    if (!m) {
      const line = content.slice(0, open).split("\n").length;
      errors.push(`line ${line}: \`{{\` must open a variable such as {{ name }} (a literal \`{{\` is written {{ "{{" }})`);
      text += "{{";
      i = open + 2;
      continue;
    }
    if (text) parts.push({ kind: "text", text });
    text = "";
    parts.push({ kind: "var", name: m[1] });
    i = open + m[0].length;
  }
  if (text) parts.push({ kind: "text", text });
  return { parts, errors };
}

/** The value of a variable for a node, or undefined when the node has no such variable. */
export function variableOf(n: NodeFacts, name: string): string | undefined {
  if (name.startsWith("tags.")) {
    const key = name.slice(5);
    return Object.prototype.hasOwnProperty.call(n.tags, key) ? n.tags[key] : undefined;
  }
  switch (name as TemplateVariable) {
    case "name":
      return n.name;
    case "group":
      return n.group;
    case "ip":
      return n.ip;
    case "mac":
      return n.macs[0];
    case "macs":
      return n.macs.join(",");
    case "domain":
      return n.domain;
    case "serverIp":
      return n.serverIp;
    case "serverName":
      return n.serverName;
    default:
      return undefined;
  }
}

/** Renders a template that checkTemplates accepted; a variable missing here is a bug, so it throws. */
export function renderTemplate(parts: TemplatePart[], n: NodeFacts, file: string): string {
  return parts
    .map((p) => {
      if (p.kind === "text") return p.text;
      const v = variableOf(n, p.name);
      if (v === undefined) throw new Error(`overlay ${file}: template variable ${p.name} is not defined for node ${n.name}`);
      return v;
    })
    .join("");
}

function knownVariables(n: NodeFacts): string {
  const tags = Object.keys(n.tags).sort().map((k) => `tags.${k}`);
  return [...TEMPLATE_VARIABLES.filter((v) => variableOf(n, v) !== undefined), ...tags].join(", ");
}

/**
 * Every template variable each node's files name must be defined for that node: one issue per file and
 * variable, naming the nodes that lack it (the first few), so a typo in a group file is one line, not 200.
 */
export function checkTemplates(issues: Issues, group: GroupOverlayModel, nodes: Array<{ facts: NodeFacts; overlay?: NodeOverlayModel }>): void {
  const missing = new Map<string, { field: string; file: string; variable: string; nodes: string[]; known: string }>();
  const parsed = new Map<OverlayFile, TemplatePart[]>();
  const partsOf = (f: OverlayFile) => {
    let p = parsed.get(f);
    if (!p) {
      const r = parseTemplate(f.content);
      for (const e of r.errors) issues.add(`${f.field}.content`, undefined, `template ${f.path}: ${e}`);
      parsed.set(f, (p = r.parts));
    }
    return p;
  };
  for (const { facts, overlay } of nodes) {
    for (const f of [...group.imageFiles, ...group.files, ...(overlay?.files ?? [])]) {
      if (!f.template) continue;
      for (const part of partsOf(f)) {
        if (part.kind !== "var" || variableOf(facts, part.name) !== undefined) continue;
        const key = `${f.field}\0${part.name}`;
        const m = missing.get(key) ?? { field: `${f.field}.content`, file: f.path, variable: part.name, nodes: [], known: knownVariables(facts) };
        m.nodes.push(facts.name);
        missing.set(key, m);
      }
    }
  }
  for (const m of missing.values()) {
    const who = m.nodes.length > 3 ? `${m.nodes.slice(0, 3).join(", ")} and ${m.nodes.length - 3} more` : m.nodes.join(", ");
    issues.add(m.field, undefined, `template ${m.file}: variable ${m.variable} is not defined for node ${who} (defined: ${m.known})`);
  }
}

function parseOwner(issues: Issues, field: string, v: unknown): [number, number] {
  if (v === undefined || v === null || v === "") return [0, 0];
  const m = typeof v === "string" ? /^(\d{1,10}):(\d{1,10})$/.exec(v) : null;
  // Numbers, not names: names resolve in the node image's /etc/passwd, which the provider does not read.
  if (!m || Number(m[1]) > 0xfffffffe || Number(m[2]) > 0xfffffffe) {
    issues.add(field, v, "must be a numeric owner `uid:gid` such as \"0:0\" (names depend on the image's /etc/passwd)");
    return [0, 0];
  }
  return [Number(m[1]), Number(m[2])];
}

/** A list of overlay files (`files` of a group, a node or a BootImage), every problem reported. */
export function parseOverlayFiles(issues: Issues, field: string, raw: unknown): OverlayFile[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    issues.add(field, raw, "must be a list of files");
    return [];
  }
  const out: OverlayFile[] = [];
  const seen = new Map<string, string>();
  raw.forEach((item: unknown, i: number) => {
    const ff = `${field}[${i}]`;
    if (!item || typeof item !== "object") {
      issues.add(ff, item, "must be a file: { path, content, mode?, owner?, template?, secret? }");
      return;
    }
    const f = item as Bag & { path: string; content: string };
    let ok = checkFilePath(issues, `${ff}.path`, f.path);
    if (ok && seen.has(f.path)) {
      issues.add(`${ff}.path`, f.path, `is also given by ${seen.get(f.path)}`);
      ok = false;
    }
    if (ok) seen.set(f.path, ff);
    if (typeof f.content !== "string") {
      issues.add(`${ff}.content`, f.secret ? undefined : f.content, "must be a string");
      ok = false;
    } else if (Buffer.byteLength(f.content) > OVERLAY_MAX_BYTES) {
      issues.add(`${ff}.content`, undefined, `is ${Buffer.byteLength(f.content)} bytes; an overlay holds at most ${OVERLAY_MAX_BYTES}`);
      ok = false;
    }
    for (const k of ["template", "secret"] as const)
      if (f[k] !== undefined && typeof f[k] !== "boolean") {
        issues.add(`${ff}.${k}`, f[k], "must be true or false");
        ok = false;
      }
    const secret = f.secret === true;
    // A secret is readable by its owner only unless the user says otherwise.
    const mode = parseMode(issues, `${ff}.mode`, f.mode, secret ? 0o600 : 0o644);
    const [uid, gid] = parseOwner(issues, `${ff}.owner`, f.owner);
    if (ok) out.push({ path: f.path, mode, uid, gid, content: f.content, template: f.template === true, secret, field: ff });
  });
  return out;
}

function parseTags(issues: Issues, field: string, raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    issues.add(field, raw, "must be a map of tag names to strings");
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!TAG_KEY.test(k)) issues.add(`${field}.${k}`, k, "tag names are letters, digits, `_` and `-` (at most 64), starting with a letter or `_`");
    else if (checkSafe(issues, `${field}.${k}`, v, { max: 1024 })) out[k] = v as string;
  }
  return out;
}

function parseHostEntries(issues: Issues, field: string, raw: unknown): HostEntry[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    issues.add(field, raw, "must be a list of { ip, names }");
    return [];
  }
  const out: HostEntry[] = [];
  raw.forEach((item: unknown, i: number) => {
    const f = `${field}[${i}]`;
    const e = (item ?? {}) as { ip?: unknown; names?: unknown[] };
    let ok = true;
    if (parseIPv4(e?.ip) === undefined) {
      issues.add(`${f}.ip`, e?.ip, "is not an IPv4 address");
      ok = false;
    }
    if (!Array.isArray(e?.names) || e.names.length === 0) {
      issues.add(`${f}.names`, e?.names, "must list at least one host name");
      ok = false;
    } else
      e.names.forEach((n: unknown, j: number) => {
        // Dotted names (node.cluster.example) are host names too in /etc/hosts.
        if (typeof n !== "string" || !n.split(".").every(isHostname)) {
          issues.add(`${f}.names[${j}]`, n, "must be a host name");
          ok = false;
        }
      });
    if (ok) out.push({ ip: e.ip as string, names: [...(e.names as string[])] });
  });
  return out;
}

/** glibc reads at most 3 name servers (MAXNS) and 6 search domains (MAXDNSRCH); more would be dropped silently. */
function parseResolver(issues: Issues, field: string, raw: unknown): Resolver | undefined {
  if (raw === undefined || raw === null) return undefined;
  const r = raw as { nameservers?: unknown; search?: unknown };
  if (typeof raw !== "object" || Array.isArray(raw)) {
    issues.add(field, raw, "must be a resolver: { nameservers, search? }");
    return undefined;
  }
  const out: Resolver = { nameservers: [], search: [] };
  if (!Array.isArray(r.nameservers) || r.nameservers.length === 0 || r.nameservers.length > 3)
    issues.add(`${field}.nameservers`, r.nameservers, "must list 1 to 3 IPv4 addresses (glibc reads 3)");
  if (Array.isArray(r.nameservers))
    r.nameservers.forEach((a: unknown, i: number) => {
      if (parseIPv4(a) === undefined) issues.add(`${field}.nameservers[${i}]`, a, "is not an IPv4 address");
      else out.nameservers.push(a as string);
    });
  if (r.search !== undefined && (!Array.isArray(r.search) || r.search.length > 6)) issues.add(`${field}.search`, r.search, "must list at most 6 domains (glibc reads 6)");
  if (Array.isArray(r.search))
    r.search.forEach((d: unknown, i: number) => {
      if (typeof d !== "string" || !d.split(".").every(isHostname)) issues.add(`${field}.search[${i}]`, d, "must be a DNS domain such as cluster.local");
      else out.search.push(d);
    });
  return out;
}

/** An `authorized_keys` line: a key type and base64 blob, optionally options before and a comment after. */
function checkAuthorizedKey(issues: Issues, field: string, v: unknown): boolean {
  if (typeof v !== "string" || /[\r\n\0]/.test(v) || !/(^|\s)(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+)\s+[A-Za-z0-9+/]+={0,2}(\s|$)/.test(v)) {
    issues.add(field, v, "must be one authorized_keys line such as \"ssh-ed25519 AAAA... user@host\"");
    return false;
  }
  return true;
}

function bool(issues: Issues, field: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "boolean") {
    issues.add(field, v, "must be true or false");
    return dflt;
  }
  return v;
}

/**
 * The group's overlay (`overlay` of a NodeGroup); an absent overlay is the built-ins' defaults. The image's
 * files (`imageFiles`) come from the boot target and are set by the NodeGroup model.
 */
export function buildGroupOverlay(issues: Issues, field: string, raw: unknown): GroupOverlayModel {
  const o = (raw ?? {}) as Bag;
  if (typeof o !== "object" || Array.isArray(o)) {
    issues.add(field, raw, "must be an overlay: { files?, hostname?, hosts?, extraHosts?, resolver?, authorizedKeys?, tags?, hostKeys?, rotateHostKeys? }");
    return { files: [], imageFiles: [], hostname: true, hosts: true, extraHosts: [], authorizedKeys: [], tags: {}, hostKeys: false, rotateHostKeys: 0 };
  }
  const keys: string[] = [];
  if (o.authorizedKeys !== undefined) {
    if (!Array.isArray(o.authorizedKeys)) issues.add(`${field}.authorizedKeys`, o.authorizedKeys, "must be a list of authorized_keys lines");
    else o.authorizedKeys.forEach((k: unknown, i: number) => checkAuthorizedKey(issues, `${field}.authorizedKeys[${i}]`, k) && keys.push(k as string));
  }
  let rotate = 0;
  if (o.rotateHostKeys !== undefined) {
    if (typeof o.rotateHostKeys !== "number" || !Number.isInteger(o.rotateHostKeys) || o.rotateHostKeys < 0)
      issues.add(`${field}.rotateHostKeys`, o.rotateHostKeys, "must be a whole number >= 0 (change it to rotate every node's host keys)");
    else rotate = o.rotateHostKeys;
  }
  return {
    files: parseOverlayFiles(issues, `${field}.files`, o.files),
    imageFiles: [],
    hostname: bool(issues, `${field}.hostname`, o.hostname, true),
    hosts: bool(issues, `${field}.hosts`, o.hosts, true),
    extraHosts: parseHostEntries(issues, `${field}.extraHosts`, o.extraHosts),
    ...(o.resolver !== undefined ? { resolver: parseResolver(issues, `${field}.resolver`, o.resolver) } : {}),
    authorizedKeys: keys,
    tags: parseTags(issues, `${field}.tags`, o.tags),
    hostKeys: bool(issues, `${field}.hostKeys`, o.hostKeys, false),
    rotateHostKeys: rotate,
  };
}

/**
 * An image's overlay (a BootImage's `overlay`, and the `boot.overlay` it reaches its groups in): files only. Its
 * templates' variables are checked by each NodeGroup, which knows the nodes.
 */
export function parseImageOverlay(issues: Issues, field: string, raw: unknown): OverlayFile[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== "object" || Array.isArray(raw)) {
    issues.add(field, raw, "must be an overlay: { files }");
    return [];
  }
  return parseOverlayFiles(issues, `${field}.files`, (raw as Bag).files);
}

/** A node's own overlay (`nodes[i].overlay`) and tags (`nodes[i].tags`). */
export function buildNodeOverlay(issues: Issues, field: string, overlay: unknown, tags: unknown): NodeOverlayModel {
  if (overlay !== undefined && overlay !== null && (typeof overlay !== "object" || Array.isArray(overlay))) issues.add(`${field}.overlay`, overlay, "must be an overlay: { files }");
  return { files: parseOverlayFiles(issues, `${field}.overlay.files`, (overlay as Bag | undefined)?.files), tags: parseTags(issues, `${field}.tags`, tags) };
}
