/**
 * The validated model of an OsImage (pure: no fs, no tools). Exactly one source: `debian` (mmdebstrap),
 * `oci`, `folder` or `tarball`. Every problem goes to `issues` at once, each with its field and value, before
 * anything is built: a Debian build takes a minute and writes hundreds of megabytes, so a bad package name must
 * not be found by mmdebstrap halfway through. What needs the machine (is mmdebstrap installed, does the OCI
 * layout exist) is checked by the resource's check() through ctx.tools (resources/osImage.ts).
 */
import { checkAbsPath, checkFilePath, Issues, MAX_VALUE, parseMode } from "./errors";
import { oneOf } from "./enums";
import { DEBIAN_SUITE_VALUES, DEBIAN_VARIANT_VALUES, DebianSuite, DebianVariant } from "../schema-enums";
import type { OsImageInputs } from "../schema-types";

/**
 * The default SOURCE_DATE_EPOCH (2023-11-14T22:13:20Z): any fixed value makes builds repeatable; this one is
 * documented in docs/os-images.md. Changing it changes every default image's digest.
 */
export const DEFAULT_SOURCE_DATE_EPOCH = 1_700_000_000;

export interface OsImageFileModel {
  path: string;
  content: string;
  mode: number;
}

export interface DebianModel {
  kind: "debian";
  suite: DebianSuite;
  variant: DebianVariant;
  /** as given (order kept: mmdebstrap's --include takes them in order; the digest sees a reorder as a change) */
  packages: string[];
  components: string[];
  /** undefined: this machine's configured Debian mirror, resolved by the resource before the build */
  mirror?: string;
  files: OsImageFileModel[];
  customize: string[];
  sourceDateEpoch: number;
}

export type OsImageModel =
  | DebianModel
  | { kind: "oci"; path: string }
  | { kind: "folder"; path: string }
  | { kind: "tarball"; path: string };

export type OsImageKind = OsImageModel["kind"];
export const OS_IMAGE_KINDS: readonly OsImageKind[] = ["debian", "oci", "folder", "tarball"];

/**
 * Debian policy §5.6.1: lower case letters, digits, `+`, `-`, `.`; at least two characters, starting with a
 * letter or digit. An optional `:arch` (multi-arch) and `=version` (§5.6.12: digits, letters, `.+~:-`).
 * Anything else (a space, `;`, `$`, a quote) is refused: the names reach apt through mmdebstrap's argv, and
 * a name apt would read as an option or a pattern (`?name(...)`, `-f`) is no package.
 */
const PACKAGE = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?(=[0-9][A-Za-z0-9.+~:-]*)?$/;
/** Archive components: `main`, `contrib`, `non-free`, `non-free-firmware`. */
const COMPONENT = /^[a-z0-9][a-z0-9-]*$/;
/** http/https/file URLs without anything a shell or apt's sources line would read (spaces, quotes, `#`). */
const MIRROR = /^(https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?|file:\/)(\/[A-Za-z0-9._~%/+-]*)?$/;
/** Bounds that keep a runaway value out of argv and messages; far above any real image. */
const MAX_PACKAGES = 2000;
const MAX_FILE_BYTES = 1 << 20;

/** A package spec (`name`, `name:arch`, `name=version`) is valid Debian syntax. */
export function isDebianPackage(p: unknown): p is string {
  return typeof p === "string" && p.length <= 200 && PACKAGE.test(p);
}

const given = (v: unknown) => v !== undefined && v !== null;

/** Builds the model; undefined when any issue was found (all of them are in `issues`). */
export function buildOsImageModel(a: { [K in keyof OsImageInputs]?: unknown }, issues: Issues): OsImageModel | undefined {
  const sources = OS_IMAGE_KINDS.filter((k) => given(a[k]));
  if (sources.length !== 1) {
    issues.add(sources.length ? sources.join(", ") : "debian", sources.length ? "(several set)" : undefined, `give exactly one of ${OS_IMAGE_KINDS.join(", ")}`);
    return undefined;
  }
  const kind = sources[0];
  let model: OsImageModel | undefined;
  switch (kind) {
    case "debian":
      model = debianModel(a.debian, issues);
      break;
    case "oci": {
      const o = a.oci as { path?: unknown } | undefined;
      if (!o || typeof o !== "object") issues.add("oci", o, "must be an object `{ path }`");
      else if (checkAbsPath(issues, "oci.path", o.path)) model = { kind, path: (o.path as string).replace(/(.)\/+$/, "$1") };
      break;
    }
    case "folder":
      if (checkAbsPath(issues, "folder", a.folder)) {
        if (a.folder === "/") issues.add("folder", a.folder, "must not be this machine's own root");
        else model = { kind, path: (a.folder as string).replace(/\/+$/, "") };
      }
      break;
    case "tarball":
      if (checkFilePath(issues, "tarball", a.tarball)) model = { kind, path: a.tarball as string };
      break;
    default: {
      const exhaustive: never = kind;
      return exhaustive;
    }
  }
  return issues.ok ? model : undefined;
}

function stringList(issues: Issues, field: string, v: unknown): unknown[] {
  if (!given(v)) return [];
  if (!Array.isArray(v)) {
    issues.add(field, v, "must be a list");
    return [];
  }
  return v;
}

function debianModel(d: unknown, issues: Issues): DebianModel | undefined {
  if (!d || typeof d !== "object" || Array.isArray(d)) {
    issues.add("debian", d, "must be an object `{ suite, packages, ... }`");
    return undefined;
  }
  const a = d as Record<string, unknown>;
  const suite = oneOf(issues, "debian.suite", a.suite, DEBIAN_SUITE_VALUES);
  const variant = oneOf(issues, "debian.variant", a.variant, DEBIAN_VARIANT_VALUES, "minbase");

  const packages: string[] = [];
  const seen = new Map<string, number>();
  const pkgs = stringList(issues, "debian.packages", a.packages);
  if (pkgs.length > MAX_PACKAGES) issues.add("debian.packages", `(${pkgs.length} entries)`, `at most ${MAX_PACKAGES} packages`);
  for (const [i, p] of pkgs.entries()) {
    if (!isDebianPackage(p)) {
      issues.add(`debian.packages[${i}]`, p, /[^a-z0-9+.:=~-]/i.test(String(p))
        ? "is not a Debian package name: only a-z, 0-9, `+`, `-`, `.` (optionally `:arch` and `=version`); shell and apt pattern characters are refused"
        : "is not a Debian package name (lower case, at least two characters, starting with a letter or digit; optionally `=version`)");
      continue;
    }
    const name = p.split("=")[0];
    if (seen.has(name)) issues.add(`debian.packages[${i}]`, p, `is listed twice (also debian.packages[${seen.get(name)}])`);
    else seen.set(name, i);
    packages.push(p);
  }

  const components: string[] = [];
  const comps = given(a.components) ? stringList(issues, "debian.components", a.components) : ["main"];
  if (given(a.components) && comps.length === 0) issues.add("debian.components", a.components, "give at least one component (default `[main]`)");
  for (const [i, c] of comps.entries()) {
    if (typeof c !== "string" || !COMPONENT.test(c) || c.length > 64) issues.add(`debian.components[${i}]`, c, "must be an archive component such as `main`, `contrib`, `non-free-firmware`");
    else if (components.includes(c)) issues.add(`debian.components[${i}]`, c, "is listed twice");
    else components.push(c);
  }

  let mirror: string | undefined;
  if (given(a.mirror)) {
    if (typeof a.mirror !== "string" || a.mirror.length > 1024 || !MIRROR.test(a.mirror) || a.mirror.split("/").includes(".."))
      issues.add("debian.mirror", a.mirror, "must be an http://, https:// or file:/// URL of a Debian mirror (no spaces, quotes or `..`)");
    else mirror = a.mirror.replace(/\/+$/, "");
  }

  const files: OsImageFileModel[] = [];
  const paths = new Map<string, number>();
  for (const [i, f] of stringList(issues, "debian.files", a.files).entries()) {
    const field = `debian.files[${i}]`;
    if (!f || typeof f !== "object") {
      issues.add(field, f, "must be an object `{ path, content, mode }`");
      continue;
    }
    const { path, content, mode } = f as Record<string, unknown>;
    const pathOk = checkFilePath(issues, `${field}.path`, path);
    if (pathOk && paths.has(path as string)) issues.add(`${field}.path`, path, `is given twice (also debian.files[${paths.get(path as string)}])`);
    if (pathOk) paths.set(path as string, i);
    if (typeof content !== "string") issues.add(`${field}.content`, content, "must be a string");
    else if (Buffer.byteLength(content) > MAX_FILE_BYTES) issues.add(`${field}.content`, `(${Buffer.byteLength(content)} bytes)`, `at most ${MAX_FILE_BYTES} bytes; put larger files in a package or a folder image`);
    const m = parseMode(issues, `${field}.mode`, mode);
    if (pathOk && typeof content === "string") files.push({ path: path as string, content, mode: m });
  }

  const customize: string[] = [];
  for (const [i, c] of stringList(issues, "debian.customize", a.customize).entries()) {
    // a command is shell by design (it runs in the image's chroot), so only what breaks the hook's argv is refused
    if (typeof c !== "string" || !c.trim()) issues.add(`debian.customize[${i}]`, c, "must be a shell command");
    else if (c.includes("\0")) issues.add(`debian.customize[${i}]`, c, "contains a NUL");
    else if (c.length > MAX_VALUE) issues.add(`debian.customize[${i}]`, c, `is ${c.length} characters long; at most ${MAX_VALUE} (put a script in debian.files and run it)`);
    else customize.push(c);
  }

  let sourceDateEpoch = DEFAULT_SOURCE_DATE_EPOCH;
  if (given(a.sourceDateEpoch)) {
    if (typeof a.sourceDateEpoch !== "number" || !Number.isInteger(a.sourceDateEpoch) || a.sourceDateEpoch < 0 || a.sourceDateEpoch > 2 ** 32)
      issues.add("debian.sourceDateEpoch", a.sourceDateEpoch, "must be a whole number of seconds since 1970 (e.g. 1700000000)");
    else sourceDateEpoch = a.sourceDateEpoch;
  }
  for (const k of Object.keys(a))
    if (!["suite", "variant", "packages", "components", "mirror", "files", "customize", "sourceDateEpoch"].includes(k)) issues.add(`debian.${k}`, a[k], "is not an argument of debian");

  return { kind: "debian", suite, variant, packages, components, mirror, files, customize, sourceDateEpoch };
}
