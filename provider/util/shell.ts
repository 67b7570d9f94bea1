/**
 * Shell quoting, the one implementation: the init script renderer (render/init.ts) and the SSH transport (the
 * remote login shell parses the command line ssh sends) both use it. Pure, imports nothing, so any layer may.
 */

/** `s` as one single-quoted POSIX shell word: every byte literal, a `'` written as `'\''`. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
