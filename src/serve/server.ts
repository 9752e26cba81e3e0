/**
 * The web page's server (`gra serve`): Node's http module, no framework, read-only.
 *   GET /                 -> the built page (web-dist/index.html); other paths -> files of web-dist/
 *   GET /api/runs         -> JSON listing of the run directories and reproductions under --runs (404 without --runs)
 *   GET /runs/<rel path>  -> the file <runs>/<rel path>, read-only, with `Content-Security-Policy: sandbox` (404
 *                            without --runs)
 * Only GET and HEAD (405 otherwise); bound to a loopback address, only Host headers naming this machine (403
 * otherwise: a web page elsewhere cannot read the runs through DNS rebinding). A path with a `..` or `.` segment, an empty segment (`//`, so no absolute
 * paths), a backslash or a NUL byte, or whose real path (symlinks resolved) leaves its root, is answered 404, as is
 * anything that is not a regular file. Nothing is ever written.
 */
import { createReadStream } from "node:fs";
import { lstat, readdir, readFile, realpath, stat } from "node:fs/promises";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer } from "node:http";
import { basename, extname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** Options of createWebServer. */
export interface WebServerOptions {
  /** Directory of the built page (index.html, main.js, worker.js, kernels.wasm...). */
  webRoot: string;
  /** Directory whose run directories and reproductions are listed and served read-only (optional). */
  runsDir?: string;
  /**
   * Host names (without port) accepted in the Host header; others get 403 (DNS-rebinding guard). Default: any.
   * startWebServer sets localhost / 127.0.0.1 / [::1] when it binds a loopback address.
   */
  allowedHosts?: readonly string[];
}

/** Host names a loopback-bound server answers to. */
export const LOOPBACK_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

/** The host name of a Host header ("127.0.0.1:8765" -> "127.0.0.1", "[::1]:80" -> "[::1]"), lower-cased. */
export function hostName(header: string | undefined): string {
  const h = (header ?? "").trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.indexOf(":");
  return colon >= 0 ? h.slice(0, colon) : h;
}

/** One file of a listed directory. */
export interface ListedFile {
  name: string;
  size: number;
}

/** One listed directory under --runs: a training run, a reproduction, a construction, or another directory holding run files. */
export interface ListedRun {
  /** Path relative to --runs, with "/" separators ("" for --runs itself). */
  path: string;
  /**
   * "run": has metrics.jsonl or config.json (`gra train`); "reproduction": has results.json (a preset's results of
   * `gra reproduce`); "sweep": has plan.json (the --out of `gra reproduce`); "construction": model.safetensors and
   * attention.safetensors without a config (`gra construct`); "other": other weights, metrics or `*.figure.json`.
   */
  kind: ListedKind;
  files: ListedFile[];
  /** Modification time of the newest file (ms since the epoch). */
  mtime_ms: number;
  /** config.json, parsed (runs only, when it is small and valid). */
  config?: unknown;
  /** summary.json, parsed (when it is small and valid). */
  summary?: unknown;
}

/** The /api/runs answer. */
export interface RunsListing {
  root: string;
  runs: ListedRun[];
}

/** Content types by file extension (anything else is application/octet-stream). */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".jsonl": "application/x-ndjson; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".tsv": "text/tab-separated-values; charset=utf-8",
  ".safetensors": "application/octet-stream",
};

/** Content type of a file name by its extension. */
export function contentType(name: string): string {
  return CONTENT_TYPES[extname(name).toLowerCase()] ?? "application/octet-stream";
}

/** Absolute path of the built page: <package>/web-dist (from src/serve as from dist/serve). */
export function defaultWebRoot(): string {
  return fileURLToPath(new URL("../../web-dist", import.meta.url));
}

/**
 * The safe relative segments of a URL path below a prefix, or null when the path must be refused: percent-decoding
 * fails, or a segment is empty, `.` or `..`, or holds a backslash, a NUL byte or a drive colon.
 */
export function safeSegments(urlPath: string): string[] | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded === "") return [];
  const segs = decoded.split("/");
  for (const s of segs) {
    if (s === "" || s === "." || s === ".." || s.includes("\\") || s.includes("\0") || s.includes(":")) return null;
  }
  return segs;
}

/** The real path of `root/segs...` when it is a regular file whose real path stays inside root's real path, else null. */
export async function resolveInside(root: string, segs: readonly string[]): Promise<string | null> {
  try {
    const realRoot = await realpath(root);
    const real = await realpath(join(realRoot, ...segs));
    if (real !== realRoot && !real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) return null;
    const st = await stat(real);
    return st.isFile() ? real : null;
  } catch {
    return null;
  }
}

/** The kinds of listed directories (see ListedRun.kind). */
export type ListedKind = "run" | "reproduction" | "sweep" | "construction" | "other";

const RUN_FILES = ["metrics.jsonl", "config.json"];
/** Directories never walked: dependencies (a --runs that holds a checkout would list their icons and pages). */
const SKIPPED_DIRS = new Set(["node_modules"]);

/**
 * The kind of a directory from its file names (figures folded in as "figures/<name>"), or null when it holds nothing
 * a run, reproduction or construction writes: images, HTML or JSON alone do not make a listing.
 */
export function listedKind(names: readonly string[]): ListedKind | null {
  const has = (n: string) => names.includes(n);
  if (RUN_FILES.some(has)) return "run";
  if (has("results.json")) return "reproduction";
  if (has("plan.json")) return "sweep";
  if (has("model.safetensors") && has("attention.safetensors")) return "construction";
  if (names.some((n) => /\.(safetensors|jsonl)$|\.figure\.json$/.test(n))) return "other";
  return null;
}
/** A listed directory's `figures/` subdirectory is folded into it (files "figures/<name>"), not listed alone. */
const FIGURES_DIR = "figures";
const MAX_DEPTH = 6;
const MAX_DIRS = 2000;
const SMALL_JSON = 256 * 1024;

async function readSmallJson(path: string, size: number): Promise<unknown> {
  if (size > SMALL_JSON) return undefined;
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Lists the directories under `runsDir` (itself included) that hold run, reproduction or construction files
 * (`listedKind`), walking at most 6 levels deep, skipping hidden and dependency (`node_modules`) directories and never
 * following symlinks; sorted by path.
 */
export async function listRuns(runsDir: string): Promise<RunsListing> {
  const root = await realpath(runsDir);
  const runs: ListedRun[] = [];
  let visited = 0;
  const walk = async (dir: string, rel: string[], depth: number): Promise<void> => {
    if (++visited > MAX_DIRS) return;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const files: ListedFile[] = [];
    let mtime = 0;
    const subdirs: string[] = [];
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      if (e.isDirectory()) {
        if (!SKIPPED_DIRS.has(e.name)) subdirs.push(e.name);
      }
      else if (e.isFile()) {
        const st = await lstat(join(dir, e.name)).catch(() => null);
        if (!st) continue;
        files.push({ name: e.name, size: st.size });
        mtime = Math.max(mtime, st.mtimeMs);
      }
    }
    if (subdirs.includes(FIGURES_DIR)) {
      const figs = await readdir(join(dir, FIGURES_DIR), { withFileTypes: true }).catch(() => []);
      for (const e of figs) {
        if (!e.isFile() || e.name.startsWith(".")) continue;
        const st = await lstat(join(dir, FIGURES_DIR, e.name)).catch(() => null);
        if (!st) continue;
        files.push({ name: `${FIGURES_DIR}/${e.name}`, size: st.size });
        mtime = Math.max(mtime, st.mtimeMs);
      }
      subdirs.splice(subdirs.indexOf(FIGURES_DIR), 1);
    }
    files.sort((a, b) => a.name.localeCompare(b.name));
    const has = (n: string) => files.some((f) => f.name === n);
    const kind = listedKind(files.map((f) => f.name));
    if (kind) {
      const run: ListedRun = { path: rel.join("/"), kind, files, mtime_ms: Math.round(mtime) };
      const size = (n: string) => files.find((f) => f.name === n)?.size ?? 0;
      if (has("config.json")) run.config = await readSmallJson(join(dir, "config.json"), size("config.json"));
      if (has("summary.json")) run.summary = await readSmallJson(join(dir, "summary.json"), size("summary.json"));
      runs.push(run);
    }
    if (depth >= MAX_DEPTH) return;
    for (const s of subdirs.sort()) await walk(join(dir, s), [...rel, s], depth + 1);
  };
  await walk(root, [], 0);
  runs.sort((a, b) => a.path.localeCompare(b.path));
  return { root: basename(root), runs };
}

function send(res: ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8", head = false): void {
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store" });
  res.end(head ? undefined : body);
}

const notFound = (res: ServerResponse, head: boolean) => send(res, 404, "404 not found\n", undefined, head);

async function sendFile(res: ServerResponse, path: string, head: boolean, sandbox: boolean): Promise<void> {
  const st = await stat(path);
  res.writeHead(200, {
    "Content-Type": contentType(path),
    "Content-Length": st.size,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
    // files from --runs (a report.html, an SVG opened directly) render without scripts or access to the page's origin
    ...(sandbox ? { "Content-Security-Policy": "sandbox" } : {}),
  });
  if (head) {
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const s = createReadStream(path);
    s.on("error", () => {
      res.destroy();
      resolve();
    });
    s.on("end", resolve);
    s.pipe(res);
  });
}

/** Handles one request against the options (exported for tests that skip the socket). */
export async function handleRequest(o: WebServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const head = req.method === "HEAD";
  if (req.method !== "GET" && !head) {
    res.setHeader("Allow", "GET, HEAD");
    send(res, 405, "405 method not allowed\n", undefined, head);
    return;
  }
  if (o.allowedHosts && !o.allowedHosts.includes(hostName(req.headers.host))) {
    send(res, 403, "403 forbidden: unexpected Host header\n", undefined, head);
    return;
  }
  const raw = req.url ?? "/";
  if (!raw.startsWith("/")) return notFound(res, head);
  const path = raw.split(/[?#]/, 1)[0];
  if (path === "/api/runs") {
    if (!o.runsDir) return notFound(res, head);
    const listing = await listRuns(o.runsDir);
    send(res, 200, JSON.stringify(listing), CONTENT_TYPES[".json"], head);
    return;
  }
  let root: string;
  let rest: string;
  const fromRuns = path === "/runs" || path.startsWith("/runs/");
  if (fromRuns) {
    if (!o.runsDir) return notFound(res, head);
    root = o.runsDir;
    rest = path.slice("/runs/".length);
  } else {
    root = o.webRoot;
    rest = path === "/" ? "index.html" : path.slice(1);
  }
  const segs = safeSegments(rest);
  if (!segs || segs.length === 0) return notFound(res, head);
  const file = await resolveInside(root, segs);
  if (!file) return notFound(res, head);
  await sendFile(res, file, head, fromRuns);
}

/** An http.Server (not yet listening) for the page and, read-only, the runs directory. */
export function createWebServer(o: WebServerOptions): Server {
  return createServer((req, res) => {
    handleRequest(o, req, res).catch(() => {
      if (!res.headersSent) send(res, 500, "500 internal error\n");
      else res.destroy();
    });
  });
}

/** Starts the server on host:port (port 0 = any free port) and resolves to it and its URL. */
export async function startWebServer(o: WebServerOptions & { host?: string; port?: number }): Promise<{ server: Server; url: string }> {
  const host = o.host ?? "127.0.0.1";
  const loopback = host === "localhost" || host === "::1" || /^127\./.test(host);
  const server = createWebServer({ ...o, allowedHosts: o.allowedHosts ?? (loopback ? [...LOOPBACK_HOSTS, host] : undefined) });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : o.port ?? 0;
  const shown = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  return { server, url: `http://${shown}:${port}/` };
}
