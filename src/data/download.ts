/**
 * Resumable HTTP(S) download with checksum verification and progress. A partial file `<dest>.part` is continued with
 * a Range request (a server that ignores Range restarts it); the file is renamed to `dest` only once its checksum
 * matches. On a mismatch the partial file is deleted so the next attempt starts clean.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { dirname, join } from "node:path";
import { cacheDir } from "./archive.ts";
import { DataError } from "./errors.ts";

/** The official CIFAR-10 binary archive (Krizhevsky), as published on the dataset page. */
export const CIFAR10_BINARY = {
  url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
  file: "cifar-10-binary.tar.gz",
  md5: "c32a1d4ab5d03f1284b67883e8d87530",
  sha256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
  size: 170052171,
};

export interface DownloadOptions {
  md5?: string;
  sha256?: string;
  onProgress?: (done: number, total: number | undefined) => void;
  /** Give up after this many connection attempts (resuming each time). */
  retries?: number;
  timeoutMs?: number;
}

/** Redirects followed per request (curl's and browsers' order of magnitude); a loop past it is an error. */
export const MAX_REDIRECTS = 20;

function get(url: string, headers: Record<string, string>, timeoutMs: number, hops = 0): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith("https:") ? https : http;
    const req = mod.get(url, { headers }, (res) => {
      const loc = res.headers.location;
      if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && loc) {
        res.resume();
        if (hops >= MAX_REDIRECTS) {
          reject(new DataError(`download of ${url} failed: more than ${MAX_REDIRECTS} redirects`, "HTTP"));
          return;
        }
        get(new URL(loc, url).href, headers, timeoutMs, hops + 1).then(resolve, reject);
        return;
      }
      resolve(res);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response from ${url} in ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

async function hashFile(path: string, algo: string): Promise<string> {
  const h = createHash(algo);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

async function fetchOnce(url: string, part: string, opts: DownloadOptions): Promise<void> {
  const have = existsSync(part) ? statSync(part).size : 0;
  const res = await get(url, have > 0 ? { Range: `bytes=${have}-` } : {}, opts.timeoutMs ?? 30000);
  let offset = 0;
  if (res.statusCode === 206) offset = have;
  else if (res.statusCode === 416) {
    res.resume();
    return; // already complete
  } else if (res.statusCode !== 200) {
    res.resume();
    throw new DataError(`download of ${url} failed: HTTP ${res.statusCode}`, "HTTP");
  }
  const len = Number(res.headers["content-length"]);
  const total = Number.isFinite(len) ? offset + len : undefined;
  let done = offset;
  opts.onProgress?.(done, total);
  const out = createWriteStream(part, { flags: offset > 0 ? "a" : "w" });
  // On a broken connection the bytes already received are flushed before the next attempt measures the file.
  const flushed = () => new Promise<void>((resolve) => (out.closed ? resolve() : out.end(() => resolve())));
  await new Promise<void>((resolve, reject) => {
    res.on("data", (c: Buffer) => {
      done += c.length;
      opts.onProgress?.(done, total);
    });
    res.on("error", reject);
    res.on("aborted", () => reject(new Error("connection closed early")));
    out.on("error", reject);
    out.on("finish", () => resolve());
    res.pipe(out);
  }).catch(async (e) => {
    await flushed();
    throw e;
  });
  if (total !== undefined && done < total) throw new Error(`connection closed after ${done} of ${total} bytes`);
}

/** Downloads `url` to `dest` (resuming `dest.part`), verifies the checksum, returns `dest`. */
export async function download(url: string, dest: string, opts: DownloadOptions = {}): Promise<string> {
  mkdirSync(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const retries = opts.retries ?? 5;
  let lastErr: Error | null = null;
  for (let attempt = 0; attempt < retries; attempt++) {
    try {
      await fetchOnce(url, part, opts);
      lastErr = null;
      break;
    } catch (e) {
      lastErr = e as Error;
      if (e instanceof DataError) throw e;
    }
  }
  if (lastErr) throw new DataError(`download of ${url} failed after ${retries} attempts: ${lastErr.message}`, "HTTP");
  for (const [algo, want] of [
    ["md5", opts.md5],
    ["sha256", opts.sha256],
  ] as const) {
    if (!want) continue;
    const got = await hashFile(part, algo);
    if (got !== want.toLowerCase()) {
      rmSync(part, { force: true });
      throw new DataError(
        `checksum mismatch for ${url}: ${algo} ${got}, expected ${want}; partial file removed`,
        "CHECKSUM",
      );
    }
  }
  renameSync(part, dest);
  return dest;
}

/** Downloads the official CIFAR-10 binary archive into the cache (or `dir`), unless already there. */
export async function downloadCifar10(
  dir = join(cacheDir(), "downloads"),
  opts: Omit<DownloadOptions, "md5" | "sha256"> & { url?: string } = {},
): Promise<string> {
  const dest = join(dir, CIFAR10_BINARY.file);
  if (existsSync(dest)) return dest;
  return download(opts.url ?? CIFAR10_BINARY.url, dest, { ...opts, md5: CIFAR10_BINARY.md5 });
}
