/**
 * A learnable-encryption scheme as data: its name, where it comes from, its key space, and its exact encrypt/decrypt
 * on a batch of uint8 (0…255) or float32 ([0, 1]) images in CHW or HWC layout. The registry (registry.ts) lists them.
 */
import type { ImageDims } from "../block.ts";
import type { CipherKey } from "../key.ts";
import type { Pixels } from "./blocks.ts";
import type { SeededKey } from "./seeded-key.ts";

export type SchemeName = "hill" | "hill-scramble" | "pixel-shuffle-np" | "le" | "etc" | "ffx";

/** A key of any scheme: the Hill keys as they always were, the others as a seed (seeded-key.ts). */
export type SchemeKey = CipherKey | SeededKey;

/** What the attacks may assume about a scheme. */
export type SchemeStructure =
  /** c = p·K per block and channel, the same K everywhere (the Hill cipher). */
  | "linear"
  /** the same signed permutation of every block's values plus an offset (x ↦ 1 − x on flipped values). */
  | "signed-permutation"
  /** a signed permutation that differs from block to block, and block positions moved (EtC). */
  | "per-block-signed-permutation"
  /** a nonlinear map of the pixel values (LE, FFX). */
  | "nonlinear";

export interface KeySpace {
  /** log₂ of the number of distinct keys for these parameters (the stored secret may be larger). */
  bits: number;
  description: string;
}

export interface Scheme {
  name: SchemeName;
  title: string;
  /** The paper (or code) the definition follows, and how this one differs. */
  reference: string;
  structure: SchemeStructure;
  /** Whether block (by, bx) of the ciphertext depends only on block (by, bx) of the plaintext. */
  blockAligned: boolean;
  /** Whether encrypt(uint8) gives uint8 ciphertexts (storable as ordinary 8-bit images). */
  uint8Ciphertext: boolean;
  /** The key space for block size k and c channels; per-block keys also depend on the grid (gh × gw blocks). */
  keySpace(k: number, c: number, grid?: { gh: number; gw: number }): KeySpace;
  encrypt<T extends Pixels>(data: T, dims: ImageDims, key: SchemeKey, out?: T): T;
  decrypt<T extends Pixels>(data: T, dims: ImageDims, key: SchemeKey, out?: T): T;
}
