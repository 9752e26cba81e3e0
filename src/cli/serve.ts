/**
 * `gra serve`: serves the web page (web-dist/, built by `npm run build:web`) and, read-only, the run directories
 * and reproductions under --runs, on 127.0.0.1 unless --host says otherwise. Runs until Ctrl-C (or SIGTERM).
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { defaultWebRoot, startWebServer } from "../serve/server.ts";
import { opt, UsageError } from "./args.ts";
import { defineCommand } from "./commands.ts";

/** The `gra serve` command (see the file comment). */
export const serveCommand = defineCommand({
  name: "serve",
  summary: "serve the web page (construction explorer, training in the browser, runs and figures) over HTTP",
  description:
    "Serves the built page (web-dist/, from `npm run build:web`; --web to use another build) on http://HOST:PORT/ and,\n" +
    "with --runs DIR, lists the run directories and reproductions under DIR and serves their files read-only under\n" +
    "/runs/ (paths with `..`, absolute paths and symlinks leading out of DIR are answered 404). Binds 127.0.0.1 by\n" +
    "default; --port 0 picks a free port. Stop with Ctrl-C.",
  options: {
    port: opt.int("TCP port (0 = any free port)", { min: 0, max: 65535, default: 8765 }),
    host: opt.string("address to bind (default 127.0.0.1: this machine only)", { default: "127.0.0.1" }),
    runs: opt.path("directory of run directories and reproductions to list and serve read-only", { exists: "dir" }),
    web: opt.path("directory of the built page (default: the package's web-dist/)", { exists: "dir" }),
  },
  async run(o, ctx) {
    const webRoot = o.web ?? defaultWebRoot();
    const index = await stat(join(webRoot, "index.html")).catch(() => null);
    if (!index?.isFile()) {
      if (o.web) throw new UsageError(`--web: ${o.web} has no index.html`);
      throw new Error(`the web page is not built (missing ${join(webRoot, "index.html")}): run \`npm run build:web\``);
    }
    let started;
    try {
      started = await startWebServer({ webRoot, runsDir: o.runs, host: o.host, port: o.port });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE") throw new Error(`port ${o.port} is in use on ${o.host}: pick another with --port (0 = any free port)`);
      if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") throw new UsageError(`--host: cannot bind ${o.host}`);
      throw e;
    }
    const { server, url } = started;
    ctx.stdout(`gra serve: ${url}${o.runs ? ` (runs: ${o.runs})` : ""} — Ctrl-C to stop\n`);
    if (!(o.host === "localhost" || o.host === "::1" || /^127\./.test(o.host))) {
      ctx.stderr(`gra serve: listening on ${o.host}: the page${o.runs ? " and the files under --runs" : ""} are reachable from other machines\n`);
    }
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        server.close(() => resolve());
        server.closeAllConnections();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    return 0;
  },
});
