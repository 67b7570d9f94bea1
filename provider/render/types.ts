import type { FileMode } from "../model/errors";

/** What every renderer returns: files to put on a host. Renderers are pure: no fs, no transport, no @pulumi. */
export interface RenderedFile {
  /** Host path. */
  path: string;
  mode: FileMode;
  content: string;
  /** The content holds a secret (a node overlay with keys): never shown in outputs or diffs. */
  secret?: boolean;
}

/** Header for rendered text files; `comment` is the file format's comment leader. */
export function header(comment: string, what: string): string {
  return `${comment} Rendered by netboot for ${what}. Do not edit: pulumi up replaces this file and pulumi refresh reports edits.\n`;
}

/** True when `text` starts with a netboot header (any comment leader): a file some netboot resource rendered. */
export function renderedByNetboot(text: string): boolean {
  return /^\S{1,3} Rendered by netboot for /.test(text);
}
