/**
 * Closed sets checked against the schema's own lists (`X_VALUES` in schema-types.ts, generated from the enums
 * of schema/schema.json), so a value the schema adds or drops is accepted or refused everywhere at once.
 */
import { Issues } from "./errors";

/** The listing every "must be one of" message uses. */
export const listValues = (values: readonly string[]) => values.map((v) => `\`${v}\``).join(", ");

/**
 * `v` when it is one of `values`; `dflt` when it is unset (undefined, null or ""). Anything else is an issue,
 * and the fallback (`dflt`, else the first value) lets validation go on to report the other fields too.
 */
export function oneOf<T extends string>(issues: Issues, field: string, v: unknown, values: readonly T[], dflt?: T): T {
  if ((v === undefined || v === null || v === "") && dflt !== undefined) return dflt;
  if (typeof v !== "string" || !(values as readonly string[]).includes(v)) {
    issues.add(field, v, `must be one of ${listValues(values)}`);
    return dflt ?? values[0];
  }
  return v as T;
}
