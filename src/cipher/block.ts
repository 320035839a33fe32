/**
 * Block-wise Hill cipher over the reals (and modulo 256 for `mod256` keys).
 *
 * Each channel of each image is split into k×k blocks; a block is flattened row-major to the row vector
 * p (1×k², p_{r·k+q} = pixel (row r, column q) of the block) and replaced by c = p·K_ch, written back into the same
 * block positions in the same row-major order. Decryption applies K⁻¹ (computed in float64).
 *
 * NOTE: the ciphertext value range is NOT [0, 1] (nor [0, 255]): for a uniform key each output is a signed sum
 * of k² pixels times weights in [-1, 1), typically of magnitude up to ~k²/2 for pixels in [0, 1]. Normalise
 * ciphertexts explicitly (e.g. with dataset mean/std) before feeding a network; do not clip them.
 *
 * Layouts: "CHW" (planar, [n][c][h][w]) and "HWC" (interleaved, [n][h][w][c]), float32. Output has the same
 * layout and dims as the input. `out` may be the input array itself (in place). H and W must be multiples of k;
 * use `padToBlockMultiple` first if they are not.
 *
 * Block scrambling: a key with `scramble` (scramble.ts) also moves the blocks to secretly permuted positions
 * (encryption: permute, then the Hill cipher; decryption: the inverse Hill cipher, then un-permute). Every function
 * below applies it, so callers need no extra code.
 *
 * Backend: a WebAssembly SIMD kernel assembled from TypeScript (wasm.ts) when available, otherwise plain
 * TypeScript loops (float64 accumulation). `setCipherBackend("js")` forces the latter.
 */
import { type CipherKey, inverseKey } from "./key.ts";
import { blockPermutation, inversePermutation, permuteBlocks } from "./scramble.ts";
import { ensureMemory, type WasmKernel, wasmKernel } from "./wasm.ts";

export type Layout = "CHW" | "HWC";

export interface ImageDims {
  /** Batch size, default 1. */
  n?: number;
  c: number;
  h: number;
  w: number;
  layout: Layout;
}

export class CipherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CipherError";
  }
}

export type CipherBackend = "auto" | "wasm" | "js";
let backend: CipherBackend = "auto";

/** Chooses the float32 backend: "auto" (wasm SIMD when available), "wasm" (error if unavailable), or "js". */
export function setCipherBackend(b: CipherBackend): void {
  if (b === "wasm" && !wasmKernel()) throw new CipherError("WebAssembly SIMD is not available on this platform");
  backend = b;
}

/** The backend that encrypt/decrypt will use now: "wasm" or "js". */
export function cipherBackend(): "wasm" | "js" {
  if (backend === "js") return "js";
  return wasmKernel() ? "wasm" : "js";
}

export interface Geometry {
  n: number;
  c: number;
  h: number;
  w: number;
  k: number;
  layout: Layout;
  total: number;
}

function isPosInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 1;
}

/** Validates dims against the data length and the key; returns the normalised geometry. */
export function checkDims(
  fn: string,
  length: number,
  dims: ImageDims,
  key: { blockSize: number; channels: number },
): Geometry {
  const n = dims.n ?? 1;
  for (const [name, v] of [
    ["n", n],
    ["c", dims.c],
    ["h", dims.h],
    ["w", dims.w],
  ] as const) {
    if (!isPosInt(v)) throw new CipherError(`${fn}: dims.${name} must be a positive integer, got ${String(v)}`);
  }
  if (dims.layout !== "CHW" && dims.layout !== "HWC") {
    throw new CipherError(`${fn}: dims.layout must be "CHW" or "HWC", got ${JSON.stringify(dims.layout)}`);
  }
  const k = key.blockSize;
  if (dims.c !== key.channels) {
    throw new CipherError(`${fn}: the images have ${dims.c} channels but the key has ${key.channels}`);
  }
  if (dims.h % k !== 0 || dims.w % k !== 0) {
    throw new CipherError(
      `${fn}: image size ${dims.h}×${dims.w} (H×W) is not a multiple of the block size ${k}; crop the images or pad them with padToBlockMultiple()`,
    );
  }
  const total = n * dims.c * dims.h * dims.w;
  if (length !== total) {
    throw new CipherError(`${fn}: data has ${length} elements, dims ${n}×${dims.c}×${dims.h}×${dims.w} need ${total}`);
  }
  return { n, c: dims.c, h: dims.h, w: dims.w, k, layout: dims.layout, total };
}

/** Element offset of (image, channel, row 0, col 0) and the row / pixel strides, in elements. */
export function planeAddressing(g: Geometry, img: number, ch: number): { base: number; row: number; pix: number } {
  if (g.layout === "CHW") return { base: (img * g.c + ch) * g.h * g.w, row: g.w, pix: 1 };
  return { base: img * g.h * g.w * g.c + ch, row: g.w * g.c, pix: g.c };
}

/** Channel `ch` of image `img` as its block vectors, row-major k×k each, in block-grid order: out[(by·bw + bx)·k² + r·k + s]. */
export function readBlockVectors(data: Float32Array, g: Geometry, img: number, ch: number, out: Float64Array): void {
  const { k } = g;
  const n = k * k;
  const bh = g.h / k;
  const bw = g.w / k;
  const { base, row, pix } = planeAddressing(g, img, ch);
  for (let by = 0; by < bh; by++)
    for (let bx = 0; bx < bw; bx++) {
      const o = (by * bw + bx) * n;
      for (let r = 0; r < k; r++)
        for (let s = 0; s < k; s++) out[o + r * k + s] = data[base + (by * k + r) * row + (bx * k + s) * pix];
    }
}

// ---------- plain TypeScript path ----------

/** dst ← blockwise(src)·M per channel, float64 accumulation. M: C×n×n (Float64Array). In-place safe. */
function applyJs(src: Float32Array, dst: Float32Array, g: Geometry, mats: Float64Array): void {
  const k = g.k;
  const n = k * k;
  const bw = g.w / k;
  const bh = g.h / k;
  const P = new Float64Array(bw * n);
  const Q = new Float64Array(bw * n);
  for (let img = 0; img < g.n; img++) {
    for (let ch = 0; ch < g.c; ch++) {
      const { base, row, pix } = planeAddressing(g, img, ch);
      const mo = ch * n * n;
      for (let by = 0; by < bh; by++) {
        const strip = base + by * k * row;
        for (let bx = 0; bx < bw; bx++) {
          const po = bx * n;
          for (let r = 0; r < k; r++) {
            let s = strip + r * row + bx * k * pix;
            const d = po + r * k;
            for (let q = 0; q < k; q++, s += pix) P[d + q] = src[s];
          }
        }
        Q.fill(0);
        for (let bx = 0; bx < bw; bx++) {
          const po = bx * n;
          for (let i = 0; i < n; i++) {
            const pi = P[po + i];
            if (pi === 0) continue;
            const mi = mo + i * n;
            for (let j = 0; j < n; j++) Q[po + j] += pi * mats[mi + j];
          }
        }
        for (let bx = 0; bx < bw; bx++) {
          const po = bx * n;
          for (let r = 0; r < k; r++) {
            let s = strip + r * row + bx * k * pix;
            const d = po + r * k;
            for (let q = 0; q < k; q++, s += pix) dst[s] = Q[d + q];
          }
        }
      }
    }
  }
}

// ---------- WebAssembly SIMD path ----------

const CHUNK_BYTES = 4 << 20;
const padTo8 = (x: number) => (x + 7) & ~7;
const align64 = (x: number) => (x + 63) & ~63;

/**
 * Per-key padded float64 matrices for the kernel (K for encryption, K⁻¹ for decryption). Both directions
 * accumulate in float64: with float32 accumulation, cancellation inside p·K costs up to ~10× accuracy, which
 * the decryption (amplifying by cond(K)) would then expose.
 */
const padded = new WeakMap<CipherKey, { fp: string; enc?: Float64Array; dec?: Float64Array }>();

function paddedMats(key: CipherKey, dir: "enc" | "dec"): Float64Array {
  let e = padded.get(key);
  if (!e || e.fp !== key.fingerprint) {
    e = { fp: key.fingerprint };
    padded.set(key, e);
  }
  const cached = e[dir];
  if (cached) return cached;
  const n = key.blockSize * key.blockSize;
  const np = padTo8(n);
  const srcM = dir === "enc" ? key.values : inverseKey(key);
  const m = new Float64Array(key.channels * n * np);
  for (let c = 0; c < key.channels; c++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) m[(c * n + i) * np + j] = srcM[(c * n + i) * n + j];
    }
  }
  e[dir] = m;
  return m;
}

let loadedMats: Float64Array | null = null;

function applyWasm(kern: WasmKernel, src: Float32Array, dst: Float32Array, g: Geometry, mats: Float64Array): void {
  const esz = 8;
  const k = g.k;
  const n = k * k;
  const np = padTo8(n);
  const bw = g.w / k;
  const bh = g.h / k;
  const blocks = bw * bh;
  const ntiles = Math.ceil(blocks / 4);
  const imgElems = g.c * g.h * g.w;
  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / (imgElems * 4)));
  const mOff = 0;
  const pOff = align64(mOff + mats.byteLength);
  const qOff = align64(pOff + ntiles * 4 * n * esz);
  const ioOff = align64(qOff + ntiles * 4 * np * esz);
  ensureMemory(kern, ioOff + Math.min(perChunk, g.n) * imgElems * 4);
  const buf = kern.memory.buffer;
  if (loadedMats !== mats) {
    new Float64Array(buf, mOff, mats.length).set(mats);
    loadedMats = mats;
  }
  const f32 = new Float32Array(buf);
  const { gather64: gather, gemm64: gemm, scatter64: scatter } = kern;
  const matB = n * np * esz;
  for (let first = 0; first < g.n; first += perChunk) {
    const count = Math.min(perChunk, g.n - first);
    const start = first * imgElems;
    f32.set(src.subarray(start, start + count * imgElems), ioOff / 4);
    for (let i = 0; i < count; i++) {
      for (let ch = 0; ch < g.c; ch++) {
        const a = planeAddressing(g, i, ch);
        const base = ioOff + a.base * 4;
        gather(base, a.row * 4, a.pix * 4, bh, bw, k, n, pOff);
        gemm(pOff, mOff + ch * matB, qOff, ntiles, n, np);
        scatter(base, a.row * 4, a.pix * 4, bh, bw, k, np, qOff);
      }
    }
    dst.set(f32.subarray(ioOff / 4, ioOff / 4 + count * imgElems), start);
  }
}

function realKeyOnly(fn: string, key: CipherKey): void {
  if (key.mode === "mod256") {
    throw new CipherError(`${fn}: mod256 keys work on uint8 images; use ${fn}Uint8()`);
  }
}

/** Applies the key's block scrambling, if any, to `dst` in place (forward for encryption, inverse for decryption). */
function scrambleInPlace<T extends Float32Array | Uint8Array>(
  dst: T,
  g: Geometry,
  key: CipherKey,
  dir: "enc" | "dec",
): T {
  if (!key.scramble) return dst;
  const perm = blockPermutation(key.scramble, g.h / g.k, g.w / g.k);
  return permuteBlocks(dst, dst, g, dir === "enc" ? perm : inversePermutation(perm));
}

function prepareOut<T extends Float32Array | Uint8Array>(
  fn: string,
  out: T | undefined,
  total: number,
  Ctor: { new (n: number): T; name: string },
): T {
  if (!out) return new Ctor(total);
  if (!(out instanceof Ctor) || out.length !== total) {
    throw new CipherError(`${fn}: out must be a ${Ctor.name} of ${total} elements`);
  }
  return out;
}

/**
 * Encrypts float32 images (batch) with a real key: every k×k block p ↦ p·K_ch.
 * The result is NOT in [0, 1] (see module doc). `out` may alias `data`.
 */
export function encrypt(data: Float32Array, dims: ImageDims, key: CipherKey, out?: Float32Array): Float32Array {
  realKeyOnly("encrypt", key);
  const g = checkDims("encrypt", data.length, dims, key);
  const dst = prepareOut("encrypt", out, g.total, Float32Array);
  const kern = backend === "js" ? null : wasmKernel();
  if (kern) applyWasm(kern, data, dst, g, paddedMats(key, "enc"));
  else applyJs(data, dst, g, key.values);
  return scrambleInPlace(dst, g, key, "enc");
}

/** Decrypts float32 ciphertexts: every block c ↦ c·K⁻¹ with K⁻¹ computed and applied in float64. */
export function decrypt(data: Float32Array, dims: ImageDims, key: CipherKey, out?: Float32Array): Float32Array {
  realKeyOnly("decrypt", key);
  const g = checkDims("decrypt", data.length, dims, key);
  const dst = prepareOut("decrypt", out, g.total, Float32Array);
  const kern = backend === "js" ? null : wasmKernel();
  if (kern) applyWasm(kern, data, dst, g, paddedMats(key, "dec"));
  else applyJs(data, dst, g, inverseKey(key));
  return scrambleInPlace(dst, g, key, "dec");
}

// ---------- mod 256 ----------

function applyMod256(src: Uint8Array, dst: Uint8Array, g: Geometry, mats: ArrayLike<number>): void {
  const k = g.k;
  const n = k * k;
  const bw = g.w / k;
  const bh = g.h / k;
  const M = Int32Array.from(mats as ArrayLike<number>);
  const P = new Int32Array(bw * n);
  const Q = new Int32Array(bw * n);
  for (let img = 0; img < g.n; img++) {
    for (let ch = 0; ch < g.c; ch++) {
      const { base, row, pix } = planeAddressing(g, img, ch);
      const mo = ch * n * n;
      for (let by = 0; by < bh; by++) {
        const strip = base + by * k * row;
        for (let bx = 0; bx < bw; bx++) {
          for (let r = 0; r < k; r++) {
            let s = strip + r * row + bx * k * pix;
            const d = bx * n + r * k;
            for (let q = 0; q < k; q++, s += pix) P[d + q] = src[s];
          }
        }
        Q.fill(0);
        for (let bx = 0; bx < bw; bx++) {
          const po = bx * n;
          for (let i = 0; i < n; i++) {
            const pi = P[po + i];
            if (pi === 0) continue;
            const mi = mo + i * n;
            // |Σ| ≤ k²·255·255 < 2^31 for k ≤ 181, so int32 accumulation is exact.
            for (let j = 0; j < n; j++) Q[po + j] = (Q[po + j] + pi * M[mi + j]) | 0;
          }
        }
        for (let bx = 0; bx < bw; bx++) {
          for (let r = 0; r < k; r++) {
            let s = strip + r * row + bx * k * pix;
            const d = bx * n + r * k;
            for (let q = 0; q < k; q++, s += pix) dst[s] = Q[d + q] & 255;
          }
        }
      }
    }
  }
}

function mod256Only(fn: string, key: CipherKey): void {
  if (key.mode !== "mod256")
    throw new CipherError(`${fn}: needs a mod256 key (this key is ${key.mode}); use the float32 functions`);
}

/** mod256 keys only: every block p ↦ (p·K_ch) mod 256 on uint8 pixels. Exact; ciphertexts stay uint8. */
export function encryptUint8(data: Uint8Array, dims: ImageDims, key: CipherKey, out?: Uint8Array): Uint8Array {
  mod256Only("encryptUint8", key);
  const g = checkDims("encryptUint8", data.length, dims, key);
  const dst = prepareOut("encryptUint8", out, g.total, Uint8Array);
  applyMod256(data, dst, g, key.values);
  return scrambleInPlace(dst, g, key, "enc");
}

/** mod256 keys only: every block c ↦ (c·K⁻¹) mod 256 with the modular inverse. Exact. */
export function decryptUint8(data: Uint8Array, dims: ImageDims, key: CipherKey, out?: Uint8Array): Uint8Array {
  mod256Only("decryptUint8", key);
  const g = checkDims("decryptUint8", data.length, dims, key);
  const dst = prepareOut("decryptUint8", out, g.total, Uint8Array);
  applyMod256(data, dst, g, inverseKey(key));
  return scrambleInPlace(dst, g, key, "dec");
}

// ---------- padding ----------

/**
 * Explicit padding option: pads each image at the bottom/right so H and W become multiples of k.
 * `mode` "zero" fills with 0, "edge" repeats the last row/column. Returns new data and dims (same layout).
 * Crop the decrypted result back to the original `h`×`w` yourself (see `cropTo`).
 */
export function padToBlockMultiple<T extends Float32Array | Uint8Array>(
  data: T,
  dims: ImageDims,
  blockSize: number,
  mode: "zero" | "edge" = "zero",
): { data: T; dims: ImageDims } {
  const g = checkDims("padToBlockMultiple", data.length, dims, { blockSize: 1, channels: dims.c });
  const H = Math.ceil(g.h / blockSize) * blockSize;
  const W = Math.ceil(g.w / blockSize) * blockSize;
  const newDims: ImageDims = { ...dims, n: g.n, h: H, w: W };
  const ng: Geometry = { ...g, h: H, w: W, total: g.n * g.c * H * W };
  const out = new (data.constructor as { new (len: number): T })(ng.total);
  for (let img = 0; img < g.n; img++) {
    for (let ch = 0; ch < g.c; ch++) {
      const a = planeAddressing(g, img, ch);
      const b = planeAddressing(ng, img, ch);
      for (let y = 0; y < H; y++) {
        const sy = y < g.h ? y : mode === "edge" ? g.h - 1 : -1;
        for (let x = 0; x < W; x++) {
          const sx = x < g.w ? x : mode === "edge" ? g.w - 1 : -1;
          out[b.base + y * b.row + x * b.pix] = sy < 0 || sx < 0 ? 0 : data[a.base + sy * a.row + sx * a.pix];
        }
      }
    }
  }
  return { data: out, dims: newDims };
}

/** Crops images (top-left anchored) to h×w; the inverse of padToBlockMultiple. */
export function cropTo<T extends Float32Array | Uint8Array>(
  data: T,
  dims: ImageDims,
  h: number,
  w: number,
): { data: T; dims: ImageDims } {
  const g = checkDims("cropTo", data.length, dims, { blockSize: 1, channels: dims.c });
  if (h > g.h || w > g.w) throw new CipherError(`cropTo: ${h}×${w} is larger than ${g.h}×${g.w}`);
  const ng: Geometry = { ...g, h, w, total: g.n * g.c * h * w };
  const out = new (data.constructor as { new (len: number): T })(ng.total);
  for (let img = 0; img < g.n; img++) {
    for (let ch = 0; ch < g.c; ch++) {
      const a = planeAddressing(g, img, ch);
      const b = planeAddressing(ng, img, ch);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[b.base + y * b.row + x * b.pix] = data[a.base + y * a.row + x * a.pix];
    }
  }
  return { data: out, dims: { ...dims, n: g.n, h, w } };
}
