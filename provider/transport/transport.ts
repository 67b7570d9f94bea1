/**
 * The only interface through which netboot touches a host. Everything else is pure or goes through it.
 * (matchbox `storage.Store`: one narrow interface, a real implementation, fakes for tests.)
 *
 * Paths are host paths (`/srv/netboot/tftp/undionly.kpxe`). A local host with a `root` folder maps them
 * below that folder; `fullPath()` says where a path really is, and is what rendered configs must name.
 */

export interface ExecResult {
  code: number;
  stdout: string;
  /** stdout as bytes (local and SSH hosts), for binary output such as a tar stream */
  stdoutBytes?: Buffer;
  stderr: string;
}

export interface FileStat {
  mode: number; // permission bits only
  size: number;
  isDir: boolean;
}

export interface PutOptions {
  mode: number;
  /**
   * Called with the full path of the staged temp file (same folder as the target) before it is renamed into
   * place. Throwing aborts the write and removes the temp file: the live file is left as it was.
   */
  validate?: (stagedFullPath: string) => Promise<void>;
}

export interface PutResult {
  /** Folders this write had to create, outermost first (so delete can remove only what we made). */
  createdDirs: string[];
}

export interface Transport {
  readonly description: string;
  /**
   * True for a local target folder (a `root` that stands in for a host and belongs to netboot): deleting may
   * prune folders left empty up to that root, whoever made them. Real hosts keep folders netboot did not make.
   */
  readonly prunesEmptyFolders?: boolean;
  fullPath(path: string): string;
  get(path: string): Promise<Buffer | undefined>;
  stat(path: string): Promise<FileStat | undefined>;
  /** Atomic: temp file in the same folder, fsync, chmod, rename. Never leaves a partial file at `path`. */
  put(path: string, data: Buffer | string, opts: PutOptions): Promise<PutResult>;
  /** Removes a file; a missing file is not an error (returns false). */
  remove(path: string): Promise<boolean>;
  /** Removes a folder only if it is empty. */
  removeDirIfEmpty(path: string): Promise<boolean>;
  /** Names in a folder, or undefined when it does not exist. */
  list(dir: string): Promise<string[] | undefined>;
  mkdirp(dir: string, mode?: number): Promise<string[]>;
  /** Runs argv on the host (no shell). */
  exec(argv: string[], opts?: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> }): Promise<ExecResult>;
  close(): Promise<void>;
}

export class TransportError extends Error {
  constructor(public readonly host: string, public readonly op: string, public readonly path: string, cause: string) {
    super(`${host}: ${op} ${path}: ${cause}`);
    this.name = "TransportError";
  }
}
