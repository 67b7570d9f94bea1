/**
 * Values as the provider receives them over gRPC: secrets arrive wrapped in a signature object, unknown values
 * (during preview) as a fixed sentinel string.
 */

export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export function isSecret(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

export function secret<T>(value: T): unknown {
  return { [SIG_KEY]: SECRET_SIG, value };
}

/** Removes secret wrappers everywhere (the values are used to render and write; state keeps them wrapped). */
export function reveal<T = unknown>(v: unknown): T {
  if (isSecret(v)) return reveal((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.map((x) => reveal(x)) as T;
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = reveal(x);
    return out as T;
  }
  return v as T;
}

/** True when any value inside is unknown (preview of a value computed from something not created yet). */
export function hasUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (isSecret(v)) return hasUnknown((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.some(hasUnknown);
  if (v && typeof v === "object") return Object.values(v).some(hasUnknown);
  return false;
}
