/**
 * The dataset store: a directory of numpy-readable shards plus `meta.json` (see docs/store.md).
 *
 *   meta.json                 format, key fingerprint/mode/block size (or key: null for plain), classes, shape,
 *                             source, plan (what is being written, for resume), shards, per-channel stats
 *   shard-00000.x.npy         float32 N×C×H×W ciphertexts (or plain pixels in [0,1])
 *   shard-00000.y.npy         int64 N labels
 *
 * Every file is written atomically (temp + rename) and meta.json lists a shard only after both of its files are in
 * place, so a kill or a full disk leaves the store at its last complete shard; `StoreWriter.open` resumes from there.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, readSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { KeyMode } from "../cipher/index.ts";
import { isHillKey, type SchemeKey } from "../cipher/schemes/index.ts";
import type { SeededSchemeName } from "../cipher/schemes/seeded-key.ts";
import { writeFileAtomic } from "../core/atomic.ts";
import { readNpy, writeNpy } from "../core/npy.ts";
import { DataError, KeyMismatchError } from "./errors.ts";
import { classListProblem } from "./names.ts";
import { storeValuesDescription } from "./store-cipher.ts";
import { checkMeta, shardName, statsFromShards } from "./store-meta.ts";

export const STORE_FORMAT = "ercnn-store";
export const STORE_VERSION = 1;

export interface StoreKeyInfo {
  fingerprint: string;
  /** The key's kind: the Hill key's mode, or the seeded scheme's name (stores written before it was recorded lack it). */
  mode?: KeyMode | SeededSchemeName;
  /** The key's scheme (src/cipher/schemes) when it is not a Hill cipher; absent means hill or hill-scramble. */
  scheme?: SeededSchemeName;
  blockSize: number;
  channels: number;
  /** Present (true) when the key also scrambles block positions; the seed itself is never stored here. */
  scrambled?: true;
}

export interface SkippedItem {
  name: string;
  reason: string;
}

export interface ShardInfo {
  index: number;
  x: string;
  y: string;
  /** Images actually stored (planned minus skipped). */
  count: number;
  /** Planned source positions [start, end). */
  start: number;
  end: number;
  /** Per-channel sums of values and squares (float64), for the store statistics. */
  sum: number[];
  sumSq: number[];
  skipped: SkippedItem[];
  /** sha256 of the two files as written (absent in stores written before checksums were recorded). */
  xSha256?: string;
  ySha256?: string;
}

export interface StorePlan {
  /** Planned number of source items. */
  total: number;
  shardSize: number;
  /** sha256 over the ordered (name, label) list plus options: a resume must continue the same plan. */
  hash: string;
}

export interface StoreMeta {
  format: typeof STORE_FORMAT;
  version: number;
  /** null: plain (unencrypted) store. */
  key: StoreKeyInfo | null;
  blockSize: number | null;
  classes: string[];
  classNames?: string[];
  /** Per-image shape [C, H, W]. */
  shape: [number, number, number];
  dtype: "float32";
  labelDtype: "int64";
  layout: "NCHW";
  /** What the values are before any loader normalisation. */
  pixels: string;
  normalization: "none";
  source: { kind: string; description: string; split?: string; decode?: Record<string, unknown>; [k: string]: unknown };
  plan: StorePlan;
  shards: ShardInfo[];
  count: number;
  complete: boolean;
  /** Per-channel mean/std of the stored values (computed while writing; final once complete). */
  stats: { mean: number[]; std: number[] } | null;
  createdAt: string;
  updatedAt: string;
}

export function keyInfo(key: SchemeKey | null): StoreKeyInfo | null {
  if (!key) return null;
  if (!isHillKey(key))
    return {
      fingerprint: key.fingerprint,
      mode: key.scheme,
      scheme: key.scheme,
      blockSize: key.blockSize,
      channels: key.channels,
    };
  const info: StoreKeyInfo = {
    fingerprint: key.fingerprint,
    mode: key.mode,
    blockSize: key.blockSize,
    channels: key.channels,
  };
  return key.scramble ? { ...info, scrambled: true } : info;
}

export { shardName } from "./store-meta.ts";

export function readMeta(dir: string): StoreMeta {
  const p = join(dir, "meta.json");
  if (!existsSync(p)) throw new DataError(`${dir} is not an ercnn store (no meta.json)`, "NOT_A_STORE");
  let meta: StoreMeta;
  try {
    meta = JSON.parse(readFileSync(p, "utf8"));
  } catch (e) {
    throw new DataError(`${p} is not valid JSON: ${(e as Error).message}`, "BAD_STORE");
  }
  if (meta?.format !== STORE_FORMAT)
    throw new DataError(`${p}: format is '${meta?.format}', not ${STORE_FORMAT}`, "BAD_STORE");
  if (meta.version > STORE_VERSION)
    throw new DataError(`${p}: store version ${meta.version} is newer than this ercnn (${STORE_VERSION})`, "BAD_STORE");
  checkMeta(dir, meta, STORE_VERSION);
  return meta;
}

export function isStore(dir: string): boolean {
  return existsSync(join(dir, "meta.json"));
}

/** Refuses a key that is not the store's. `key` null means "plain". */
export function checkStoreKey(dir: string, meta: StoreMeta, key: SchemeKey | null): void {
  const sf = meta.key?.fingerprint ?? null;
  const kf = key?.fingerprint ?? null;
  if (sf !== kf) throw new KeyMismatchError(dir, sf, kf);
}

/** A .npy file's header (dtype descr, shape, data offset), reading only the header; null if it is unreadable. */
function npyHeader(path: string): { descr: string; shape: number[]; dataStart: number } | null {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(12);
    if (readSync(fd, head, 0, 12, 0) < 10 || head.toString("latin1", 1, 6) !== "NUMPY") return null;
    const prefix = head[6] === 1 ? 10 : 12;
    const len = head[6] === 1 ? head.readUInt16LE(8) : head.readUInt32LE(8);
    if (len > 65536) return null;
    const text = Buffer.alloc(len);
    if (readSync(fd, text, 0, len, prefix) < len) return null;
    const t = text.toString("latin1");
    const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(t)?.[1];
    const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(t)?.[1];
    if (descr === undefined || shape === undefined || !/['"]fortran_order['"]\s*:\s*False/.test(t)) return null;
    const dims = shape
      .split(",")
      .map((d) => d.trim())
      .filter(Boolean)
      .map(Number);
    return dims.every(Number.isSafeInteger) ? { descr, shape: dims, dataStart: prefix + len } : null;
  } finally {
    closeSync(fd);
  }
}

/** What is wrong with one shard file against what meta.json says it holds, or null. */
function shardFileProblem(file: string, f: string, descr: string, shape: number[], itemBytes: number): string | null {
  const st = lstatSync(file, { throwIfNoEntry: false });
  if (!st) return "is missing";
  if (!st.isFile()) return "is not a regular file (a store's shards are plain files inside it)";
  const h = npyHeader(file);
  if (!h) return "has no readable C-order .npy header";
  if (h.descr !== descr || h.shape.length !== shape.length || h.shape.slice(1).join() !== shape.slice(1).join())
    return `holds ${h.descr} [${h.shape}], but meta.json's dtype and shape say ${descr} [${shape}]`;
  if (h.shape[0] !== shape[0]) return `holds ${h.shape[0]} images, but meta.json's ${f}.count is ${shape[0]}`;
  const want = h.dataStart + itemBytes;
  if (st.size !== want)
    return `has ${st.size} bytes, ${want} expected for ${shape[0]} images (${st.size < want ? "truncated" : "too long"})`;
  return null;
}

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/**
 * What is wrong with each listed shard's files: missing, not the size their header and count require (a truncated
 * copy or an interrupted write outside ercnn), or (with `checksums`) not the bytes that were written. Sizes cost a
 * stat each; checksums read every byte (about 0.2 s per 60 MB shard).
 */
export function shardProblems(
  dir: string,
  meta: StoreMeta,
  opts: { checksums?: boolean } = {},
): { index: number; file: string; problem: string }[] {
  const [c, h, w] = meta.shape;
  const out: { index: number; file: string; problem: string }[] = [];
  for (const [i, sh] of meta.shards.entries()) {
    for (const [name, descr, shape, itemBytes, sha] of [
      [sh.x, "<f4", [sh.count, c, h, w], sh.count * c * h * w * 4, sh.xSha256],
      [sh.y, "<i8", [sh.count], sh.count * 8, sh.ySha256],
    ] as const) {
      const file = join(dir, name);
      const problem = shardFileProblem(file, `shards[${i}]`, descr, [...shape], itemBytes);
      if (problem) {
        out.push({ index: sh.index, file, problem });
        break;
      }
      if (opts.checksums && sha && sha256File(file) !== sha) {
        out.push({ index: sh.index, file, problem: "does not match its sha256 in meta.json (changed after writing)" });
        break;
      }
    }
  }
  return out;
}

/** Per-channel sum and sum of squares of N×C×H×W data. */
export function channelSums(x: Float32Array, n: number, c: number, hw: number): { sum: number[]; sumSq: number[] } {
  const sum = new Array(c).fill(0);
  const sumSq = new Array(c).fill(0);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const off = (i * c + ch) * hw;
      let s = 0;
      let q = 0;
      for (let j = 0; j < hw; j++) {
        const v = x[off + j];
        s += v;
        q += v * v;
      }
      sum[ch] += s;
      sumSq[ch] += q;
    }
  }
  return { sum, sumSq };
}

export interface StoreInit {
  key: SchemeKey | null;
  classes: string[];
  classNames?: string[];
  shape: [number, number, number];
  source: StoreMeta["source"];
  plan: StorePlan;
}

export interface WriterOptions {
  /** Delete an existing store at `dir` instead of resuming it. */
  overwrite?: boolean;
  /** For tests: replaces the atomic file writer (e.g. to simulate a full disk). */
  writeFile?: (path: string, data: string | Uint8Array) => Promise<void>;
}

export class StoreWriter {
  private constructor(
    readonly dir: string,
    readonly meta: StoreMeta,
    private readonly write: (path: string, data: string | Uint8Array) => Promise<void>,
    /** True when an existing store was reopened. */
    readonly resumed: boolean,
    /** On resume: the damaged shard files found, one line each (those shards are written again). */
    readonly repairs: string[] = [],
  ) {}

  /** Opens `dir` for writing: creates a new store, or resumes one written with the same key and plan. */
  static async open(dir: string, init: StoreInit, opts: WriterOptions = {}): Promise<StoreWriter> {
    const write = opts.writeFile ?? ((p: string, d: string | Uint8Array) => writeFileAtomic(p, d));
    const names = classListProblem(init.classes);
    if (names)
      throw new DataError(
        `store ${dir}: ${names.replace(/^classes\[\d+\]/, "class")}; class names become folder names ` +
          "(ercnn decrypt writes <out>/<class>/), so each must be one plain folder name",
        "BAD_CLASS_NAME",
      );
    if (existsSync(dir) && opts.overwrite) {
      for (const f of readdirSync(dir))
        if (f === "meta.json" || /^shard-\d+\.[xy]\.npy/.test(f)) rmSync(join(dir, f), { force: true });
    }
    if (existsSync(join(dir, "meta.json"))) {
      const meta = readMeta(dir);
      checkStoreKey(dir, meta, init.key);
      const same =
        meta.plan.hash === init.plan.hash &&
        meta.plan.shardSize === init.plan.shardSize &&
        meta.shape.join() === init.shape.join();
      if (!same)
        throw new DataError(
          `store ${dir} holds a different dataset or options (source: ${meta.source.description}, ` +
            `shape ${meta.shape.join("×")}, ${meta.plan.total} items in shards of ${meta.plan.shardSize}); ` +
            "use --overwrite or another --out",
          "PLAN_MISMATCH",
        );
      // Shards whose files are missing, truncated or changed are written again (never trust a listing blindly).
      const problems = shardProblems(dir, meta, { checksums: true });
      const bad = new Set(problems.map((p) => p.index));
      meta.shards = meta.shards.filter((s) => !bad.has(s.index));
      meta.count = meta.shards.reduce((a, s) => a + s.count, 0);
      meta.complete = false;
      return new StoreWriter(
        dir,
        meta,
        write,
        true,
        problems.map((p) => `${p.file} ${p.problem}`),
      );
    }
    if (existsSync(dir)) {
      const foreign = readdirSync(dir).filter((f) => !/^shard-\d+\.[xy]\.npy/.test(f) && !f.startsWith("."));
      if (foreign.length)
        throw new DataError(
          `${dir} exists and is not an ercnn store (has ${foreign.slice(0, 3).join(", ")}); choose an empty --out`,
          "NOT_A_STORE",
        );
    }
    const now = new Date().toISOString();
    const meta: StoreMeta = {
      format: STORE_FORMAT,
      version: STORE_VERSION,
      key: keyInfo(init.key),
      blockSize: init.key?.blockSize ?? null,
      classes: init.classes,
      ...(init.classNames ? { classNames: init.classNames } : {}),
      shape: init.shape,
      dtype: "float32",
      labelDtype: "int64",
      layout: "NCHW",
      pixels: storeValuesDescription(init.key),
      normalization: "none",
      source: init.source,
      plan: init.plan,
      shards: [],
      count: 0,
      complete: false,
      stats: null,
      createdAt: now,
      updatedAt: now,
    };
    const w = new StoreWriter(dir, meta, write, false);
    await w.saveMeta();
    return w;
  }

  get shardCount(): number {
    return Math.ceil(this.meta.plan.total / this.meta.plan.shardSize);
  }

  hasShard(i: number): boolean {
    return this.meta.shards.some((s) => s.index === i);
  }

  get complete(): boolean {
    return this.meta.complete;
  }

  private async saveMeta(): Promise<void> {
    this.meta.updatedAt = new Date().toISOString();
    await this.write(join(this.dir, "meta.json"), `${JSON.stringify(this.meta, null, 2)}\n`);
  }

  /** Writes shard `index` (N×C×H×W values, N labels) and records it in meta.json. */
  async writeShard(
    index: number,
    x: Float32Array,
    labels: ArrayLike<number>,
    skipped: SkippedItem[] = [],
  ): Promise<void> {
    const [c, h, w] = this.meta.shape;
    const n = labels.length;
    if (x.length < n * c * h * w) throw new Error(`shard ${index}: ${x.length} values for ${n} images`);
    const start = index * this.meta.plan.shardSize;
    const end = Math.min(start + this.meta.plan.shardSize, this.meta.plan.total);
    const xs = x.length === n * c * h * w ? x : x.subarray(0, n * c * h * w);
    const y = new BigInt64Array(n);
    for (let i = 0; i < n; i++) y[i] = BigInt(labels[i]);
    const xName = shardName(index, "x");
    const yName = shardName(index, "y");
    const xBytes = writeNpy({ dtype: "float32", shape: [n, c, h, w], data: xs });
    const yBytes = writeNpy({ dtype: "int64", shape: [n], data: y });
    const xSha256 = createHash("sha256").update(xBytes).digest("hex");
    const ySha256 = createHash("sha256").update(yBytes).digest("hex");
    try {
      await this.write(join(this.dir, xName), xBytes);
      await this.write(join(this.dir, yName), yBytes);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new DataError(
        `writing ${join(this.dir, xName)} failed (${err.code ?? err.message}); the store keeps its ` +
          `${this.meta.shards.length} complete shard(s) and the run can be resumed`,
        err.code === "ENOSPC" ? "DISK_FULL" : "WRITE_FAILED",
      );
    }
    const { sum, sumSq } = channelSums(xs, n, c, h * w);
    this.meta.shards = this.meta.shards.filter((s) => s.index !== index);
    this.meta.shards.push({ index, x: xName, y: yName, count: n, start, end, sum, sumSq, skipped, xSha256, ySha256 });
    this.meta.shards.sort((a, b) => a.index - b.index);
    this.meta.count = this.meta.shards.reduce((a, s) => a + s.count, 0);
    this.meta.stats = statsFromShards(this.meta.shards, c, h * w);
    await this.saveMeta();
  }

  async finish(): Promise<StoreMeta> {
    this.meta.complete = this.meta.shards.length === this.shardCount;
    await this.saveMeta();
    return this.meta;
  }
}

/**
 * What is wrong with a shard's values, or null: a non-finite value (no image encrypts to NaN or Inf; the training
 * would report "loss NaN"), or per-channel sums that are not the ones meta.json recorded when it was written (the
 * store's statistics, and so the loader's normalisation, come from those). One float64 pass over the shard.
 */
function valuesProblem(x: Float32Array, sh: ShardInfo, c: number, hw: number): string | null {
  const { sum, sumSq } = channelSums(x, sh.count, c, hw);
  if (!sum.every(Number.isFinite) || !sumSq.every(Number.isFinite)) {
    const at = x.findIndex((v) => !Number.isFinite(v));
    const [img, ch] = [Math.floor(at / (c * hw)), Math.floor(at / hw) % c];
    return `holds ${x[at]} at image ${img} of the shard, channel ${ch}: a value that is not finite`;
  }
  for (let ch = 0; ch < c; ch++) {
    const tol = 1e-9 * (Math.sqrt(sh.count * hw * sumSq[ch]) + 1);
    if (Math.abs(sum[ch] - sh.sum[ch]) > tol || Math.abs(sumSq[ch] - sh.sumSq[ch]) > 1e-9 * (sumSq[ch] + 1))
      return `does not hold the values meta.json's sums record for it (channel ${ch}: sum ${sum[ch]}, recorded ${sh.sum[ch]}); it was changed after writing`;
  }
  return null;
}

/** Read side of a store. */
export class Store {
  constructor(
    readonly dir: string,
    readonly meta: StoreMeta,
  ) {}

  /** Opens a store; refuses one whose shard files are missing or not the size their header and count require. */
  static open(dir: string): Store {
    const meta = readMeta(dir);
    const problems = shardProblems(dir, meta);
    if (problems.length)
      throw new DataError(
        `store ${dir} is damaged: ${problems
          .slice(0, 3)
          .map((p) => `${p.file} ${p.problem}`)
          .join("; ")}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ""}; ` +
          "re-run ercnn encrypt with the same arguments to write those shards again",
        "BAD_STORE",
      );
    const store = new Store(dir, meta);
    for (let i = 0; i < meta.shards.length; i++) store.readLabels(i);
    return store;
  }

  /** Shard `i`'s labels, refused (naming the file) when one is not an index into meta.json's classes. */
  readLabels(i: number): Int32Array {
    const sh = this.meta.shards[i];
    if (!sh) throw new DataError(`store ${this.dir} has no shard ${i}`, "BAD_STORE");
    const file = join(this.dir, sh.y);
    const ya = readNpy(new Uint8Array(readFileSync(file)), file);
    if (ya.dtype !== "int64" || ya.shape.join() !== String(sh.count))
      throw new DataError(`${file}: expected int64 [${sh.count}], got ${ya.dtype} [${ya.shape}]`, "BAD_STORE");
    const n = this.meta.classes.length;
    const y = new Int32Array(sh.count);
    for (let j = 0; j < sh.count; j++) {
      const v = ya.data[j] as bigint;
      if (v < 0n || v >= BigInt(n))
        throw new DataError(
          `store ${this.dir}: ${file} holds label ${v} at image ${j}, but meta.json lists ${n} classes`,
          "BAD_STORE",
        );
      y[j] = Number(v);
    }
    return y;
  }

  get count(): number {
    return this.meta.count;
  }

  get shape(): [number, number, number] {
    return this.meta.shape;
  }

  checkKey(key: SchemeKey | null): void {
    checkStoreKey(this.dir, this.meta, key);
  }

  readShard(i: number): { x: Float32Array; y: Int32Array; n: number } {
    const sh = this.meta.shards[i];
    if (!sh) throw new DataError(`store ${this.dir} has no shard ${i}`, "BAD_STORE");
    const [c, h, w] = this.meta.shape;
    const file = join(this.dir, sh.x);
    const xa = readNpy(new Uint8Array(readFileSync(file)), file);
    if (xa.dtype !== "float32" || xa.shape.join() !== [sh.count, c, h, w].join())
      throw new DataError(
        `${file}: expected float32 [${[sh.count, c, h, w]}], got ${xa.dtype} [${xa.shape}]`,
        "BAD_STORE",
      );
    const x = xa.data as Float32Array;
    const problem = valuesProblem(x, sh, c, h * w);
    if (problem) throw new DataError(`store ${this.dir}: ${file} ${problem}`, "BAD_STORE");
    return { x, y: this.readLabels(i), n: sh.count };
  }

  /**
   * Shard by shard, the images at the positions `keep` accepts (all by default), at most `limit` in all; reads
   * only the shards it needs and never the whole store at once.
   */
  *images(o: { limit?: number; keep?: (pos: number) => boolean } = {}): Generator<{ x: Float32Array; n: number }> {
    const per = this.meta.shape[0] * this.meta.shape[1] * this.meta.shape[2];
    const limit = o.limit ?? Number.POSITIVE_INFINITY;
    let pos = 0;
    let taken = 0;
    for (let s = 0; s < this.meta.shards.length && taken < limit; s++) {
      const count = this.meta.shards[s].count;
      if (o.keep) {
        const picked: number[] = [];
        for (let i = 0; i < count && taken + picked.length < limit; i++) if (o.keep(pos + i)) picked.push(i);
        if (picked.length) {
          const sh = this.readShard(s);
          const x = new Float32Array(picked.length * per);
          for (const [j, i] of picked.entries()) x.set(sh.x.subarray(i * per, (i + 1) * per), j * per);
          yield { x, n: picked.length };
          taken += picked.length;
        }
      } else {
        const sh = this.readShard(s);
        const n = Math.min(count, limit - taken);
        yield { x: sh.x.subarray(0, n * per), n };
        taken += n;
      }
      pos += count;
    }
  }

  /**
   * The images at `positions` (ascending), as one N×C×H×W array in that order; reads only the shards they are in.
   */
  readPositions(positions: readonly number[]): Float32Array {
    const per = this.meta.shape[0] * this.meta.shape[1] * this.meta.shape[2];
    const wanted = new Set(positions);
    const out = new Float32Array(positions.length * per);
    let j = 0;
    for (const { x, n } of this.images({ keep: (p) => wanted.has(p) })) {
      out.set(x.subarray(0, n * per), j * per);
      j += n;
    }
    if (j !== positions.length)
      throw new DataError(`store ${this.dir}: read ${j} of ${positions.length} images`, "BAD_STORE");
    return out;
  }

  /** Reads every shard into one N×C×H×W array (in a SharedArrayBuffer by default, for the loader's workers). */
  readAll(opts: { shared?: boolean } = {}): { x: Float32Array; y: Int32Array; n: number } {
    const [c, h, w] = this.meta.shape;
    const per = c * h * w;
    const n = this.meta.shards.reduce((a, s) => a + s.count, 0);
    const shared = opts.shared ?? true;
    const xb = shared ? new SharedArrayBuffer(n * per * 4) : new ArrayBuffer(n * per * 4);
    const yb = shared ? new SharedArrayBuffer(n * 4) : new ArrayBuffer(n * 4);
    const x = new Float32Array(xb);
    const y = new Int32Array(yb);
    let off = 0;
    for (let i = 0; i < this.meta.shards.length; i++) {
      const s = this.readShard(i);
      x.set(s.x, off * per);
      y.set(s.y, off);
      off += s.n;
    }
    return { x, y, n };
  }
}
