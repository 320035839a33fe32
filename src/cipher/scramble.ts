/**
 * Block scrambling: an optional, secret permutation of block positions applied before the Hill cipher (as in the
 * block-scrambling schemes of Kiya et al.). Encryption moves the k×k block at grid position perm[j] to position j
 * (in every channel and every image alike), then encrypts every block with K_ch; decryption undoes both. Since the
 * Hill cipher treats every position with the same matrix, the order (permute then Hill, or Hill then permute) does
 * not change the result.
 *
 * How the grid is fixed: the key holds a secret 256-bit seed, not a permutation. The permutation of a grid of
 * gh × gw blocks is derived from it deterministically: ChaCha20 (rng.ts) keyed with the seed, with the grid in the
 * nonce (bytes 0-3 "ercS", 4-7 gh, 8-11 gw, uint32 little-endian), drives a Fisher–Yates shuffle (Durstenfeld:
 * for i = m−1 … 1, swap i with nextInt(i + 1)). So one key scrambles images of any size (a 32×32 CIFAR image, a
 * 224×224 photo, the browser page's uploads), each grid gets its own independent permutation, and the key file stays
 * small. The same seed and grid give the same permutation on every platform.
 *
 * The seed is as secret as the key matrices: never print or log it.
 */
import { ChaCha20Random, nextInt } from "../core/rng.ts";

/** The optional scrambling part of a key. */
export interface ScrambleSpec {
  /** Derivation scheme of the permutation (see module doc). */
  scheme: typeof SCRAMBLE_SCHEME;
  /** 64 lowercase hex characters: the secret 256-bit seed. Secret: never log. */
  seed: string;
}

export const SCRAMBLE_SCHEME = "chacha20-fisher-yates/v1";
const NONCE_TAG = 0x53726365; // "ercS" little-endian

/** Checks a scramble spec read from a file; returns the problem or null. */
export function scrambleProblem(s: unknown): string | null {
  if (typeof s !== "object" || s === null || Array.isArray(s)) return "scramble must be an object {scheme, seed}";
  const o = s as Record<string, unknown>;
  if (o.scheme !== SCRAMBLE_SCHEME)
    return `scramble.scheme is ${JSON.stringify(o.scheme)}, expected "${SCRAMBLE_SCHEME}"`;
  if (typeof o.seed !== "string" || !/^[0-9a-f]{64}$/.test(o.seed))
    return "scramble.seed must be 64 lowercase hex characters";
  const extra = Object.keys(o).filter((k) => k !== "scheme" && k !== "seed");
  if (extra.length) return `scramble has unknown field(s) ${extra.join(", ")}`;
  return null;
}

export function seedBytes(spec: ScrambleSpec): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(spec.seed.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const cache = new WeakMap<ScrambleSpec, Map<string, Int32Array>>();

/**
 * The permutation of a gh×gw block grid (row-major positions): encryption puts the block from position perm[j] at
 * position j. Cached per spec and grid.
 */
export function blockPermutation(spec: ScrambleSpec, gh: number, gw: number): Int32Array {
  let byGrid = cache.get(spec);
  if (!byGrid) {
    byGrid = new Map();
    cache.set(spec, byGrid);
  }
  const id = `${gh}x${gw}`;
  const hit = byGrid.get(id);
  if (hit) return hit;
  const nonce = new Uint8Array(12);
  const dv = new DataView(nonce.buffer);
  dv.setUint32(0, NONCE_TAG, true);
  dv.setUint32(4, gh, true);
  dv.setUint32(8, gw, true);
  const rng = new ChaCha20Random(seedBytes(spec), nonce);
  const m = gh * gw;
  const perm = Int32Array.from({ length: m }, (_, i) => i);
  for (let i = m - 1; i > 0; i--) {
    const j = nextInt(rng, i + 1);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  byGrid.set(id, perm);
  return perm;
}

/** inv[perm[j]] = j. */
export function inversePermutation(perm: ArrayLike<number>): Int32Array {
  const inv = new Int32Array(perm.length);
  for (let j = 0; j < perm.length; j++) inv[perm[j]] = j;
  return inv;
}

/** What permuteBlocks needs of the image geometry (block.ts's Geometry). */
export interface BlockGrid {
  n: number;
  c: number;
  h: number;
  w: number;
  k: number;
  layout: "CHW" | "HWC";
}

/**
 * dst block at position j ← src block at position perm[j], for every image and channel (k×k blocks, row-major grid
 * of (h/k)×(w/k)). `dst` may alias `src` (each image is copied first). Pass inversePermutation(perm) to undo.
 */
export function permuteBlocks<T extends Float32Array | Uint8Array>(src: T, dst: T, g: BlockGrid, perm: Int32Array): T {
  const { k } = g;
  const gw = g.w / k;
  const gh = g.h / k;
  if (!Number.isInteger(gw) || !Number.isInteger(gh) || perm.length !== gh * gw) {
    throw new Error(`permuteBlocks: a permutation of ${perm.length} positions for a ${gh}×${gw} block grid`);
  }
  const per = g.c * g.h * g.w;
  const tmp = new (src.constructor as { new (n: number): T })(per);
  // element strides: CHW planar (channel plane h·w, row w, pixel 1); HWC interleaved (row w·c, pixel c, channel 1)
  const chStride = g.layout === "CHW" ? g.h * g.w : 1;
  const row = g.layout === "CHW" ? g.w : g.w * g.c;
  const pix = g.layout === "CHW" ? 1 : g.c;
  for (let img = 0; img < g.n; img++) {
    const base = img * per;
    tmp.set(src.subarray(base, base + per));
    for (let j = 0; j < perm.length; j++) {
      const s = perm[j];
      const sOff = Math.floor(s / gw) * k * row + (s % gw) * k * pix;
      const dOff = Math.floor(j / gw) * k * row + (j % gw) * k * pix;
      for (let ch = 0; ch < g.c; ch++)
        for (let r = 0; r < k; r++) {
          const a = ch * chStride + r * row;
          for (let q = 0; q < k; q++) dst[base + dOff + a + q * pix] = tmp[sOff + a + q * pix];
        }
    }
  }
  return dst;
}
