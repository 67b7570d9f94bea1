/** The build host's file system as the closure resolver sees it (plain fs: the build host is this machine). */
import * as fs from "fs";
import { FsNode, FsView } from "./closure";

export const hostFs: FsView = {
  lstat(p: string): FsNode | undefined {
    try {
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) return { type: "symlink", target: fs.readlinkSync(p) };
      if (st.isDirectory()) return { type: "dir", mode: st.mode & 0o7777 };
      if (st.isFile()) return { type: "file", mode: st.mode & 0o7777, size: st.size };
      return undefined;
    } catch {
      return undefined;
    }
  },
  read(p: string): Buffer {
    return fs.readFileSync(p);
  },
};

export function readText(p: string): string | undefined {
  try {
    return fs.readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
}

export function listDir(p: string): string[] {
  try {
    return fs.readdirSync(p);
  } catch {
    return [];
  }
}
