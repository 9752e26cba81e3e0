#!/usr/bin/env node
// The `gra` command: runs the compiled CLI (dist/ is produced by `npm run build:ts`) and exits with its code.
let cli;
try {
  cli = await import("../dist/cli/main.js");
} catch (e) {
  if (e && e.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes("dist")) {
    process.stderr.write("gra: dist/ is missing; run `npm run build:ts` (or `npm ci`) first\n");
    process.exit(1);
  }
  throw e;
}
process.exitCode = await cli.main(process.argv.slice(2));
