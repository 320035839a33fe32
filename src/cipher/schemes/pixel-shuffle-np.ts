/**
 * pixel-shuffle-np: block-wise pixel shuffling, negative–positive transformation and colour shuffling with one secret
 * key for every block (AprilPyone & Kiya's block-wise transformations with a secret key: "Shuffle" and "NP", and the
 * colour-channel shuffling of Kiya et al.'s block-wise encryptions).
 *
 * On the block vector v (d = k²·C values, block-local HWC order, blocks.ts):
 *   pixel shuffle: a permutation π of the k² pixel positions; colour shuffle: a permutation σ of the C channels;
 *   together perm[(r·k+q)·C + ch] = π[r·k+q]·C + σ[ch];
 *   negative–positive: a mask f of d bits; encryption  c[j] = f[j] ? full − v[perm[j]] : v[perm[j]]  (full = 255 on
 *   uint8, 1 on float32), decryption  v[perm[j]] = f[j] ? full − c[j] : c[j]. AprilPyone & Kiya draw the NP mask as
 *   "key > d/2" of a second random permutation; here each bit is drawn uniformly (the same distribution up to the
 *   mask's weight).
 * So every block is mapped by the same signed permutation of its d values plus an offset: a special case of a
 * d×d Hill key (over the whole block, channels included), which is what the signed-permutation attack exploits.
 *
 * Derivation from the key's seed (seeded-key.ts keyStream): π from tag "psPI", σ from "psCS" (Fisher–Yates), the mask
 * from "psNP" (one nextInt(2) per value, in block-vector order).
 * Key space: log₂(k²!) + log₂(C!) + k²·C bits.
 */
import type { ImageDims } from "../block.ts";
import { KeyError } from "../key.ts";
import { blockGeometry, fullScale, log2Factorial, mapBlocks, type Pixels, shuffledIndices } from "./blocks.ts";
import { keyStream, type SeededKey } from "./seeded-key.ts";
import type { Scheme, SchemeKey } from "./types.ts";

/** A signed permutation of the block vector: c[j] = flip[j] ? full − v[perm[j]] : v[perm[j]]. */
export interface SignedPermutation {
  blockSize: number;
  channels: number;
  perm: Int32Array;
  flip: Uint8Array;
}

export function seededOnly(key: SchemeKey, scheme: string): SeededKey {
  if (!("scheme" in key) || key.scheme !== scheme)
    throw new KeyError(
      `a ${scheme} operation needs a ${scheme} key, got a ${"scheme" in key ? key.scheme : "hill"} key`,
    );
  return key as SeededKey;
}

/** The explicit signed permutation a pixel-shuffle-np key stands for. */
export function pixelShuffleNpParams(key: SchemeKey): SignedPermutation {
  const sk = seededOnly(key, "pixel-shuffle-np");
  const k = sk.blockSize;
  const c = sk.channels;
  const pi = shuffledIndices(k * k, keyStream(sk.seed, "psPI"));
  const sigma = shuffledIndices(c, keyStream(sk.seed, "psCS"));
  const perm = new Int32Array(k * k * c);
  for (let p = 0; p < k * k; p++) for (let ch = 0; ch < c; ch++) perm[p * c + ch] = pi[p] * c + sigma[ch];
  const bit = keyStream(sk.seed, "psNP");
  const flip = Uint8Array.from({ length: k * k * c }, () => bit(2));
  return { blockSize: k, channels: c, perm, flip };
}

/** Applies a signed permutation (or its inverse) to every block. */
export function applySignedPermutation<T extends Pixels>(
  sp: SignedPermutation,
  data: T,
  dims: ImageDims,
  direction: "encrypt" | "decrypt",
  out?: T,
): T {
  const g = blockGeometry(`pixel-shuffle-np ${direction}`, data.length, dims, sp);
  const full = fullScale(data);
  const { perm, flip } = sp;
  if (direction === "encrypt")
    return mapBlocks(
      data,
      g,
      (v, c) => {
        for (let j = 0; j < g.d; j++) c[j] = flip[j] ? full - v[perm[j]] : v[perm[j]];
      },
      out,
    );
  return mapBlocks(
    data,
    g,
    (c, v) => {
      for (let j = 0; j < g.d; j++) v[perm[j]] = flip[j] ? full - c[j] : c[j];
    },
    out,
  );
}

export const PIXEL_SHUFFLE_NP: Scheme = {
  name: "pixel-shuffle-np",
  title: "Block-wise pixel shuffling + negative–positive + colour shuffling",
  reference:
    "AprilPyone & Kiya, Block-wise image transformation with secret key for adversarially robust defense (IEEE TIFS 2021), Shuffle and NP; colour-channel shuffling as in Kiya et al.'s block-wise encryptions",
  structure: "signed-permutation",
  blockAligned: true,
  uint8Ciphertext: true,
  keySpace: (k, c) => ({
    bits: log2Factorial(k * k) + log2Factorial(c) + k * k * c,
    description: `a permutation of the ${k * k} pixel positions of a block, a permutation of the ${c} channels, and ${k * k * c} negative–positive bits, the same for every block`,
  }),
  encrypt: (data, dims, key, out) => applySignedPermutation(pixelShuffleNpParams(key), data, dims, "encrypt", out),
  decrypt: (data, dims, key, out) => applySignedPermutation(pixelShuffleNpParams(key), data, dims, "decrypt", out),
};
