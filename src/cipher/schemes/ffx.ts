/**
 * ffx: a keyed format-preserving, nonlinear map of every 8-bit value of a block, different at every position of the
 * block and the same for every block — the block-wise FFX transformation of AprilPyone & Kiya ("Block-wise image
 * transformation with secret key for adversarially robust defense", IEEE TIFS 2021) made a bijection of 0…255 and
 * applied to every value. (Their code encrypts the pixels selected by a key mask with one tweak-less pyffx table into
 * 0…999 and leaves the others as they are; here no value is left in the clear and the output stays 8-bit.)
 *
 * The map at block-vector position i (d = k²·C positions, block-local HWC order) is a 10-round balanced Feistel
 * network on the two 4-bit halves of the byte, b = (L, R) with L = b >> 4, R = b & 15:
 *   round r: (L, R) ↦ (R, L ⊕ F[i][r][R]),  r = 0…9,  output (L << 4) | R;
 * inverse, r = 9…0: (L, R) ↦ (R ⊕ F[i][r][L], L). F[i][r] is a table of 16 random nibbles drawn from the key's
 * ChaCha20 stream (seeded-key.ts keyStream, tag "ffxF", next(16) for i, then r, then the 16 entries): an FFX-A2-style
 * Feistel with a ChaCha20 round function (FFX's round count for 8-bit inputs is 10 as in NIST FF1).
 * Key space: the 256-bit seed (the d·10·16 derived nibbles, 640·d bits, are a function of it).
 */
import type { ImageDims } from "../block.ts";
import { blockGeometry, fromByte, fullScale, mapBlocks, type Pixels, toByte } from "./blocks.ts";
import { seededOnly } from "./pixel-shuffle-np.ts";
import { keyStream } from "./seeded-key.ts";
import type { Scheme, SchemeKey } from "./types.ts";

export const FFX_ROUNDS = 10;

export interface FfxParams {
  blockSize: number;
  channels: number;
  /** Round tables: F[(i·ROUNDS + r)·16 + x], nibbles. */
  rounds: Uint8Array;
}

export function ffxParams(key: SchemeKey): FfxParams {
  const sk = seededOnly(key, "ffx");
  const d = sk.blockSize * sk.blockSize * sk.channels;
  const next = keyStream(sk.seed, "ffxF");
  return {
    blockSize: sk.blockSize,
    channels: sk.channels,
    rounds: Uint8Array.from({ length: d * FFX_ROUNDS * 16 }, () => next(16)),
  };
}

/** The Feistel permutation of position i applied to one byte. */
export function feistelByte(rounds: Uint8Array, i: number, b: number): number {
  let l = b >> 4;
  let r = b & 15;
  for (let k = 0; k < FFX_ROUNDS; k++) {
    const t = l ^ rounds[(i * FFX_ROUNDS + k) * 16 + r];
    l = r;
    r = t;
  }
  return (l << 4) | r;
}

/** Its inverse. */
export function feistelByteInverse(rounds: Uint8Array, i: number, b: number): number {
  let l = b >> 4;
  let r = b & 15;
  for (let k = FFX_ROUNDS - 1; k >= 0; k--) {
    const t = r ^ rounds[(i * FFX_ROUNDS + k) * 16 + l];
    r = l;
    l = t;
  }
  return (l << 4) | r;
}

/** Lookup tables table[i·256 + b] of every position's map (or its inverse). */
export function ffxTables(p: FfxParams, direction: "encrypt" | "decrypt"): Uint8Array {
  const d = p.blockSize * p.blockSize * p.channels;
  const f = direction === "encrypt" ? feistelByte : feistelByteInverse;
  const t = new Uint8Array(d * 256);
  for (let i = 0; i < d; i++) for (let b = 0; b < 256; b++) t[i * 256 + b] = f(p.rounds, i, b);
  return t;
}

export function applyFfx<T extends Pixels>(
  p: FfxParams,
  data: T,
  dims: ImageDims,
  direction: "encrypt" | "decrypt",
  out?: T,
): T {
  const g = blockGeometry(`ffx ${direction}`, data.length, dims, p);
  const table = ffxTables(p, direction);
  const full = fullScale(data);
  return mapBlocks(
    data,
    g,
    (src, dst) => {
      for (let i = 0; i < g.d; i++) dst[i] = fromByte(table[i * 256 + toByte(src[i], full)], full);
    },
    out,
  );
}

export const FFX: Scheme = {
  name: "ffx",
  title: "Block-wise format-preserving Feistel (FFX-style) on 8-bit values",
  reference:
    "AprilPyone & Kiya, Block-wise image transformation with secret key for adversarially robust defense (IEEE TIFS 2021), FFX; here a bijection of 0…255 at every position",
  structure: "nonlinear",
  blockAligned: true,
  uint8Ciphertext: true,
  keySpace: (k, c) => ({
    bits: 256,
    description: `a 256-bit seed for ${k * k * c} position-wise 10-round Feistel permutations of 0…255, the same for every block`,
  }),
  encrypt: (data, dims, key, out) => applyFfx(ffxParams(key), data, dims, "encrypt", out),
  decrypt: (data, dims, key, out) => applyFfx(ffxParams(key), data, dims, "decrypt", out),
};
