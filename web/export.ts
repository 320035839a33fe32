/**
 * Dataset export: the page's `<class>/<image>` files → one tar in the study's layout plus `ercnn-export.json`
 * (what `ercnn encrypt EXPORT.tar -o STORE` imports; src/data/page-export.ts). Chunks of ~4 MB of images are encrypted
 * by the worker pool, a few in flight per worker; their tar parts are Blobs (kept by the browser's blob store, which
 * spills to disk), assembled in order at the end, so the page holds file handles and labels, not pixels.
 */
import { isHillKey, type SchemeKey } from "../src/cipher/schemes/index.ts";
import type { WorkerPool } from "./pool.ts";
import type { DecodeOptions } from "./preprocess.ts";
import { tarEnd, tarMember } from "./tar.ts";
import type { ExportItem, WorkerReply } from "./worker.ts";

/** Images per worker task: at most 32 and about 4 MB of ciphertexts (6 images of 224×224), at least 2. */
export function chunkSize(shape: [number, number, number]): number {
  return Math.max(2, Math.min(32, Math.floor((4 << 20) / (shape[0] * shape[1] * shape[2] * 4))));
}
const PROBE = 16;

export interface ExportOptions {
  classes: string[];
  decode: DecodeOptions;
  split: "train" | "test";
  skipBad: boolean;
  onProgress?: (done: number, total: number, seconds: number) => void;
  signal?: AbortSignal;
}

export interface ExportResult {
  blob: Blob;
  count: number;
  skipped: { name: string; reason: string }[];
  seconds: number;
  /** Worker seconds by stage, summed over workers. */
  timing: { decode: number; encrypt: number; pack: number };
}

/**
 * The key's identity as the manifest states it (never its values or seed), as the store's meta.json says it: a Hill
 * key's mode and `scrambled` only for a key that scrambles block positions (without it the manifest is byte for byte
 * what pages before the flag wrote); a seeded scheme's key its name as both scheme and mode.
 */
export function manifestKey(key: SchemeKey): Record<string, unknown> {
  const { fingerprint, blockSize, channels } = key;
  if (!isHillKey(key)) return { fingerprint, mode: key.scheme, scheme: key.scheme, blockSize, channels };
  return { fingerprint, mode: key.mode, blockSize, channels, ...(key.scramble ? { scrambled: true } : {}) };
}

function expect<T extends WorkerReply["type"]>(r: WorkerReply, type: T): Extract<WorkerReply, { type: T }> {
  if (r.type === "error") throw new Error(r.message);
  if (r.type !== type) throw new Error(`worker answered ${r.type}, expected ${type}`);
  return r as Extract<WorkerReply, { type: T }>;
}

export async function exportDataset(
  pool: WorkerPool,
  key: SchemeKey,
  items: ExportItem[],
  o: ExportOptions,
): Promise<ExportResult> {
  const t0 = performance.now();
  const probe = await pool.run({ type: "probe", items: items.slice(0, PROBE), decode: o.decode, skipBad: o.skipBad });
  const { shape } = expect(probe, "shape");
  const total = items.length;
  const CHUNK = chunkSize(shape);
  const chunks = Math.ceil(total / CHUNK);
  const results: Promise<Extract<WorkerReply, { type: "chunk" }>>[] = [];
  const inflight = pool.size * 2;
  let issued = 0;
  const issue = () => {
    while (issued < chunks && issued - collected < inflight) {
      const start = issued * CHUNK;
      const r = pool
        .run({
          type: "chunk",
          start,
          items: items.slice(start, start + CHUNK),
          decode: o.decode,
          shape,
          skipBad: o.skipBad,
        })
        .then((m) => expect(m, "chunk"));
      r.catch(() => {});
      results.push(r);
      issued++;
    }
  };
  let collected = 0;
  const parts: Blob[] = [];
  const labels: string[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const timing = { decode: 0, encrypt: 0, pack: 0 };
  issue();
  while (collected < chunks) {
    if (o.signal?.aborted) throw new Error("cancelled");
    const c = await results[collected];
    collected++;
    issue();
    parts.push(c.blob);
    labels.push(...c.labels);
    skipped.push(...c.skipped);
    timing.decode += c.timing.decode / 1000;
    timing.encrypt += c.timing.encrypt / 1000;
    timing.pack += c.timing.pack / 1000;
    o.onProgress?.(Math.min(total, collected * CHUNK), total, (performance.now() - t0) / 1000);
  }
  if (labels.length === 0) throw new Error("no image could be read");
  const manifest = {
    format: "ercnn-page-export",
    version: 1,
    layout: "study",
    split: o.split,
    key: manifestKey(key),
    classes: o.classes,
    shape,
    decode: o.decode,
    count: labels.length,
    skipped,
    createdAt: new Date().toISOString(),
  };
  const enc = new TextEncoder();
  const blob = new Blob(
    [
      ...tarMember("ercnn-export.json", enc.encode(`${JSON.stringify(manifest, null, 2)}\n`)),
      ...parts,
      ...tarMember(`${o.split}_label.txt`, enc.encode(`${labels.join("\n")}\n`)),
      tarEnd(),
    ] as BlobPart[],
    { type: "application/x-tar" },
  );
  return { blob, count: labels.length, skipped, seconds: (performance.now() - t0) / 1000, timing };
}
