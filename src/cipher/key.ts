/**
 * Cipher keys: one k²×k² matrix per colour channel (C×k²×k², row-major `[c][i][j]`).
 * A k×k block flattened row-major to the row vector p (1×k²) is encrypted as c = p·K_ch,
 * i.e. c_j = Σ_i p_i·K[ch][i][j].
 *
 * Modes:
 * - `uniform`:    entries uniform in [-1, 1) (the study's `random.random()*2-1`); redrawn while cond₂(K) > 1e6.
 * - `orthogonal`: Haar-random orthogonal (QR of a Gaussian matrix with sign correction); cond₂ = 1.
 * - `mod256`:     integer entries in [0, 255] with odd determinant (invertible modulo 256), arithmetic mod 256,
 *                 so uint8 plaintexts give uint8 ciphertexts (storable as ordinary PNGs).
 *
 * Fingerprint: hex SHA-256 of the canonical bytes
 *   UTF-8 "ercnn-key\0v1\0" + UTF-8 mode + "\0" + uint32 LE blockSize + uint32 LE channels
 *   + the values as float64 little-endian, row-major [c][i][j]
 *   and, only for a key with block scrambling (scramble.ts), UTF-8 "\0scramble\0" + scheme + "\0" + the 32 seed
 *   bytes (so keys without scrambling keep the fingerprints they always had).
 * `createdAt` is metadata and not part of the fingerprint (the same key material always has the same fingerprint).
 *
 * Never print or log `values`; print `shortFingerprint(key)` instead.
 */
import { conditionEstimate } from "../core/condition.ts";
import { conditionNumber, haarOrthogonalFromGaussian, invert, invertibleMod2, invertMod256 } from "../core/linalg.ts";
import { nextDouble, nextGaussian, nextInt, type RandomSource, randomSource, sha256, toHex } from "../core/rng.ts";
import { SCRAMBLE_SCHEME, type ScrambleSpec, scrambleProblem, seedBytes } from "./scramble.ts";

export type KeyMode = "uniform" | "orthogonal" | "mod256";

export interface CipherKey {
  version: 1;
  mode: KeyMode;
  blockSize: number;
  channels: number;
  /** C×k²×k², row-major [c][i][j]; c = p·K means c_j = Σ_i p_i K[i][j]. Secret: never log. */
  values: Float64Array;
  /** ISO 8601 creation time. */
  createdAt: string;
  /** Hex SHA-256 of the canonical bytes (see module doc). */
  fingerprint: string;
  /** Optional secret permutation of block positions, applied before the Hill cipher (scramble.ts). Secret. */
  scramble?: ScrambleSpec;
}

export const KEY_MODES: readonly KeyMode[] = ["uniform", "orthogonal", "mod256"];
/** Generated real keys are redrawn while their 2-norm condition number exceeds this. */
export const MAX_GENERATED_CONDITION = 1e6;
/** Loaded real keys are refused as numerically singular above this condition number. */
export const MAX_LOADED_CONDITION = 1e12;
const MAX_REDRAWS = 1000;
/**
 * Largest block size: a k×k block key is C·k⁴ float64 values, so k = 32 is already 24 MB (≈ 60 MB as JSON) and
 * k = 64 would be 400 MB (≈ 1 GB as JSON) for blocks larger than most images in the field.
 */
export const MAX_BLOCK_SIZE = 32;
/** Up to this matrix side (k ≤ 8) the exact Jacobi SVD is used; above it the LU-based estimate (core/condition.ts). */
const EXACT_CONDITION_MAX_N = 64;

/** cond₂ of one channel: exact for small keys, a close lower-bound estimate (≈ 0.1%) for large ones. */
export function keyConditionNumber(m: Float64Array, n: number): number {
  return n <= EXACT_CONDITION_MAX_N ? conditionNumber(m, n) : conditionEstimate(m, n);
}

export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyError";
  }
}

function checkBlockSize(k: unknown, where: string): number {
  if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > MAX_BLOCK_SIZE) {
    const why =
      typeof k === "number" && k > MAX_BLOCK_SIZE
        ? ` (a k=${k} key is ${k * k}×${k * k} values per channel, ${((3 * k ** 4 * 8) / 2 ** 20).toFixed(0)} MB for 3 channels)`
        : "";
    throw new KeyError(`${where}: blockSize must be an integer in [1, ${MAX_BLOCK_SIZE}], got ${String(k)}${why}`);
  }
  return k;
}

function checkChannels(c: unknown, where: string): number {
  if (typeof c !== "number" || !Number.isInteger(c) || c < 1 || c > 64) {
    throw new KeyError(`${where}: channels must be an integer in [1, 64], got ${String(c)}`);
  }
  return c;
}

/** The canonical bytes hashed for the fingerprint. */
export function canonicalKeyBytes(
  mode: KeyMode,
  blockSize: number,
  channels: number,
  values: Float64Array,
  scramble?: ScrambleSpec,
): Uint8Array {
  const head = new TextEncoder().encode(`ercnn-key\u0000v1\u0000${mode}\u0000`);
  const tail = scramble ? new TextEncoder().encode(`\u0000scramble\u0000${scramble.scheme}\u0000`) : new Uint8Array(0);
  const out = new Uint8Array(head.length + 8 + values.length * 8 + (scramble ? tail.length + 32 : 0));
  out.set(head, 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(head.length, blockSize, true);
  dv.setUint32(head.length + 4, channels, true);
  let o = head.length + 8;
  for (let i = 0; i < values.length; i++, o += 8) dv.setFloat64(o, values[i], true);
  if (scramble) {
    out.set(tail, o);
    out.set(seedBytes(scramble), o + tail.length);
  }
  return out;
}

export async function computeFingerprint(
  mode: KeyMode,
  blockSize: number,
  channels: number,
  values: Float64Array,
  scramble?: ScrambleSpec,
): Promise<string> {
  return toHex(await sha256(canonicalKeyBytes(mode, blockSize, channels, values, scramble)));
}

/** First 16 hex chars of the fingerprint; safe to print. */
export function shortFingerprint(key: { fingerprint: string }): string {
  return key.fingerprint.slice(0, 16);
}

function drawChannel(mode: KeyMode, n: number, rng: RandomSource): Float64Array {
  const m = new Float64Array(n * n);
  if (mode === "uniform") {
    for (let i = 0; i < m.length; i++) m[i] = nextDouble(rng) * 2 - 1;
    return m;
  }
  if (mode === "orthogonal") {
    for (let i = 0; i < m.length; i++) m[i] = nextGaussian(rng);
    return haarOrthogonalFromGaussian(m, n);
  }
  for (let i = 0; i < m.length; i++) m[i] = nextInt(rng, 256);
  return m;
}

function channelAcceptable(mode: KeyMode, m: Float64Array, n: number): boolean {
  if (mode === "mod256") return invertibleMod2(m, n);
  if (mode === "orthogonal") return true; // cond = 1 by construction
  return keyConditionNumber(m, n) <= MAX_GENERATED_CONDITION;
}

/**
 * Draws a key from a cryptographic RNG (`crypto.getRandomValues`), or from the seeded ChaCha20 stream when
 * `seed` is given (reproducible; see rng.ts). Real keys with cond₂ > 1e6 and mod256 keys with even determinant
 * are rejected and redrawn (per channel, continuing the same stream).
 */
export async function generateKey(opts: {
  mode?: KeyMode;
  blockSize: number;
  channels?: number;
  seed?: string | number;
  /**
   * Add block scrambling: a secret 256-bit seed for the permutation of block positions (scramble.ts), drawn from the
   * same source after the matrices (so a seeded scrambled key has the same matrices as the seeded plain one).
   */
  scramble?: boolean;
  /** Called after each channel is drawn and checked (large keys take about a second per channel). */
  onChannel?: (done: number, channels: number) => void;
}): Promise<CipherKey> {
  const mode = opts.mode ?? "uniform";
  if (!KEY_MODES.includes(mode)) throw new KeyError(`generateKey: unknown mode '${String(mode)}'`);
  const k = checkBlockSize(opts.blockSize, "generateKey");
  const channels = checkChannels(opts.channels ?? 3, "generateKey");
  const n = k * k;
  const rng = await randomSource(opts.seed);
  const values = new Float64Array(channels * n * n);
  for (let c = 0; c < channels; c++) {
    let m: Float64Array | null = null;
    for (let attempt = 0; attempt < MAX_REDRAWS; attempt++) {
      const cand = drawChannel(mode, n, rng);
      if (channelAcceptable(mode, cand, n)) {
        m = cand;
        break;
      }
    }
    if (!m) throw new KeyError(`generateKey: no acceptable ${mode} key after ${MAX_REDRAWS} draws (k=${k})`);
    values.set(m, c * n * n);
    opts.onChannel?.(c + 1, channels);
  }
  let scramble: ScrambleSpec | undefined;
  if (opts.scramble) {
    const bytes = new Uint8Array(32);
    for (let i = 0; i < 32; i += 4) new DataView(bytes.buffer).setUint32(i, rng.nextUint32(), true);
    scramble = { scheme: SCRAMBLE_SCHEME, seed: toHex(bytes) };
  }
  return {
    version: 1,
    mode,
    blockSize: k,
    channels,
    values,
    createdAt: new Date().toISOString(),
    fingerprint: await computeFingerprint(mode, k, channels, values, scramble),
    ...(scramble ? { scramble } : {}),
  };
}

/**
 * Validates key material and returns a description of the first problem, or null.
 * Checks: shape, finiteness, mode-specific constraints (mod256: integers in [0,255], odd det;
 * orthogonal: KᵀK = I to 1e-9), invertibility (real: cond₂ ≤ 1e12).
 */
export function validateKeyMaterial(
  mode: KeyMode,
  blockSize: number,
  channels: number,
  values: ArrayLike<number>,
): string | null {
  const n = blockSize * blockSize;
  if (values.length !== channels * n * n) {
    return `expected ${channels}×${n}×${n} = ${channels * n * n} values for channels=${channels}, blockSize=${blockSize}, got ${values.length}`;
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      const c = Math.floor(i / (n * n));
      return `value #${i} (channel ${c}) is not finite (${values[i]})`;
    }
  }
  for (let c = 0; c < channels; c++) {
    const m = Float64Array.from({ length: n * n }, (_, i) => values[c * n * n + i]);
    if (mode === "mod256") {
      for (let i = 0; i < m.length; i++) {
        if (!Number.isInteger(m[i]) || m[i] < 0 || m[i] > 255) {
          return `mod256 key: channel ${c} has a value that is not an integer in [0, 255]`;
        }
      }
      if (!invertibleMod2(m, n)) return `mod256 key: channel ${c} has an even determinant (not invertible modulo 256)`;
      continue;
    }
    if (mode === "orthogonal") {
      let worst = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let r = 0; r < n; r++) s += m[r * n + i] * m[r * n + j];
          worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
        }
      }
      if (worst > 1e-9)
        return `orthogonal key: channel ${c} is not orthogonal (max |KᵀK − I| = ${worst.toExponential(2)})`;
      continue;
    }
    const cond = keyConditionNumber(m, n);
    if (!(cond <= MAX_LOADED_CONDITION)) {
      return `channel ${c} is not invertible (condition number ${Number.isFinite(cond) ? cond.toExponential(2) : "∞"} > ${MAX_LOADED_CONDITION.toExponential(0)})`;
    }
  }
  return null;
}

/**
 * Builds a validated CipherKey from raw values (computes the fingerprint). Throws KeyError naming `source`.
 */
export async function makeKey(opts: {
  mode: KeyMode;
  blockSize: number;
  channels: number;
  values: ArrayLike<number>;
  createdAt?: string;
  source?: string;
  scramble?: ScrambleSpec;
}): Promise<CipherKey> {
  const where = opts.source ?? "key";
  if (!KEY_MODES.includes(opts.mode)) throw new KeyError(`${where}: unknown mode '${String(opts.mode)}'`);
  const k = checkBlockSize(opts.blockSize, where);
  const channels = checkChannels(opts.channels, where);
  const problem = validateKeyMaterial(opts.mode, k, channels, opts.values);
  if (problem) throw new KeyError(`${where}: ${problem}`);
  const values = Float64Array.from(opts.values);
  if (opts.scramble !== undefined) {
    const bad = scrambleProblem(opts.scramble);
    if (bad) throw new KeyError(`${where}: ${bad}`);
  }
  const scramble = opts.scramble ? { scheme: opts.scramble.scheme, seed: opts.scramble.seed } : undefined;
  return {
    version: 1,
    mode: opts.mode,
    blockSize: k,
    channels,
    values,
    createdAt: opts.createdAt ?? new Date().toISOString(),
    fingerprint: await computeFingerprint(opts.mode, k, channels, values, scramble),
    ...(scramble ? { scramble } : {}),
  };
}

const inverseCache = new WeakMap<CipherKey, { fp: string; inv: Float64Array }>();

/**
 * K⁻¹ per channel (C×k²×k²), computed in float64 (Gauss–Jordan with partial pivoting + one refinement step).
 * For mod256 keys: the modular inverse, integer-valued in [0, 255]. Cached per key object.
 */
export function inverseKey(key: CipherKey): Float64Array {
  const hit = inverseCache.get(key);
  if (hit && hit.fp === key.fingerprint) return hit.inv;
  const n = key.blockSize * key.blockSize;
  const nn = n * n;
  if (key.values.length !== key.channels * nn) throw new KeyError("inverseKey: values have the wrong length");
  const out = new Float64Array(key.channels * nn);
  for (let c = 0; c < key.channels; c++) {
    const m = key.values.subarray(c * nn, (c + 1) * nn);
    if (key.mode === "mod256") {
      const inv = invertMod256(m, n);
      if (!inv) throw new KeyError(`inverseKey: channel ${c} is not invertible modulo 256`);
      for (let i = 0; i < nn; i++) out[c * nn + i] = inv[i];
    } else {
      const inv = invert(Float64Array.from(m), n);
      if (!inv) throw new KeyError(`inverseKey: channel ${c} is singular`);
      out.set(inv, c * nn);
    }
  }
  inverseCache.set(key, { fp: key.fingerprint, inv: out });
  return out;
}

/** Key file format identifier written into JSON key files. */
export const KEY_FORMAT = "ercnn-cipher-key";

/**
 * Versioned JSON key file:
 * `{ format: "ercnn-cipher-key", version: 1, mode, blockSize, channels, createdAt, fingerprint,
 *    [scramble: { scheme, seed }], values: number[C][k²][k²] }` — `scramble` only for keys with block scrambling
 * (absent otherwise, so older files and readers are unaffected); numbers are float64 printed with round-trip precision
 * (`numpy.array(json.load(f)["values"])` has shape (C, k², k²)).
 */
export function keyToJson(key: CipherKey): string {
  const n = key.blockSize * key.blockSize;
  const rows: string[] = [];
  for (let c = 0; c < key.channels; c++) {
    const mat: string[] = [];
    for (let i = 0; i < n; i++) {
      const row: string[] = [];
      for (let j = 0; j < n; j++) row.push(JSON.stringify(key.values[(c * n + i) * n + j]));
      mat.push(`[${row.join(",")}]`);
    }
    rows.push(`[\n    ${mat.join(",\n    ")}\n  ]`);
  }
  const header = {
    format: KEY_FORMAT,
    version: key.version,
    mode: key.mode,
    blockSize: key.blockSize,
    channels: key.channels,
    createdAt: key.createdAt,
    fingerprint: key.fingerprint,
    ...(key.scramble ? { scramble: { scheme: key.scramble.scheme, seed: key.scramble.seed } } : {}),
  };
  const head = JSON.stringify(header, null, 2).replace(/\n}$/, "");
  return `${head},\n  "values": [\n  ${rows.join(",\n  ")}\n  ]\n}\n`;
}

/** Parses and validates a JSON key file. Errors name `source` and the problem. */
export async function keyFromJson(text: string, source = "key JSON"): Promise<CipherKey> {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new KeyError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new KeyError(`${source}: not a JSON object`);
  const o = obj as Record<string, unknown>;
  if (o.format !== KEY_FORMAT)
    throw new KeyError(`${source}: format is ${JSON.stringify(o.format)}, expected "${KEY_FORMAT}"`);
  if (o.version !== 1)
    throw new KeyError(`${source}: unsupported key file version ${JSON.stringify(o.version)} (expected 1)`);
  if (o.scheme !== undefined && o.scheme !== "hill" && o.scheme !== "hill-scramble")
    throw new KeyError(`${source}: a ${JSON.stringify(o.scheme)} key, not a Hill key (read it with schemeKeyFromJson)`);
  if (typeof o.mode !== "string" || !KEY_MODES.includes(o.mode as KeyMode)) {
    throw new KeyError(`${source}: mode ${JSON.stringify(o.mode)} is not one of ${KEY_MODES.join(", ")}`);
  }
  const mode = o.mode as KeyMode;
  const k = checkBlockSize(o.blockSize, source);
  const channels = checkChannels(o.channels, source);
  if (typeof o.createdAt !== "string" || Number.isNaN(Date.parse(o.createdAt))) {
    throw new KeyError(`${source}: createdAt must be an ISO date string`);
  }
  if (typeof o.fingerprint !== "string" || !/^[0-9a-f]{64}$/.test(o.fingerprint)) {
    throw new KeyError(`${source}: fingerprint must be 64 lowercase hex characters`);
  }
  const n = k * k;
  const vals = o.values;
  if (!Array.isArray(vals) || vals.length !== channels) {
    throw new KeyError(
      `${source}: values must be an array of ${channels} channel matrices (shape ${channels}×${n}×${n})`,
    );
  }
  const values = new Float64Array(channels * n * n);
  for (let c = 0; c < channels; c++) {
    const mat = vals[c];
    if (!Array.isArray(mat) || mat.length !== n) {
      throw new KeyError(`${source}: values[${c}] must have ${n} rows (shape ${channels}×${n}×${n})`);
    }
    for (let i = 0; i < n; i++) {
      const row = mat[i];
      if (!Array.isArray(row) || row.length !== n) {
        throw new KeyError(`${source}: values[${c}][${i}] must have ${n} entries (shape ${channels}×${n}×${n})`);
      }
      for (let j = 0; j < n; j++) {
        const v = row[j];
        if (typeof v !== "number" || !Number.isFinite(v)) {
          throw new KeyError(`${source}: values[${c}][${i}][${j}] is not a finite number`);
        }
        values[(c * n + i) * n + j] = v;
      }
    }
  }
  const problem = validateKeyMaterial(mode, k, channels, values);
  if (problem) throw new KeyError(`${source}: ${problem}`);
  let scramble: ScrambleSpec | undefined;
  if (o.scramble !== undefined) {
    const bad = scrambleProblem(o.scramble);
    if (bad) throw new KeyError(`${source}: ${bad}`);
    const sc = o.scramble as ScrambleSpec;
    scramble = { scheme: sc.scheme, seed: sc.seed };
  }
  const fp = await computeFingerprint(mode, k, channels, values, scramble);
  if (fp !== o.fingerprint) {
    throw new KeyError(
      `${source}: fingerprint mismatch (file says ${o.fingerprint.slice(0, 16)}…, contents hash to ${fp.slice(0, 16)}…): the key file was modified or corrupted`,
    );
  }
  return {
    version: 1,
    mode,
    blockSize: k,
    channels,
    values,
    createdAt: o.createdAt,
    fingerprint: fp,
    ...(scramble ? { scramble } : {}),
  };
}
