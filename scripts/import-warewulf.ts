/**
 * Warewulf 4 nodes.conf -> netboot inventory YAML, plus a report of what could not be mapped.
 *
 *   npm run build && node dist/scripts/import-warewulf.js /etc/warewulf/nodes.conf \
 *     --warewulf-conf /etc/warewulf/warewulf.conf --interface eth1 --out cluster.yaml --report import-report.txt
 *
 * Without --out the inventory goes to stdout; without --report the report goes to stderr. The inventory is
 * checked against schema/cluster.schema.json before it is written: exit 1 when it does not pass (with the
 * errors), 2 on bad usage (an unknown flag, a flag without its value, no or several nodes.conf).
 *
 * Each image's kernel is looked up inside the image, as Warewulf boots it: in `<chroot dir>/<image>/rootfs`
 * (`--chroot-dir`, else warewulf.conf `paths.wwchrootdir`, else /var/lib/warewulf/chroots), which is read when it
 * is on this machine; otherwise the paths are assumed from `kernel version` and reported for review.
 */
import * as fs from "fs";
import * as path from "path";
import { parseCli, usageError } from "./_cli";
import { formatReport, importWarewulf, inventoryYaml, WarewulfImportError } from "../provider/inventory/warewulf";
import { scanImageKernels } from "../provider/inventory/warewulfKernel";
import { formatInventoryIssue, parseInventory } from "../provider/inventory/parse";

const USAGE = "usage: import-warewulf <nodes.conf> [--warewulf-conf FILE] [--interface IFACE] [--server-name NAME] [--server-ip IP --subnet CIDR] [--root DIR] [--chroot-dir DIR] [--out FILE] [--report FILE]";

function main(argv: string[]): number {
  const flag = { type: "string" } as const;
  const { values: opts, positionals } = parseCli("import-warewulf", USAGE, {
    options: { "warewulf-conf": flag, interface: flag, "server-name": flag, "server-ip": flag, subnet: flag, root: flag, "chroot-dir": flag, out: flag, report: flag },
    allowPositionals: true,
  }, argv);
  if (positionals.length !== 1) usageError("import-warewulf", USAGE, positionals.length ? `one nodes.conf only (got ${positionals.join(", ")})` : "give the nodes.conf to import");
  const read = (f: string) => {
    try {
      return fs.readFileSync(f, "utf8");
    } catch (e) {
      throw new WarewulfImportError(`cannot read ${f}: ${(e as Error).message}`);
    }
  };
  try {
    const { inventory, report } = importWarewulf(read(positionals[0]), opts["warewulf-conf"] !== undefined ? read(opts["warewulf-conf"]) : undefined, {
      interface: opts.interface, serverName: opts["server-name"], serverIp: opts["server-ip"], subnet: opts.subnet, root: opts.root,
      // An absolute path: the inventory's imageSource, kernelPath and modulesDir must not depend on its folder.
      chrootDir: opts["chroot-dir"] !== undefined ? path.resolve(opts["chroot-dir"]) : undefined, imageKernels: scanImageKernels,
    });
    const text = inventoryYaml(inventory, report);
    const target = opts.out ?? "<stdout>";
    const check = parseInventory(text, target);
    if (!check.ok) {
      console.error(`import-warewulf: the imported inventory does not pass schema/cluster.schema.json:\n${check.issues.map((i) => "  " + formatInventoryIssue(i)).join("\n")}`);
      return 1;
    }
    const nodes = Object.values(inventory.groups ?? {}).reduce((s, g) => s + g.nodes.length, 0);
    const summary = `imported ${nodes} node(s) in ${Object.keys(inventory.groups ?? {}).length} group(s), ${Object.keys(inventory.images ?? {}).length} image(s); ${report.length} report item(s)`;
    if (opts.out) fs.writeFileSync(opts.out, text);
    else process.stdout.write(text);
    if (opts.report) fs.writeFileSync(opts.report, formatReport(report));
    else process.stderr.write(formatReport(report));
    console.error(`import-warewulf: ${summary}`);
    return 0;
  } catch (e) {
    if (e instanceof WarewulfImportError) {
      console.error(`import-warewulf: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
