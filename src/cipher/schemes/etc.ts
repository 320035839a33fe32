/**
 * etc: the block-scrambling encryption-then-compression (EtC) image encryption of Kiya et al. (K. Kurihara, M. Kikuchi,
 * S. Imaizumi, S. Shiota, H. Kiya, "An encryption-then-compression system for JPEG/Motion JPEG standard", IEICE Trans.
 * Fundamentals 2015; used for learnable encryption by Chuman, Kurihara, Kiya and others), on k×k blocks:
 *   1. block scrambling: the ciphertext block at grid position j is the plaintext block at position perm[j];
 *   2. block rotation and inversion: each block gets one of the 8 maps of the square (rotation by a·90°, a = 0…3,
 *      after an optional left–right flip; the paper's 4 rotations × 4 inversions give exactly these 8 distinct maps);
 *   3. negative–positive transformation: each block is inverted (x ↦ full − x: 255 − x on uint8, 1 − x on float32)
 *      or not;
 *   4. colour-component shuffling: each block's channels are permuted (one of C! orders).
 * Steps 2–4 use a key of their own for every block position. Decryption undoes 4, 3, 2, then 1.
 *
 * Like block scrambling (scramble.ts), one key serves every image size: the permutation and the per-block keys of a
 * gh×gw grid are derived from the key's seed with the grid in the stream's nonce (seeded-key.ts keyStream): perm from
 * tag "etcS" (Fisher–Yates), then for each position j in order: a = next(4), flip = next(2), np = next(2), the colour
 * order (Fisher–Yates of C) from tag "etcB". Key space for m = gh·gw blocks: log₂(m!) + m·(3 + 1 + log₂(C!)) bits.
 */
import type { ImageDims } from "../block.ts";
import { inversePermutation, permuteBlocks } from "../scramble.ts";
import {
  type BlockGeometry,
  blockGeometry,
  fullScale,
  log2Factorial,
  mapBlocks,
  type Pixels,
  shuffledIndices,
} from "./blocks.ts";
import { seededOnly } from "./pixel-shuffle-np.ts";
import { keyStream } from "./seeded-key.ts";
import type { Scheme, SchemeKey } from "./types.ts";

/** The key of one block position. */
export interface EtcBlockKey {
  /** Quarter turns clockwise, 0…3. */
  rotate: number;
  /** Left–right flip before the rotation. */
  flip: boolean;
  negative: boolean;
  /** Ciphertext channel ch holds plaintext channel colours[ch]. */
  colours: Int32Array;
}

export interface EtcParams {
  blockSize: number;
  channels: number;
  gh: number;
  gw: number;
  /** Ciphertext block position j holds plaintext block position perm[j]. */
  perm: Int32Array;
  blocks: EtcBlockKey[];
}

export function etcParams(key: SchemeKey, gh: number, gw: number): EtcParams {
  const sk = seededOnly(key, "etc");
  const perm = shuffledIndices(gh * gw, keyStream(sk.seed, "etcS", gh, gw));
  const next = keyStream(sk.seed, "etcB", gh, gw);
  const blocks: EtcBlockKey[] = [];
  for (let j = 0; j < gh * gw; j++) {
    const rotate = next(4);
    const flip = next(2) === 1;
    const negative = next(2) === 1;
    blocks.push({ rotate, flip, negative, colours: shuffledIndices(sk.channels, next) });
  }
  return { blockSize: sk.blockSize, channels: sk.channels, gh, gw, perm, blocks };
}

/** Pixel gather map of a block key: ciphertext pixel p (= r·k + q) holds plaintext pixel map[p]. */
export function dihedralMap(k: number, rotate: number, flip: boolean): Int32Array {
  let m = Int32Array.from({ length: k * k }, (_, p) => p);
  if (flip) m = Int32Array.from({ length: k * k }, (_, p) => m[Math.floor(p / k) * k + (k - 1 - (p % k))]);
  for (let a = 0; a < rotate; a++) {
    const y = m;
    // clockwise quarter turn: out(r, q) = in(k−1−q, r)
    m = Int32Array.from({ length: k * k }, (_, p) => y[(k - 1 - (p % k)) * k + Math.floor(p / k)]);
  }
  return m;
}

function blockMaps(g: BlockGeometry, b: EtcBlockKey): Int32Array {
  const pix = dihedralMap(g.k, b.rotate, b.flip);
  const m = new Int32Array(g.d);
  for (let p = 0; p < g.k * g.k; p++) for (let ch = 0; ch < g.c; ch++) m[p * g.c + ch] = pix[p] * g.c + b.colours[ch];
  return m;
}

export function applyEtc<T extends Pixels>(
  p: EtcParams,
  data: T,
  dims: ImageDims,
  direction: "encrypt" | "decrypt",
  out?: T,
): T {
  const g = blockGeometry(`etc ${direction}`, data.length, dims, p);
  if (g.gh !== p.gh || g.gw !== p.gw) throw new Error(`etc: keys for a ${p.gh}×${p.gw} grid used on ${g.gh}×${g.gw}`);
  const full = fullScale(data);
  const maps = p.blocks.map((b) => blockMaps(g, b));
  const grid = { n: g.n, c: g.c, h: g.h, w: g.w, k: g.k, layout: g.layout };
  if (direction === "encrypt") {
    const dst = permuteBlocks(
      data,
      out ?? (new (data.constructor as { new (n: number): T })(data.length) as T),
      grid,
      p.perm,
    );
    return mapBlocks(
      dst,
      g,
      (v, c, at) => {
        const j = at.by * g.gw + at.bx;
        const m = maps[j];
        const neg = p.blocks[j].negative;
        for (let i = 0; i < g.d; i++) c[i] = neg ? full - v[m[i]] : v[m[i]];
      },
      dst,
    );
  }
  const dst = mapBlocks(
    data,
    g,
    (c, v, at) => {
      const j = at.by * g.gw + at.bx;
      const m = maps[j];
      const neg = p.blocks[j].negative;
      for (let i = 0; i < g.d; i++) v[m[i]] = neg ? full - c[i] : c[i];
    },
    out,
  );
  return permuteBlocks(dst, dst, grid, inversePermutation(p.perm));
}

function paramsFor(key: SchemeKey, dims: ImageDims): EtcParams {
  const k = key.blockSize;
  return etcParams(key, Math.floor(dims.h / k), Math.floor(dims.w / k));
}

export const ETC: Scheme = {
  name: "etc",
  title: "EtC block scrambling, rotation/flip, negative–positive, colour shuffling",
  reference:
    "Kurihara, Kikuchi, Imaizumi, Shiota & Kiya, An encryption-then-compression system for JPEG/Motion JPEG standard, IEICE Trans. Fundamentals E98-A (2015)",
  structure: "per-block-signed-permutation",
  blockAligned: false,
  uint8Ciphertext: true,
  keySpace: (_k, c, grid) => {
    const m = grid ? grid.gh * grid.gw : 1;
    return {
      bits: log2Factorial(m) + m * (3 + 1 + log2Factorial(c)),
      description: `a permutation of the ${grid ? `${m} block positions` : "block positions"} and, for every position, one of 8 rotations/flips, a negative–positive bit and one of ${c}! channel orders`,
    };
  },
  encrypt: (data, dims, key, out) => applyEtc(paramsFor(key, dims), data, dims, "encrypt", out),
  decrypt: (data, dims, key, out) => applyEtc(paramsFor(key, dims), data, dims, "decrypt", out),
};
