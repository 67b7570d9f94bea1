/**
 * Validation that reports every problem at once, each naming the resource, the field and the bad value.
 * (cdk8s `validate(app)`, awsx `validateVpcArgs`.)
 */

export interface Issue {
  /** e.g. `netboot:index:NodeGroup "rack1"` */
  resource: string;
  /** e.g. `nodes[3].macs[0]` */
  field: string;
  value: unknown;
  message: string;
}

/** Values longer than this are cut in messages: a 100,000-character value must not fill the terminal. */
export const SHOW_MAX = 120;

/**
 * Characters a terminal would act on or hide: C0 and C1 controls, DEL, the line and paragraph separators and
 * the bidirectional overrides (which can make a value read as something else).
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point: they are shown escaped
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0" };

/** Makes control characters visible (`\n`, `\0`, `\u001b`), so a message never carries them raw. */
export function escapeControls(s: string): string {
  return s.replace(INVISIBLE, (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Cuts `s` to `max` characters, saying how long it was: `"aaaa... (200000 characters)"`. */
export function cut(s: string, max = SHOW_MAX): string {
  // Cut before escaping, so an escape sequence is never split, and count what the user gave.
  const chars = [...s];
  return chars.length <= max ? escapeControls(s) : `${escapeControls(chars.slice(0, max).join(""))}... (${chars.length} characters)`;
}

/**
 * A value as a message shows it: a string quoted (`"` and `\` escaped, then controls made visible, so a
 * visible `\n` is never confused with a backslash the user typed) and cut; any other value as JSON, cut.
 */
export function show(v: unknown): string {
  if (typeof v === "string") {
    const chars = [...v];
    const head = chars.length > SHOW_MAX ? chars.slice(0, SHOW_MAX).join("") : v;
    const body = escapeControls(head.replace(/[\\"]/g, "\\$&"));
    return `"${body}"${chars.length > SHOW_MAX ? `... (${chars.length} characters)` : ""}`;
  }
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return cut(text);
}

export function formatIssue(i: Issue): string {
  const v = i.value === undefined ? "" : ` = ${show(i.value)}`;
  // Field names carry user keys (`files["/a\nb"]`) and messages quote values: both are escaped and cut too.
  return `${escapeControls(i.resource)}: ${cut(i.field, 200)}${v}: ${cut(i.message, 600)}`;
}

export class ValidationError extends Error {
  constructor(public readonly issues: Issue[]) {
    super(
      `${issues.length} validation error${issues.length === 1 ? "" : "s"}; nothing was written:\n` +
        issues.map((i) => "  - " + formatIssue(i)).join("\n"),
    );
    this.name = "ValidationError";
  }
}

/** Collects issues for one resource; `throwIfAny()` raises them all together. */
export class Issues {
  readonly list: Issue[] = [];
  constructor(public readonly resource: string) {}

  add(field: string, value: unknown, message: string): void {
    this.list.push({ resource: this.resource, field, value, message });
  }
  get ok(): boolean {
    return this.list.length === 0;
  }
  throwIfAny(): void {
    if (this.list.length > 0) throw new ValidationError(this.list);
  }
}

/** Characters that change the meaning of a rendered file (dnsmasq, iPXE, volfile, shell, nginx). */
const INJECTION: Array<[RegExp, string]> = [
  [/[\r\n\0]/, "contains a newline or NUL"],
  [/"/, "contains a double quote"],
  [/'/, "contains a single quote"],
  [/`/, "contains a backtick (GlusterFS runs backticks in volfiles through a shell)"],
  [/\$\{/, "contains `${` (iPXE and shell expansion)"],
  [/\\/, "contains a backslash"],
];

/**
 * The longest string a rendered file takes by default. Every value lands in a config line, a file name or an
 * argv; none needs more, and a bound keeps a runaway value out of files and messages.
 */
export const MAX_VALUE = 4096;

/**
 * The kernel's command line limit on x86 and arm64 (COMMAND_LINE_SIZE, 2048 bytes including the NUL): a longer
 * line is cut by the boot loader without a word, so the last arguments are silently lost.
 */
export const KERNEL_ARGS_MAX = 2047;

/** Checks a value that lands in a rendered file. Returns true when clean. */
export function checkSafe(issues: Issues, field: string, value: unknown, extra: { commas?: boolean; slashes?: boolean; spaces?: boolean; semicolons?: boolean; max?: number } = {}): boolean {
  if (typeof value !== "string") {
    issues.add(field, value, "must be a string");
    return false;
  }
  const max = extra.max ?? MAX_VALUE;
  if (value.length > max) {
    issues.add(field, value, `is ${value.length} characters long; at most ${max}`);
    return false;
  }
  let ok = true;
  for (const [re, why] of INJECTION) {
    if (re.test(value)) {
      issues.add(field, value, `${why}, which would change the meaning of a rendered file`);
      ok = false;
    }
  }
  if (extra.commas === false && value.includes(",")) {
    issues.add(field, value, "contains a comma (dnsmasq separates fields with commas)");
    ok = false;
  }
  if (extra.slashes === false && (value.includes("/") || value.includes(".."))) {
    issues.add(field, value, "contains `/` or `..` (names must not reach outside their folder)");
    ok = false;
  }
  if (extra.spaces === false && /\s/.test(value)) {
    issues.add(field, value, "contains whitespace");
    ok = false;
  }
  if (extra.semicolons === false && /[;{}#]/.test(value)) {
    issues.add(field, value, "contains `;`, `{`, `}` or `#` (nginx syntax)");
    ok = false;
  }
  return ok;
}

/** Linux PATH_MAX and NAME_MAX: a longer path fails in the kernel, after folders were made. */
export const PATH_MAX = 4095;
export const NAME_MAX = 255;

/** An absolute path without `..`, quotes or control characters, within Linux's path length limits. */
export function checkAbsPath(issues: Issues, field: string, value: unknown): boolean {
  if (!checkSafe(issues, field, value, { spaces: false, semicolons: false, max: PATH_MAX })) return false;
  const v = value as string;
  if (!v.startsWith("/")) {
    issues.add(field, v, "must be an absolute path");
    return false;
  }
  if (v.split("/").includes("..")) {
    issues.add(field, v, "must not contain `..`");
    return false;
  }
  const long = v.split("/").find((c) => Buffer.byteLength(c) > NAME_MAX);
  if (long !== undefined) {
    issues.add(field, v, `has a name of ${Buffer.byteLength(long)} bytes; at most ${NAME_MAX} (Linux NAME_MAX)`);
    return false;
  }
  return true;
}

/** The path of a file (not `/`, not ending in `/`, which name folders). */
export function checkFilePath(issues: Issues, field: string, value: unknown): boolean {
  if (!checkAbsPath(issues, field, value)) return false;
  if ((value as string).endsWith("/") || (value as string).split("/").pop() === ".") {
    issues.add(field, value, "names a folder; give the path of a file");
    return false;
  }
  return true;
}

// A mode's one form inside is a number (util/mode.ts says why and where the strings are); the parse with
// issues is here, with the other checks.
import { FileMode, MODE_TEXT } from "../util/mode";
export { FileMode, modeString } from "../util/mode";

/** The check edge: a mode as the schema gives it (absent: `dflt`); a bad one is an issue naming the field. */
export function parseMode(issues: Issues, field: string, value: unknown, dflt: FileMode = 0o644): FileMode {
  if (value === undefined || value === null || value === "") return dflt;
  if (typeof value !== "string" || !MODE_TEXT.test(value)) {
    issues.add(field, value, "must be octal permission bits such as \"0644\"");
    return dflt;
  }
  return parseInt(value, 8);
}

/**
 * A mode check has already accepted (a resource's inputs in create/update/diff) or that netboot wrote itself
 * (`modeString` in outputs), in its one inner form. Anything else is a bug, not bad input, so it throws
 * instead of being reported as an issue.
 */
export function modeOf(value: unknown, dflt: FileMode = 0o644): FileMode {
  const issues = new Issues("");
  const mode = parseMode(issues, "mode", value, dflt);
  if (!issues.ok) throw new Error(`internal: mode ${JSON.stringify(value)} reached past check; it must be octal permission bits such as "0644"`);
  return mode;
}
