/**
 * Command-line flags of netboot's scripts and benchmarks, through node:util's parseArgs in strict mode: an
 * unknown flag, a flag without its value, a value given to a boolean flag and a positional where none is
 * allowed are all usage errors. A usage error prints `<prog>: <problem>` and the usage on stderr and exits 2;
 * -h/--help prints the usage on stdout and exits 0. Both end the process, which is what a script's
 * command line is for; nothing is read or written before the flags are known to be good.
 */
import { parseArgs, ParseArgsConfig } from "node:util";

export function parseCli<T extends ParseArgsConfig>(prog: string, usage: string, config: T, argv: string[] = process.argv.slice(2)): ReturnType<typeof parseArgs<T>> {
  // Looked for before parsing, so `--help` works next to any other mistake on the line.
  if (argv.includes("-h") || argv.includes("--help")) {
    console.log(usage);
    process.exit(0);
  }
  try {
    return parseArgs<T>({ ...config, args: argv, strict: true });
  } catch (e) {
    // Node adds advice on `--` to an unknown option; the first sentence is the problem.
    const err = e as Error & { code?: string };
    usageError(prog, usage, err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" ? err.message.split(". ")[0] : err.message);
  }
}

/** Ends the process the way a bad flag does: for checks parseArgs cannot make (a number, a folder that exists). */
export function usageError(prog: string, usage: string, problem: string): never {
  console.error(`${prog}: ${problem}\n${usage}`);
  process.exit(2);
}

/** A flag that must be a number within [min, max], or its default when absent. */
export function numberFlag(prog: string, usage: string, name: string, value: string | undefined, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) usageError(prog, usage, `--${name} must be a number, ${range} (got ${JSON.stringify(value)})`);
  return n;
}
