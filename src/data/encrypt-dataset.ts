/**
 * The `ercnn encrypt` pipeline: source items → worker threads (decode, scale to [0,1], encrypt) → store shards.
 * Resumable: shards already listed in the store's meta.json are skipped; a store is never continued with another key
 * or another source/plan.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, renameSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { SchemeKey } from "../cipher/schemes/index.ts";
import { type DecodeOptions, decodeImage } from "./decode.ts";
import { BadImageError, BlockSizeError, DataError } from "./errors.ts";
import type { EncodeWorkerData } from "./loader-worker.ts";
import { defaultWorkers, WorkerPool, WorkerTaskError } from "./pool.ts";
import type { ImageSource, SourceItem } from "./source.ts";
import { isStore, type SkippedItem, type StoreMeta, StoreWriter, type WriterOptions } from "./store.ts";
import { readStudyItem } from "./study-layout.ts";

export interface EncryptDatasetOptions {
  source: ImageSource;
  out: string;
  /** null: write a plain store; any scheme's key (src/cipher/schemes). */
  key: SchemeKey | null;
  decode?: DecodeOptions;
  /** Images per shard (default: 5000, fewer for big images so a shard stays ≤ 256 MB). */
  shardSize?: number;
  workers?: number;
  /** Images per worker task. */
  chunkSize?: number;
  skipBad?: boolean;
  overwrite?: boolean;
  /** Extra fields for meta.source (split, preset, …). */
  sourceInfo?: Record<string, unknown>;
  /** Called with (images done, total) — resumed shards count as done. */
  onProgress?: (done: number, total: number) => void;
  /** Called after each shard is durably written. */
  onShard?: (index: number, count: number) => void;
  signal?: AbortSignal;
  /** For tests (see StoreWriter). */
  writeFile?: WriterOptions["writeFile"];
}

export interface EncryptDatasetResult {
  meta: StoreMeta;
  resumed: boolean;
  /** Images encrypted in this run. */
  written: number;
  /** Images already in the store when this run started. */
  alreadyDone: number;
  skipped: SkippedItem[];
  seconds: number;
  /** Images whose alpha channel had non-opaque pixels (the alpha was dropped). */
  transparent: string[];
  /** Damaged shard files found on resume (those shards were written again). */
  repaired: string[];
  /** Worker threads used: the request capped at the cores and the chunks to encrypt (0 when nothing was left). */
  workers: number;
  /** The source's warnings (e.g. class ids that never occur). */
  warnings: string[];
}

/** Where an `--overwrite` of an existing store is built before it replaces the old one. */
export function overwriteScratch(out: string): string {
  return `${out.replace(/[/\\]+$/, "")}.overwrite-partial`;
}

/**
 * Replaces the store at `out` with the complete one built at `scratch`: rename the old one aside, rename the new
 * one in, delete the old one. Files in the old folder that are not part of a store are carried over.
 */
function swapStore(scratch: string, out: string): void {
  const old = `${out.replace(/[/\\]+$/, "")}.overwrite-old`;
  rmSync(old, { recursive: true, force: true });
  for (const f of readdirSync(out))
    if (f !== "meta.json" && !/^shard-\d+\.[xy]\.npy/.test(f) && !existsSync(`${scratch}/${f}`))
      renameSync(`${out}/${f}`, `${scratch}/${f}`);
  renameSync(out, old);
  renameSync(scratch, out);
  rmSync(old, { recursive: true, force: true });
}

async function probeSize(it: SourceItem, decode: DecodeOptions): Promise<{ h: number; w: number }> {
  if (it.chw) return { h: it.h!, w: it.w! };
  if (it.npyPath) {
    const s = readStudyItem(it.npyPath);
    return { h: s.h, w: s.w };
  }
  const { readFileSync } = await import("node:fs");
  const bytes = it.bytes ?? readFileSync(it.path!);
  const img = await decodeImage(bytes, it.name, decode);
  return { h: img.h, w: img.w };
}

function planHash(src: ImageSource, decode: DecodeOptions, shape: number[]): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ classes: src.classes, decode, shape }));
  for (const it of src.items) {
    // Only the last two path components: the same data reached through another path still resumes.
    const parts = it.name.split(/[/\\:]/);
    h.update(`${parts.slice(-2).join("/")}\t${it.label}\n`);
  }
  return h.digest("hex");
}

/**
 * Copies in-memory encoded bytes of a chunk into one transferable buffer (items keep offsets): posting the items'
 * own Uint8Arrays would clone each one's whole backing buffer (archive read chunks), which costs more than decoding.
 */
function packItems(items: SourceItem[]): { items: SourceItem[]; blob?: Uint8Array; transfer: ArrayBuffer[] } {
  let total = 0;
  for (const it of items) total += it.bytes?.length ?? 0;
  let totalChw = 0;
  for (const it of items) totalChw += it.chw?.length ?? 0;
  if (total === 0 && totalChw === 0) return { items, transfer: [] };
  const blob = new Uint8Array(total + totalChw);
  let off = 0;
  const out = items.map((it) => {
    const { bytes, chw, ...rest } = it;
    const src = bytes ?? chw;
    if (!src) return rest;
    blob.set(src, off);
    const r: SourceItem & { off: number; len: number; kind: "bytes" | "chw" } = {
      ...rest,
      off,
      len: src.length,
      kind: bytes ? "bytes" : "chw",
    };
    off += src.length;
    return r;
  });
  return { items: out, blob, transfer: [blob.buffer as ArrayBuffer] };
}

/** Default shard size: 5000 images, fewer when that would exceed 256 MB. */
export function defaultShardSize(shape: [number, number, number]): number {
  const bytes = shape[0] * shape[1] * shape[2] * 4;
  return Math.max(1, Math.min(5000, Math.floor((256 * 1024 * 1024) / bytes)));
}

export async function encryptDataset(opts: EncryptDatasetOptions): Promise<EncryptDatasetResult> {
  // --overwrite of an existing store: build the new one aside and swap it in only once it is complete, so a failing
  // run (bad input, full disk, Ctrl-C) leaves the old store as it was.
  if (opts.overwrite && isStore(opts.out)) {
    const scratch = overwriteScratch(opts.out);
    rmSync(scratch, { recursive: true, force: true });
    let res: EncryptDatasetResult;
    try {
      res = await encryptInto({ ...opts, out: scratch, overwrite: false });
    } catch (e) {
      rmSync(scratch, { recursive: true, force: true });
      if (e instanceof DataError) e.message += ` (the existing store ${opts.out} was left unchanged)`;
      throw e;
    }
    swapStore(scratch, opts.out);
    return res;
  }
  return encryptInto(opts);
}

/** The stored image shape: known from the source, from the crop, or from the first decodable image. */
async function imageShape(opts: EncryptDatasetOptions): Promise<[number, number, number]> {
  const { source, key } = opts;
  const decode = opts.decode ?? {};
  let size = source.size ?? (decode.crop ? { h: decode.crop, w: decode.crop } : undefined);
  if (!size) {
    for (const it of source.items) {
      try {
        size = await probeSize(it, decode);
        break;
      } catch (e) {
        if (!(opts.skipBad && e instanceof BadImageError)) throw e;
      }
    }
    if (!size) throw new DataError(`no decodable image in ${source.description}`, "EMPTY");
  }
  if (key && (size.h % key.blockSize !== 0 || size.w % key.blockSize !== 0))
    throw new BlockSizeError(size.h, size.w, key.blockSize);
  return [3, size.h, size.w];
}

type ChunkResult = { x: Float32Array; labels: Int32Array; n: number; skipped: SkippedItem[]; transparent: string[] };

/**
 * Encrypts the shards `todo` in worker threads and writes them in order: each shard is cut into chunks, at most
 * 3 per worker in flight, assembled as they come back. `done` is the progress count to start from.
 */
async function encryptShards(
  writer: StoreWriter,
  todo: number[],
  opts: EncryptDatasetOptions,
  shape: [number, number, number],
  done: number,
): Promise<{ written: number; skipped: SkippedItem[]; transparent: string[]; workers: number }> {
  const { source } = opts;
  const { total, shardSize } = writer.meta.plan;
  const out = { written: 0, skipped: [] as SkippedItem[], transparent: [] as string[], workers: 0 };
  if (todo.length === 0) return out;
  const wd: EncodeWorkerData = {
    role: "encode",
    key: opts.key,
    decode: opts.decode ?? {},
    shape,
    skipBad: !!opts.skipBad,
  };
  const chunkSize = opts.chunkSize ?? Math.max(16, Math.min(256, Math.floor(shardSize / 4) || 16));
  const per = shape[0] * shape[1] * shape[2];
  const span = (s: number) => [s * shardSize, Math.min(s * shardSize + shardSize, total)] as const;
  const chunks: { shard: number; start: number; end: number }[] = [];
  for (const s of todo) {
    const [s0, s1] = span(s);
    for (let a = s0; a < s1; a += chunkSize) chunks.push({ shard: s, start: a, end: Math.min(a + chunkSize, s1) });
  }
  // A chunk is one worker's task: more workers than chunks would idle, more than cores would only contend.
  const workers = Math.min(opts.workers ?? defaultWorkers(), availableParallelism(), chunks.length);
  out.workers = workers;
  const pool = new WorkerPool(workers, wd);
  const results = new Map<number, Promise<ChunkResult>>();
  let issued = 0;
  let ci = 0;
  const issue = () => {
    while (issued < chunks.length && issued - ci < workers * 3) {
      const c = chunks[issued];
      const { items, blob, transfer } = packItems(source.items.slice(c.start, c.end));
      const p = pool.run<ChunkResult>({ type: "encode", items, blob }, transfer);
      p.catch(() => {});
      results.set(issued++, p);
    }
  };
  const aborted = () => {
    if (opts.signal?.aborted) throw new DataError("encryption interrupted", "ABORTED");
  };
  try {
    for (const s of todo) {
      const [s0, s1] = span(s);
      const x = new Float32Array((s1 - s0) * per);
      const labels: number[] = [];
      const shardSkipped: SkippedItem[] = [];
      let n = 0;
      while (ci < chunks.length && chunks[ci].shard === s) {
        issue();
        aborted();
        const r = await results.get(ci)!.catch((e) => {
          if (e instanceof WorkerTaskError && e.payload.code === "BAD_IMAGE")
            throw new BadImageError(e.payload.file!, e.payload.reason!);
          throw e;
        });
        results.delete(ci);
        x.set(r.x, n * per);
        for (let i = 0; i < r.n; i++) labels.push(r.labels[i]);
        n += r.n;
        shardSkipped.push(...r.skipped);
        out.transparent.push(...r.transparent);
        done += chunks[ci].end - chunks[ci].start;
        ci++;
        opts.onProgress?.(done, total);
        issue();
      }
      aborted();
      await writer.writeShard(s, n === s1 - s0 ? x : x.subarray(0, n * per), labels, shardSkipped);
      out.written += n;
      out.skipped.push(...shardSkipped);
      opts.onShard?.(s, n);
    }
  } finally {
    await pool.close();
  }
  return out;
}

async function encryptInto(opts: EncryptDatasetOptions): Promise<EncryptDatasetResult> {
  const t0 = performance.now();
  const { source, key } = opts;
  const decode = opts.decode ?? {};
  if (source.items.length === 0) throw new DataError(`${source.description} has no images`, "EMPTY");
  if (key && key.channels !== 3) throw new DataError(`key has ${key.channels} channels; images have 3`, "KEY_SHAPE");
  const shape = await imageShape(opts);
  const shardSize = opts.shardSize ?? defaultShardSize(shape);
  const total = source.items.length;
  const writer = await StoreWriter.open(
    opts.out,
    {
      key,
      classes: source.classes,
      classNames: source.classNames,
      shape,
      source: { kind: source.kind, description: source.description, decode: { ...decode }, ...opts.sourceInfo },
      plan: { total, shardSize, hash: planHash(source, decode, shape) },
    },
    { overwrite: opts.overwrite, writeFile: opts.writeFile },
  );
  const todo: number[] = [];
  for (let s = 0; s < writer.shardCount; s++) if (!writer.hasShard(s)) todo.push(s);
  const alreadyDone = writer.meta.shards.reduce((a, s) => a + (s.end - s.start), 0);
  opts.onProgress?.(alreadyDone, total);
  const { written, skipped, transparent, workers } = await encryptShards(writer, todo, opts, shape, alreadyDone);
  const meta = await writer.finish();
  for (const sh of meta.shards) if (!todo.includes(sh.index)) skipped.push(...sh.skipped);
  return {
    meta,
    resumed: writer.resumed,
    written,
    alreadyDone,
    skipped,
    seconds: (performance.now() - t0) / 1000,
    transparent,
    repaired: writer.repairs,
    workers,
    warnings: source.warnings ?? [],
  };
}
