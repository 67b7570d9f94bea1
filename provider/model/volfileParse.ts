/**
 * A parser of the GlusterFS volfile grammar (libglusterfs graph.l / graph.y) into a graph. Pure: no fs.
 *
 * Used by the oracle tests (compare our volfiles with glusterd's as graphs) and by BootImage, which lists the
 * xlators a client volfile names to copy exactly those `.so` files into the initramfs.
 *
 * Grammar, as glusterfs reads it:
 * - `volume NAME` / `type CATEGORY/NAME` (first, exactly once) / `option KEY VALUE`* / at most one
 *   `subvolumes A B ...` / `end-volume`. Tokens are separated by whitespace; layout is free.
 * - An unquoted word is a run of characters other than whitespace, `"` and `\`. Keywords are whole words
 *   (flex longest match: `volume-id` is a word, not the keyword `volume`).
 * - `"..."` is a string: `\X` inside is a literal X, a raw newline inside is dropped.
 * - `#` starts a comment (to end of line) only where a token would start.
 * - A subvolume must be defined earlier in the file; the last volume is the top of the graph; a repeated
 *   option key keeps the last value.
 * - glusterfs runs backticks through a shell before parsing. This parser refuses any backtick instead of
 *   pretending to know what the shell would produce.
 */

export interface VolfileVolume {
  name: string;
  /** e.g. "cluster/replicate" */
  type: string;
  options: Record<string, string>;
  subvolumes: string[];
}

export interface VolfileGraph {
  /** In file order: bottom of the graph first, the top (the last volume) last. */
  volumes: VolfileVolume[];
}

export class VolfileParseError extends Error {
  constructor(message: string, public readonly line: number) {
    super(`volfile line ${line}: ${message}`);
    this.name = "VolfileParseError";
  }
}

type TokKind = "word" | "string";
interface Token {
  kind: TokKind;
  text: string;
  line: number;
}

const KEYWORDS: ReadonlySet<string> = new Set(["volume", "type", "option", "subvolumes", "end-volume"]);

function tokenize(text: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === "\n") {
      line++;
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (c === "`") throw new VolfileParseError("backtick: glusterfs would run it through a shell; refused", line);
    if (c === "#") {
      while (i < n && text[i] !== "\n") i++;
      continue;
    }
    if (c === '"') {
      const start = line;
      let s = "";
      i++;
      for (;;) {
        if (i >= n) throw new VolfileParseError("unterminated string", start);
        const d = text[i];
        if (d === '"') {
          i++;
          break;
        }
        if (d === "`") throw new VolfileParseError("backtick: glusterfs would run it through a shell; refused", line);
        if (d === "\\") {
          if (i + 1 >= n) throw new VolfileParseError("unterminated string", start);
          const e = text[i + 1];
          if (e === "\n") line++;
          s += e;
          i += 2;
          continue;
        }
        if (d === "\n") {
          line++;
          i++;
          continue; // a raw newline inside quotes is dropped
        }
        s += d;
        i++;
      }
      toks.push({ kind: "string", text: s, line: start });
      continue;
    }
    if (c === "\\") throw new VolfileParseError("stray backslash outside a quoted string", line);
    let w = "";
    while (i < n && !/[\s"\\]/.test(text[i])) {
      if (text[i] === "`") throw new VolfileParseError("backtick: glusterfs would run it through a shell; refused", line);
      w += text[i];
      i++;
    }
    toks.push({ kind: "word", text: w, line });
  }
  return toks;
}

function isKeyword(t: Token | undefined, kw?: string): boolean {
  if (!t || t.kind !== "word") return false;
  const k = t.text.toLowerCase();
  return kw ? k === kw : KEYWORDS.has(k);
}

/** Parses a volfile into its graph. Throws VolfileParseError naming the line. */
export function parseVolfile(text: string): VolfileGraph {
  const toks = tokenize(text);
  const volumes: VolfileVolume[] = [];
  const defined = new Set<string>();
  let p = 0;
  const word = (what: string): Token => {
    const t = toks[p];
    if (!t) throw new VolfileParseError(`unexpected end of file, expected ${what}`, toks.length ? toks[toks.length - 1].line : 1);
    if (isKeyword(t)) throw new VolfileParseError(`expected ${what}, found keyword "${t.text}" (quote it to use it as a value)`, t.line);
    p++;
    return t;
  };
  while (p < toks.length) {
    const head = toks[p];
    if (!isKeyword(head, "volume")) throw new VolfileParseError(`expected "volume", found "${head.text}"`, head.line);
    p++;
    const name = word("a volume name").text;
    if (defined.has(name)) throw new VolfileParseError(`volume "${name}" defined twice`, head.line);
    const vol: VolfileVolume = { name, type: "", options: {}, subvolumes: [] };
    let sawSub = false;
    let first = true;
    for (;;) {
      const t = toks[p];
      if (!t) throw new VolfileParseError(`volume "${name}" has no end-volume`, head.line);
      if (isKeyword(t, "end-volume")) {
        p++;
        break;
      }
      if (isKeyword(t, "type")) {
        if (!first) throw new VolfileParseError(`volume "${name}": "type" must come first, exactly once`, t.line);
        p++;
        vol.type = word("a type").text;
      } else if (first) {
        throw new VolfileParseError(`volume "${name}": "type" must come first`, t.line);
      } else if (isKeyword(t, "option")) {
        p++;
        const key = word("an option key").text;
        const value = word(`a value for option "${key}"`).text;
        vol.options[key] = value; // a repeated key keeps the last value, as glusterfs does
      } else if (isKeyword(t, "subvolumes")) {
        if (sawSub) throw new VolfileParseError(`volume "${name}": more than one "subvolumes" line`, t.line);
        sawSub = true;
        p++;
        while (toks[p] && !isKeyword(toks[p])) {
          const s = toks[p];
          if (!defined.has(s.text)) throw new VolfileParseError(`volume "${name}": subvolume "${s.text}" is not defined earlier`, s.line);
          vol.subvolumes.push(s.text);
          p++;
        }
        if (vol.subvolumes.length === 0) throw new VolfileParseError(`volume "${name}": empty "subvolumes"`, t.line);
      } else {
        throw new VolfileParseError(`volume "${name}": unexpected "${t.text}"`, t.line);
      }
      first = false;
    }
    if (!vol.type) throw new VolfileParseError(`volume "${name}" has no type`, head.line);
    defined.add(name);
    volumes.push(vol);
  }
  if (volumes.length === 0) throw new VolfileParseError("no volume defined", 1);
  return { volumes };
}

/** The distinct xlator types a graph names, in first-use order (e.g. "protocol/client", "cluster/replicate"). */
export function xlatorTypes(graph: VolfileGraph): string[] {
  const seen: string[] = [];
  for (const v of graph.volumes) if (!seen.includes(v.type)) seen.push(v.type);
  return seen;
}

/** The top of the graph: the last volume. */
export function topVolume(graph: VolfileGraph): VolfileVolume {
  return graph.volumes[graph.volumes.length - 1];
}
