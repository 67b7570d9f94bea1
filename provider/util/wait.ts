/**
 * Waiting, the one implementation for the provider, the scripts and the tests: a pause, a poll of a
 * condition until it holds or a deadline passes, and whether a process is still there. Imports nothing.
 */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `cond` every `everyMs` until it is true; past `timeoutMs` it fails naming `what` it waited for. The
 * deadline is a bound on a hang, not an assertion: callers give a generous one.
 */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000, everyMs = 100): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** True while a process with this pid exists (signal 0 checks without sending anything). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
