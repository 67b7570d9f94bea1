// The generators' one flag: `node scripts/gen-X.js [--check]`, through node:util parseArgs in strict mode, so a
// misspelt flag is a usage error (exit 2) instead of a silent rewrite. Plain JS: the generators run before the
// build (scripts/_cli.ts is the compiled scripts' version of the same rules).
"use strict";

/** True when --check was given; ends the process with the usage on anything else. */
function checkFlag(name) {
  try {
    return require("node:util").parseArgs({ options: { check: { type: "boolean" } } }).values.check === true;
  } catch (e) {
    process.stderr.write(`${name}: ${e.message.split(". ")[0]}\nusage: node scripts/${name}.js [--check]\n`);
    process.exit(2);
  }
}

module.exports = { checkFlag };
