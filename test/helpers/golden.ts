/**
 * Golden files: test/golden/<renderer>/<case>/input.json plus the expected files under the same case folder,
 * at their host paths (`etc/dnsmasq.d/netboot-pxe.conf`). Compared byte for byte.
 * `UPDATE_GOLDEN=1 npx jest ...` rewrites the expected files (review the git diff before committing).
 */
import * as fs from "fs";
import * as path from "path";
import { RenderedFile } from "../../provider/render/types";

export const GOLDEN = path.join(__dirname, "..", "golden");

export function goldenCases(renderer: string): { name: string; dir: string; input: any }[] {
  const base = path.join(GOLDEN, renderer);
  return fs
    .readdirSync(base)
    .sort()
    .map((name) => ({ name, dir: path.join(base, name), input: JSON.parse(fs.readFileSync(path.join(base, name, "input.json"), "utf8")) }));
}

/** Returns a list of mismatches (empty when all files match). */
export function compareGolden(dir: string, files: RenderedFile[]): string[] {
  const problems: string[] = [];
  for (const f of files) {
    const p = path.join(dir, "expected", f.path.replace(/^\//, ""));
    if (process.env.UPDATE_GOLDEN) {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, f.content);
      continue;
    }
    if (!fs.existsSync(p)) problems.push(`${f.path}: no golden file ${p} (run with UPDATE_GOLDEN=1)`);
    else if (fs.readFileSync(p, "utf8") !== f.content) problems.push(`${f.path}: differs from ${p}`);
  }
  // every golden file must still be rendered
  const expectedDir = path.join(dir, "expected");
  const walk = (d: string): string[] =>
    fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)])) : [];
  const rendered = new Set(files.map((f) => f.path.replace(/^\//, "")));
  if (!process.env.UPDATE_GOLDEN)
    for (const g of walk(expectedDir)) if (!rendered.has(path.relative(expectedDir, g))) problems.push(`golden file ${g} is no longer rendered`);
  return problems;
}
