/**
 * A file's permission bits (`0o644`): the one form of a mode inside the provider (models, renderers, the
 * lifecycle, drift, transports). The schema's form, a string of octal digits ("0644"), exists only at the
 * engine's edge: parsed in check (model/errors.ts `parseMode`, with an issue naming the field; `modeOf` for a
 * value check already passed), formatted by `modeString` for outputs, the FileSet inputs a component builds,
 * the initramfs manifest's text and messages. Imports nothing.
 */
export type FileMode = number;

/** The schema's text of a mode: 3 or 4 octal digits, a leading 0 allowed ("644", "0644", "04755"). */
export const MODE_TEXT = /^0?[0-7]{3,4}$/;

/** The schema's form of a mode ("0644", "04755"). */
export function modeString(mode: FileMode): string {
  return "0" + (mode & 0o7777).toString(8).padStart(3, "0");
}
