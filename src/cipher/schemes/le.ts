/**
 * le: Tanaka's learnable image encryption (M. Tanaka, "Learnable image encryption", IEEE ICCE-TW 2018), following the
 * author's reference code (BlockScramble.doScramble).
 *
 * Every 8-bit value of a block vector v (d = k²·C values, block-local HWC order) is split into its lower and upper
 * 4 bits, giving the 2d-vector u = [v & 15 (d values), v >> 4 (d values)] — six "channels" for an RGB block. The key is
 * one permutation `ord` of the 2d nibble positions, the same for every block; from it the reversal mask
 * rev[i] = ord[i] > d (exactly as the reference code's `key > key.size / 2`). Encryption:
 *   u[i] ← 15 − u[i] where rev[i];  u ← (u[ord[0]], …, u[ord[2d−1]]);  u[i] ← 15 − u[i] where rev[i];
 *   c = (u[d + j] << 4) + u[j]  for j < d.
 * Decryption is the same map with ord⁻¹ in place of ord and the same mask (the reversals are involutions). The map is
 * a permutation of nibbles, so it is nonlinear in the pixel values.
 *
 * Derivation: ord is a Fisher–Yates shuffle from the key's stream tag "leKO". Key space: log₂((2d)!) bits.
 */
import type { ImageDims } from "../block.ts";
import { inversePermutation } from "../scramble.ts";
import {
  blockGeometry,
  fromByte,
  fullScale,
  log2Factorial,
  mapBlocks,
  type Pixels,
  shuffledIndices,
  toByte,
} from "./blocks.ts";
import { seededOnly } from "./pixel-shuffle-np.ts";
import { keyStream } from "./seeded-key.ts";
import type { Scheme, SchemeKey } from "./types.ts";

export interface LeParams {
  blockSize: number;
  channels: number;
  /** A permutation of the 2d nibble positions (lower nibbles first). */
  ord: Int32Array;
}

export function leParams(key: SchemeKey): LeParams {
  const sk = seededOnly(key, "le");
  const d = sk.blockSize * sk.blockSize * sk.channels;
  return { blockSize: sk.blockSize, channels: sk.channels, ord: shuffledIndices(2 * d, keyStream(sk.seed, "leKO")) };
}

export function applyLe<T extends Pixels>(
  p: LeParams,
  data: T,
  dims: ImageDims,
  direction: "encrypt" | "decrypt",
  out?: T,
): T {
  const g = blockGeometry(`le ${direction}`, data.length, dims, p);
  const d = g.d;
  if (p.ord.length !== 2 * d) throw new Error(`le: a permutation of ${p.ord.length} nibbles for blocks of ${d} values`);
  const rev = Uint8Array.from(p.ord, (o) => (o > d ? 1 : 0));
  const ord = direction === "encrypt" ? p.ord : inversePermutation(p.ord);
  const full = fullScale(data);
  const u = new Int32Array(2 * d);
  const t = new Int32Array(2 * d);
  return mapBlocks(
    data,
    g,
    (src, dst) => {
      for (let j = 0; j < d; j++) {
        const b = toByte(src[j], full);
        u[j] = b & 15;
        u[d + j] = b >> 4;
      }
      for (let i = 0; i < 2 * d; i++) if (rev[i]) u[i] = 15 - u[i];
      for (let i = 0; i < 2 * d; i++) t[i] = u[ord[i]];
      for (let i = 0; i < 2 * d; i++) if (rev[i]) t[i] = 15 - t[i];
      for (let j = 0; j < d; j++) dst[j] = fromByte((t[d + j] << 4) + t[j], full);
    },
    out,
  );
}

export const LE: Scheme = {
  name: "le",
  title: "Learnable image encryption (4-bit split, nibble shuffle and reversal)",
  reference:
    "M. Tanaka, Learnable image encryption, IEEE ICCE-TW 2018, and the author's BlockScramble reference code (reversal mask ord > d)",
  structure: "nonlinear",
  blockAligned: true,
  uint8Ciphertext: true,
  keySpace: (k, c) => ({
    bits: log2Factorial(2 * k * k * c),
    description: `a permutation of the ${2 * k * k * c} 4-bit halves of a block (the reversal mask follows from it), the same for every block`,
  }),
  encrypt: (data, dims, key, out) => applyLe(leParams(key), data, dims, "encrypt", out),
  decrypt: (data, dims, key, out) => applyLe(leParams(key), data, dims, "decrypt", out),
};
