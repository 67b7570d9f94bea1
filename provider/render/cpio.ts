/**
 * A pure, reproducible writer of the `newc` cpio format (the format the Linux kernel unpacks as an initramfs,
 * Documentation/driver-api/early-userspace/buffer-format.rst).
 *
 * Reproducible by construction: entries are sorted by path bytes (so parents come before children), every
 * owner is uid/gid 0 unless an entry names its own (a node overlay's files may belong to a service user), every mtime is the same fixed value, inodes are numbered 1.. in output order, nlink is 1
 * for non-directories (2 for directories), device numbers are 0 (except a character device's own) and modes keep only the type and permission
 * bits. Missing parent directories are added (mode 0755). The same entries give the same bytes.
 */

export type CpioEntry =
  | { path: string; type: "file"; mode: number; data: Buffer; uid?: number; gid?: number }
  | { path: string; type: "dir"; mode: number; uid?: number; gid?: number }
  | { path: string; type: "symlink"; target: string }
  | { path: string; type: "chardev"; mode: number; major: number; minor: number };

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const TRAILER = "TRAILER!!!";

/** The name inside the archive: no leading `/`, `.` for the root. */
export function archiveName(p: string): string {
  const n = p.replace(/^\/+/, "").replace(/\/+$/, "");
  return n === "" ? "." : n;
}

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`cpio field out of range: ${n}`);
  return n.toString(16).toUpperCase().padStart(8, "0");
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(f: { ino: number; mode: number; nlink: number; mtime: number; size: number; nameSize: number; rdev: [number, number]; owner: [number, number] }): string {
  return "070701" + [f.ino, f.mode, f.owner[0], f.owner[1], f.nlink, f.mtime, f.size, 0, 0, f.rdev[0], f.rdev[1], f.nameSize, 0].map(hex8).join("");
}

function record(name: string, ino: number, mode: number, nlink: number, mtime: number, data: Buffer, rdev: [number, number] = [0, 0], owner: [number, number] = [0, 0]): Buffer[] {
  const nameBuf = Buffer.from(name + "\0", "utf8");
  const head = Buffer.from(header({ ino, mode, nlink, mtime, size: data.length, nameSize: nameBuf.length, rdev, owner }), "ascii");
  return [head, nameBuf, Buffer.alloc(pad4(head.length + nameBuf.length)), data, Buffer.alloc(pad4(data.length))];
}

/** Byte order of UTF-8 names (not UTF-16 code units), so sorting does not depend on the locale or the runtime. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Adds the parent folders an entry list lacks; rejects duplicates and names with `..`. */
export function normalizeEntries(entries: CpioEntry[]): CpioEntry[] {
  const byName = new Map<string, CpioEntry>();
  for (const e of entries) {
    const name = archiveName(e.path);
    if (name.split("/").includes("..")) throw new Error(`cpio: ${e.path}: names must not contain ..`);
    if (byName.has(name)) throw new Error(`cpio: ${e.path} is listed twice`);
    byName.set(name, e);
  }
  for (const name of [...byName.keys()]) {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      const existing = byName.get(parent);
      if (!existing) byName.set(parent, { path: parent, type: "dir", mode: 0o755 });
      else if (existing.type !== "dir") throw new Error(`cpio: ${parent} is a ${existing.type} but ${name} is below it`);
    }
  }
  return [...byName.entries()].sort(([a], [b]) => compareBytes(a, b)).map(([, e]) => e);
}

/** The archive bytes (uncompressed). `mtime` is seconds since the epoch (SOURCE_DATE_EPOCH). */
export function writeCpio(entries: CpioEntry[], mtime = 0): Buffer {
  const parts: Buffer[] = [];
  let ino = 0;
  for (const e of normalizeEntries(entries)) {
    const name = archiveName(e.path);
    ino++;
    switch (e.type) {
      case "file":
        parts.push(...record(name, ino, S_IFREG | (e.mode & 0o7777), 1, mtime, e.data, [0, 0], [e.uid ?? 0, e.gid ?? 0]));
        break;
      case "dir":
        parts.push(...record(name, ino, S_IFDIR | (e.mode & 0o7777), 2, mtime, Buffer.alloc(0), [0, 0], [e.uid ?? 0, e.gid ?? 0]));
        break;
      case "symlink":
        parts.push(...record(name, ino, S_IFLNK | 0o777, 1, mtime, Buffer.from(e.target, "utf8")));
        break;
      case "chardev":
        parts.push(...record(name, ino, S_IFCHR | (e.mode & 0o7777), 1, mtime, Buffer.alloc(0), [e.major, e.minor]));
        break;
      default: {
        const never: never = e;
        throw new Error(`cpio: unknown entry ${JSON.stringify(never)}`);
      }
    }
  }
  parts.push(...record(TRAILER, 0, 0, 1, 0, Buffer.alloc(0)));
  return Buffer.concat(parts);
}

export interface CpioReadEntry {
  name: string;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  data: Buffer;
}

/** Reads a newc archive back (for tests and for `read()` listing what a published initramfs holds). */
export function readCpio(buf: Buffer): CpioReadEntry[] {
  const out: CpioReadEntry[] = [];
  let off = 0;
  for (;;) {
    if (off + 110 > buf.length) throw new Error("cpio: truncated header");
    const magic = buf.toString("ascii", off, off + 6);
    if (magic !== "070701") throw new Error(`cpio: bad magic ${JSON.stringify(magic)} at ${off}`);
    const f = (i: number) => parseInt(buf.toString("ascii", off + 6 + i * 8, off + 14 + i * 8), 16);
    const [ino, mode, uid, gid, nlink, mtime, size] = [0, 1, 2, 3, 4, 5, 6].map(f);
    const nameSize = f(11);
    const name = buf.toString("utf8", off + 110, off + 110 + nameSize - 1);
    off += 110 + nameSize;
    off += pad4(110 + nameSize);
    if (name === TRAILER) return out;
    const data = buf.subarray(off, off + size);
    off += size + pad4(size);
    out.push({ name, ino, mode, uid, gid, nlink, mtime, data });
  }
}
