// Pretrained weights by name, the way PyTorch users fetch them:
//   torchvision:<model>.<WEIGHTS>   e.g. torchvision:convnext_base.IMAGENET1K_V1 (torchvision's own weight enums)
//   timm:<name>                     a timm model on the Hugging Face hub (model.safetensors), e.g. timm:convnext_base.fb_in1k
//   <file>                          a local safetensors or .pth file, as before
// Downloads go once into torch.hub's cache ($TORCH_HOME/hub/checkpoints, TORCH_HOME defaulting to
// $XDG_CACHE_HOME/torch or ~/.cache/torch), resumable (HTTP Range) and verified: torchvision's file names carry the
// first hex digits of the file's sha256 (torch.hub's check_hash); Hugging Face serves an LFS file's full sha256 as its
// ETag (the X-Linked-Etag header of the resolve URL's redirect, as huggingface_hub reads it), so timm downloads are
// verified against that when no sha256 is given. Nothing that fails its check is renamed into the cache.
import { createHash } from "node:crypto";
import { createReadStream, existsSync, renameSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { homedir } from "node:os";
import { join } from "node:path";
import { download } from "../data/download.ts";

/** torchvision 0.14's weight files for the backbones ercnn builds (from its WeightsEnum classes). */
export const TORCHVISION_WEIGHTS: Record<string, Record<string, string>> = {
  resnet18: { IMAGENET1K_V1: "resnet18-f37072fd.pth" },
  resnet34: { IMAGENET1K_V1: "resnet34-b627a593.pth" },
  resnet50: { IMAGENET1K_V1: "resnet50-0676ba61.pth", IMAGENET1K_V2: "resnet50-11ad3fa6.pth" },
  resnext50_32x4d: { IMAGENET1K_V1: "resnext50_32x4d-7cdf4587.pth", IMAGENET1K_V2: "resnext50_32x4d-1a0047aa.pth" },
  densenet121: { IMAGENET1K_V1: "densenet121-a639ec97.pth" },
  convnext_tiny: { IMAGENET1K_V1: "convnext_tiny-983f1562.pth" },
  convnext_small: { IMAGENET1K_V1: "convnext_small-0c510722.pth" },
  convnext_base: { IMAGENET1K_V1: "convnext_base-6075fbad.pth" },
  convnext_large: { IMAGENET1K_V1: "convnext_large-ea097f82.pth" },
};

export const TORCHVISION_BASE_URL = "https://download.pytorch.org/models/";
export const HF_BASE_URL = "https://huggingface.co/";

/** torch.hub.get_dir()/checkpoints: where torch.hub.load_state_dict_from_url keeps weights. */
export function torchHubCheckpoints(env: NodeJS.ProcessEnv = process.env): string {
  const torchHome = env.TORCH_HOME || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "torch");
  return join(torchHome, "hub", "checkpoints");
}

export interface HubOptions {
  /** Cache folder (default torchHubCheckpoints()). */
  dir?: string;
  /** Mirrors or a test server (defaults: ERCNN_TORCHVISION_URL / ERCNN_HF_URL, else the public hosts). */
  torchvisionBaseUrl?: string;
  hfBaseUrl?: string;
  /** Extra or replacement torchvision weight tables (model → WEIGHTS → file name with its sha256 prefix). */
  weights?: Record<string, Record<string, string>>;
  /** Full sha256 to verify for a timm file; without it, the hub's X-Linked-Etag/ETag when that is a sha256. */
  sha256?: string;
  /** Before a download: one line saying what it will be verified against (for logs). */
  onVerify?: (line: string) => void;
  onProgress?: (done: number, total: number | undefined) => void;
  retries?: number;
}

/** Whether `spec` names weights by hub (rather than a local file). */
export const isHubSpec = (spec: string): boolean => /^(torchvision|timm):/.test(spec);

/**
 * The sha256 Hugging Face publishes for a file: huggingface_hub's get_hf_file_metadata sends a HEAD to the resolve URL
 * without following the redirect to the CDN and reads X-Linked-Etag (LFS files), else ETag. An LFS file's ETag is its
 * sha256 (64 hex digits); a git blob's is a 40-digit sha1, which is not used. Null when the server offers none or
 * does not answer the HEAD (the download then reports its own error).
 */
export function hfPublishedSha256(url: string, timeoutMs = 30_000, hops = 5): Promise<string | null> {
  return new Promise((resolve) => {
    const mod = url.startsWith("https:") ? https : http;
    const req = mod.request(url, { method: "HEAD" }, (res) => {
      res.resume();
      const raw = res.headers["x-linked-etag"] ?? res.headers.etag;
      const tag = (Array.isArray(raw) ? raw[0] : raw)?.replace(/^W\//, "").replace(/"/g, "").trim().toLowerCase();
      const loc = res.headers.location;
      if (tag && /^[0-9a-f]{64}$/.test(tag)) resolve(tag);
      else if (!raw && loc && res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && hops > 0)
        hfPublishedSha256(new URL(loc, url).href, timeoutMs, hops - 1).then(resolve);
      else resolve(null);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(null));
    req.end();
  });
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** The file to fetch for a spec: its URL, its name in the cache, and the hash it must have (prefix or full). */
export function hubSource(spec: string, o: HubOptions = {}): { url: string; file: string; hash: string | null } {
  const [hub, rest] = [spec.slice(0, spec.indexOf(":")), spec.slice(spec.indexOf(":") + 1)];
  if (hub === "torchvision") {
    const dot = rest.lastIndexOf(".");
    const model = dot > 0 ? rest.slice(0, dot) : rest;
    const name = dot > 0 ? rest.slice(dot + 1) : "";
    const table = { ...TORCHVISION_WEIGHTS, ...o.weights };
    const known = table[model];
    if (!known)
      throw new Error(
        `--pretrained ${spec}: no torchvision weights for '${model}' here (known: ${Object.keys(table).join(", ")})`,
      );
    const file = known[name];
    if (!file)
      throw new Error(
        `--pretrained ${spec}: ${model} has no weights '${name}' (give one of ${Object.keys(known)
          .map((w) => `${model}.${w}`)
          .join(", ")})`,
      );
    const hash = /-([a-f0-9]+)\.[a-z]+$/.exec(file)?.[1] ?? null;
    const base = o.torchvisionBaseUrl ?? process.env.ERCNN_TORCHVISION_URL ?? TORCHVISION_BASE_URL;
    return { url: new URL(file, base.endsWith("/") ? base : `${base}/`).href, file, hash };
  }
  if (hub === "timm") {
    if (!/^[\w.-]+$/.test(rest)) throw new Error(`--pretrained ${spec}: '${rest}' is not a timm model name`);
    const base = o.hfBaseUrl ?? process.env.ERCNN_HF_URL ?? HF_BASE_URL;
    const url = new URL(`timm/${rest}/resolve/main/model.safetensors`, base.endsWith("/") ? base : `${base}/`).href;
    return { url, file: `timm-${rest}.safetensors`, hash: o.sha256?.toLowerCase() ?? null };
  }
  throw new Error(`--pretrained ${spec}: unknown hub '${hub}' (torchvision:<model>.<WEIGHTS> or timm:<name>)`);
}

/**
 * The local file for a --pretrained value: a path is returned as it is; a hub name is downloaded into the cache
 * once (resuming an interrupted download), its checksum verified, and the cached path returned.
 */
export async function resolvePretrained(spec: string, o: HubOptions = {}): Promise<string> {
  if (!isHubSpec(spec)) {
    if (!existsSync(spec))
      throw new Error(`--pretrained ${spec}: no such file (or name weights as torchvision:… / timm:…)`);
    return spec;
  }
  const { url, file, hash: given } = hubSource(spec, o);
  const dir = o.dir ?? torchHubCheckpoints();
  const dest = join(dir, file);
  if (existsSync(dest)) return dest;
  let hash = given;
  let source = spec.startsWith("timm:") ? "the sha256 given" : "the sha256 prefix in its published file name";
  if (!hash && spec.startsWith("timm:")) {
    hash = await hfPublishedSha256(url);
    source = "the sha256 the hub publishes (X-Linked-Etag/ETag)";
  }
  o.onVerify?.(hash ? `verified against ${source}` : "not verified: the hub publishes no sha256 for it");
  // download() resumes <tmp>.part across attempts and calls; the verified file is renamed into place.
  const tmp = `${dest}.download`;
  try {
    await download(url, tmp, {
      onProgress: o.onProgress,
      retries: o.retries,
      sha256: hash?.length === 64 ? hash : undefined,
    });
  } catch (e) {
    if ((e as { code?: string }).code === "CHECKSUM")
      throw new Error(`--pretrained ${spec}: ${(e as Error).message} (${source}); the download was discarded`);
    throw e;
  }
  if (hash && hash.length < 64) {
    const got = await sha256Of(tmp);
    if (!got.startsWith(hash)) {
      rmSync(tmp, { force: true });
      throw new Error(
        `--pretrained ${spec}: checksum mismatch for ${url}: sha256 ${got} does not start with ${hash} (as its ` +
          "published file name says); the download was discarded",
      );
    }
  }
  renameSync(tmp, dest);
  return dest;
}

/** Progress lines for a download (a terminal bar belongs to the CLI; this is the plain-lines form). */
export function downloadProgressLines(label: string, log: (line: string) => void) {
  let next = 0;
  const t0 = Date.now();
  return (done: number, total: number | undefined) => {
    const frac = total ? done / total : 0;
    if (total && frac < next && done < total) return;
    next = frac + 0.1;
    const mb = (n: number) => (n / 2 ** 20).toFixed(1);
    const rate = done / 2 ** 20 / Math.max((Date.now() - t0) / 1000, 1e-3);
    log(`${label}: ${mb(done)}${total ? ` of ${mb(total)}` : ""} MiB (${rate.toFixed(1)} MiB/s)`);
  };
}
