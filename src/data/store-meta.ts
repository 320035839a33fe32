/**
 * What a valid meta.json is. A store is untrusted input (the page exports them, providers receive them), so every
 * field is checked against the others before anything is read: types, the key's identity against the block size and
 * shape, class names (they become folder names), each shard's name, index, planned span, count and sums, the total
 * count and the statistics. The shard files themselves are checked against these fields in store.ts.
 */
import { KEY_MODES } from "../cipher/index.ts";
import { SEEDED_SCHEMES } from "../cipher/schemes/seeded-key.ts";
import { MAX_IMAGE_PIXELS } from "./decode-limits.ts";
import { DataError } from "./errors.ts";
import { classListProblem } from "./names.ts";

/** The fixed file name of shard `i`'s images (x) or labels (y); a listed name must be exactly this. */
export function shardName(i: number, part: "x" | "y"): string {
  return `shard-${String(i).padStart(5, "0")}.${part}.npy`;
}

/** Per-channel mean and std of the stored values, from the shards' float64 sums (null for an empty store). */
export function statsFromShards(
  shards: readonly { count: number; sum: number[]; sumSq: number[] }[],
  c: number,
  hw: number,
): { mean: number[]; std: number[] } | null {
  const n = shards.reduce((a, s) => a + s.count, 0);
  if (n === 0) return null;
  const mean: number[] = [];
  const std: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    const s = shards.reduce((a, sh) => a + sh.sum[ch], 0);
    const q = shards.reduce((a, sh) => a + sh.sumSq[ch], 0);
    const m = s / (n * hw);
    mean.push(m);
    std.push(Math.sqrt(Math.max(0, q / (n * hw) - m * m)));
  }
  return { mean, std };
}

const isObj = (v: unknown): v is Record<string, any> => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number): v is number => Number.isSafeInteger(v) && (v as number) >= min;
const isHex64 = (v: unknown) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);
const finiteList = (v: unknown, n: number) =>
  Array.isArray(v) && v.length === n && v.every((x) => typeof x === "number" && Number.isFinite(x));
/** Equal up to float64 rounding of a sum (the writer stores exactly what it computed, JSON keeps doubles exact). */
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
const json = (v: unknown) => JSON.stringify(v)?.slice(0, 80);

/** The first problem with meta.json's top-level fields other than shards, as "<field> …", or null. */
function headProblem(m: Record<string, any>, version: number): string | null {
  if (!isInt(m.version, 1) || m.version > version)
    return `version is ${json(m.version)}, not an integer from 1 to ${version} (this ercnn)`;
  const shape = m.shape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((v) => isInt(v, 1)))
    return `shape is ${json(shape)}, not [C, H, W] of positive integers`;
  if (shape[0] > 4 || shape[1] * shape[2] > MAX_IMAGE_PIXELS)
    return `shape ${shape.join("×")} is beyond any image (at most 4 channels, ${MAX_IMAGE_PIXELS} pixels)`;
  for (const [f, want] of [
    ["dtype", "float32"],
    ["labelDtype", "int64"],
    ["layout", "NCHW"],
    ["normalization", "none"],
  ])
    if (m[f] !== want) return `${f} is ${json(m[f])}, not "${want}"`;
  if (m.key !== null) {
    const k = m.key;
    if (!isObj(k)) return `key is ${json(k)}, neither null (plain) nor a key's identity`;
    if (!isHex64(k.fingerprint)) return `key.fingerprint is ${json(k.fingerprint)}, not 64 lowercase hex digits`;
    if (k.scheme !== undefined) {
      // A seeded scheme's key: its kind (mode) is the scheme's name (absent in stores written before it was
      // recorded); it has no scrambling flag.
      if (!SEEDED_SCHEMES.includes(k.scheme))
        return `key.scheme is ${json(k.scheme)}, not one of ${SEEDED_SCHEMES.join(", ")} (absent for a Hill key)`;
      if (k.mode !== undefined && k.mode !== k.scheme)
        return `key.mode is ${json(k.mode)}, but a ${k.scheme} key's kind is "${k.scheme}"`;
      if (k.scrambled !== undefined) return `key.scrambled is ${json(k.scrambled)}, but a ${k.scheme} key has none`;
    } else if (!KEY_MODES.includes(k.mode)) return `key.mode is ${json(k.mode)}, not one of ${KEY_MODES.join(", ")}`;
    if (!isInt(k.blockSize, 1)) return `key.blockSize is ${json(k.blockSize)}, not a positive integer`;
    if (k.channels !== shape[0]) return `key.channels is ${json(k.channels)}, but shape has ${shape[0]} channels`;
    if (k.scrambled !== undefined && k.scrambled !== true) return `key.scrambled is ${json(k.scrambled)}, not true`;
    if (shape[1] % k.blockSize || shape[2] % k.blockSize)
      return `shape ${shape.join("×")} is not a multiple of the key's block size ${k.blockSize}`;
  }
  if (m.blockSize !== (m.key?.blockSize ?? null))
    return `blockSize is ${json(m.blockSize)}, but key.blockSize is ${json(m.key?.blockSize ?? null)}`;
  const classes = classListProblem(m.classes);
  if (classes) return `${classes} (class names become folder names)`;
  if (
    m.classNames !== undefined &&
    (!Array.isArray(m.classNames) ||
      m.classNames.length !== m.classes.length ||
      !m.classNames.every((s: unknown) => typeof s === "string"))
  )
    return `classNames is not a list of ${m.classes.length} strings (one per class)`;
  if (typeof m.pixels !== "string") return `pixels is ${json(m.pixels)}, not a description`;
  if (!isObj(m.source) || typeof m.source.kind !== "string" || typeof m.source.description !== "string")
    return "source is not { kind, description, … }";
  const p = m.plan;
  if (!isObj(p)) return "plan is not { total, shardSize, hash }";
  if (!isInt(p.total, 0)) return `plan.total is ${json(p.total)}, not a count`;
  if (!isInt(p.shardSize, 1)) return `plan.shardSize is ${json(p.shardSize)}, not a positive integer`;
  if (typeof p.hash !== "string") return `plan.hash is ${json(p.hash)}, not a string`;
  if (typeof m.complete !== "boolean") return `complete is ${json(m.complete)}, not true or false`;
  return null;
}

/** The first problem with shard entry `i` (after `prev`), as "shards[i].<field> …", or null. */
function shardProblem(s: any, i: number, prev: number, m: Record<string, any>): string | null {
  const f = `shards[${i}]`;
  const { total, shardSize } = m.plan;
  if (!isObj(s)) return `${f} is not a shard entry`;
  if (!isInt(s.index, 0) || s.index <= prev || s.index >= Math.ceil(total / shardSize))
    return `${f}.index is ${json(s.index)}: not after ${prev < 0 ? "the start" : `shards[${i - 1}].index ${prev}`} and before shard ${Math.ceil(total / shardSize)} of the plan`;
  for (const part of ["x", "y"] as const)
    if (s[part] !== shardName(s.index, part))
      return `${f}.${part} is ${json(s[part])}, not ${shardName(s.index, part)} (a shard's file is named by its index)`;
  const start = s.index * shardSize;
  const end = Math.min(start + shardSize, total);
  if (s.start !== start) return `${f}.start is ${json(s.start)}, expected ${start} (index × plan.shardSize)`;
  if (s.end !== end) return `${f}.end is ${json(s.end)}, expected ${end} (from plan.total and plan.shardSize)`;
  if (!Array.isArray(s.skipped) || !s.skipped.every((k: any) => isObj(k) && typeof k.name === "string"))
    return `${f}.skipped is not a list of { name, reason }`;
  if (!isInt(s.count, 0) || s.count + s.skipped.length !== end - start)
    return `${f}.count is ${json(s.count)}, but the shard plans ${end - start} images (positions ${start}..${end}) of which ${s.skipped.length} were skipped`;
  const c = m.shape[0];
  if (!finiteList(s.sum, c)) return `${f}.sum is not ${c} finite numbers (one per channel)`;
  if (!finiteList(s.sumSq, c) || s.sumSq.some((v: number) => v < 0))
    return `${f}.sumSq is not ${c} finite non-negative numbers (one per channel)`;
  for (const h of ["xSha256", "ySha256"])
    if (s[h] !== undefined && !isHex64(s[h])) return `${f}.${h} is ${json(s[h])}, not a sha256 (64 hex digits)`;
  return null;
}

/** The first problem with the shard list, the total count, completeness and the statistics, or null. */
function shardsProblem(m: Record<string, any>): string | null {
  if (!Array.isArray(m.shards)) return `shards is ${json(m.shards)}, not a list`;
  let prev = -1;
  for (const [i, s] of m.shards.entries()) {
    const p = shardProblem(s, i, prev, m);
    if (p) return p;
    prev = s.index;
  }
  const n = m.shards.reduce((a: number, s: { count: number }) => a + s.count, 0);
  if (m.count !== n) return `count is ${json(m.count)}, but its shards hold ${n} images`;
  const planned = Math.ceil(m.plan.total / m.plan.shardSize);
  if (m.complete && m.shards.length !== planned)
    return `complete is true, but ${m.shards.length} of the ${planned} planned shards are listed`;
  const want = statsFromShards(m.shards, m.shape[0], m.shape[1] * m.shape[2]);
  if (want === null) return m.stats === null ? null : "stats are given for a store with no images";
  if (!isObj(m.stats)) return "stats is not { mean, std } although the store holds images";
  for (const f of ["mean", "std"] as const) {
    const got = m.stats[f];
    if (!finiteList(got, m.shape[0])) return `stats.${f} is not ${m.shape[0]} finite numbers`;
    for (const [ch, v] of want[f].entries())
      if (!close(got[ch], v)) return `stats.${f}[${ch}] is ${got[ch]}, but the shards' sums give ${v}`;
  }
  return null;
}

/** Refuses a meta.json whose fields are malformed or contradict each other, naming the store, the field and why. */
export function checkMeta(dir: string, meta: unknown, version: number): void {
  const m = meta as Record<string, any>;
  const problem = isObj(m) ? (headProblem(m, version) ?? shardsProblem(m)) : "is not a JSON object";
  if (problem)
    throw new DataError(
      `store ${dir}: meta.json's ${problem}; the store is refused (damaged or edited: write it again with ercnn encrypt)`,
      "BAD_STORE",
    );
}
