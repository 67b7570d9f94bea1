/**
 * Pure ELF reader: the program interpreter (PT_INTERP) and the dynamic section's DT_NEEDED, DT_RPATH and
 * DT_RUNPATH of a 32- or 64-bit, little- or big-endian ELF file. Enough to compute a shared-library closure
 * the way ld.so does, without running `ldd` (which executes the binary's loader).
 */

export interface ElfDeps {
  interp?: string;
  needed: string[];
  rpath: string[];
  runpath: string[];
  /** true for ET_DYN or ET_EXEC with a dynamic section */
  dynamic: boolean;
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

export function isElf(buf: Buffer): boolean {
  return buf.length >= 16 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

export class ElfError extends Error {}

/** Parses the dependencies of one ELF file. Throws ElfError on a file that is not ELF or is truncated. */
export function elfDeps(buf: Buffer): ElfDeps {
  if (!isElf(buf)) throw new ElfError("not an ELF file");
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const addr = (o: number) => (is64 ? Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o)) : u32(o));
  const check = (o: number, n: number) => {
    if (o < 0 || o + n > buf.length) throw new ElfError("truncated ELF file");
  };
  check(0, is64 ? 64 : 52);
  const phoff = addr(is64 ? 32 : 28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  const loads: { vaddr: number; offset: number; filesz: number }[] = [];
  let dyn: { offset: number; size: number } | undefined;
  let interp: string | undefined;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    check(p, phentsize);
    const type = u32(p);
    const offset = addr(p + (is64 ? 8 : 4));
    const vaddr = addr(p + (is64 ? 16 : 8));
    const filesz = addr(p + (is64 ? 32 : 16));
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    else if (type === PT_DYNAMIC) dyn = { offset, size: filesz };
    else if (type === PT_INTERP) {
      check(offset, filesz);
      interp = buf.toString("latin1", offset, offset + filesz).replace(/\0.*$/s, "");
    }
  }
  const out: ElfDeps = { interp, needed: [], rpath: [], runpath: [], dynamic: !!dyn };
  if (!dyn) return out;
  const entSize = is64 ? 16 : 8;
  const entries: [number, number][] = [];
  for (let o = dyn.offset; o + entSize <= dyn.offset + dyn.size; o += entSize) {
    check(o, entSize);
    const tag = addr(o);
    const val = addr(o + entSize / 2);
    if (tag === DT_NULL) break;
    entries.push([tag, val]);
  }
  const strtabVaddr = entries.find(([t]) => t === DT_STRTAB)?.[1];
  if (strtabVaddr === undefined) return out;
  const seg = loads.find((l) => strtabVaddr >= l.vaddr && strtabVaddr < l.vaddr + l.filesz);
  const strtab = seg ? strtabVaddr - seg.vaddr + seg.offset : strtabVaddr;
  const str = (off: number) => {
    const start = strtab + off;
    check(start, 1);
    const end = buf.indexOf(0, start);
    return buf.toString("latin1", start, end < 0 ? buf.length : end);
  };
  for (const [tag, val] of entries) {
    if (tag === DT_NEEDED) out.needed.push(str(val));
    else if (tag === DT_RPATH) out.rpath.push(...str(val).split(":").filter(Boolean));
    else if (tag === DT_RUNPATH) out.runpath.push(...str(val).split(":").filter(Boolean));
  }
  return out;
}

/**
 * The kernel release a bzImage carries (setup header `kernel_version` at 0x20E points to a string at
 * offset+0x200), e.g. "6.1.0-56-amd64". Undefined when the file is not a bzImage.
 */
export function bzImageVersion(buf: Buffer): string | undefined {
  if (buf.length < 0x210 || buf.toString("latin1", 0x202, 0x206) !== "HdrS") return undefined;
  const ptr = buf.readUInt16LE(0x20e);
  if (!ptr) return undefined;
  const start = ptr + 0x200;
  if (start >= buf.length) return undefined;
  const end = buf.indexOf(0, start);
  return buf.toString("latin1", start, end < 0 ? start + 256 : end).split(" ")[0] || undefined;
}

/** The `vermagic=` release of a kernel module's .modinfo (uncompressed .ko only), e.g. "6.1.0-56-amd64". */
export function moduleVermagic(buf: Buffer): string | undefined {
  const i = buf.indexOf("vermagic=");
  if (i < 0) return undefined;
  const end = buf.indexOf(0, i);
  return buf.toString("latin1", i + 9, end < 0 ? i + 200 : end).split(" ")[0];
}
