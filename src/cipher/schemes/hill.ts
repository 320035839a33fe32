/**
 * hill and hill-scramble: the study's block-wise Hill cipher (block.ts: c = p·K_ch per k×k block and channel), and
 * the same with the secret permutation of block positions (scramble.ts). The keys are the CipherKeys they always were;
 * these entries only put them in the registry. Float32 images need a real key (uniform or orthogonal) and give real
 * ciphertexts (not in [0, 1]); uint8 images need a mod256 key and give uint8 ciphertexts.
 */
import { decrypt, decryptUint8, encrypt, encryptUint8 } from "../block.ts";
import { type CipherKey, KeyError } from "../key.ts";
import { log2Factorial } from "./blocks.ts";
import type { Scheme, SchemeKey } from "./types.ts";

function hillKey(key: SchemeKey, scrambled: boolean): CipherKey {
  if ("scheme" in key) throw new KeyError(`a Hill operation needs a Hill key, got a ${key.scheme} key`);
  if (!!key.scramble !== scrambled)
    throw new KeyError(
      scrambled
        ? "hill-scramble needs a key with block scrambling (keygen --scheme hill-scramble)"
        : "this key has block scrambling: its scheme is hill-scramble",
    );
  return key;
}

function hillScheme(scrambled: boolean): Scheme {
  return {
    name: scrambled ? "hill-scramble" : "hill",
    title: scrambled ? "Block-wise Hill cipher with block scrambling" : "Block-wise Hill cipher (the study's cipher)",
    reference: scrambled
      ? "the study's block-wise Hill cipher, with the block scrambling of Kiya et al.'s EtC schemes"
      : "the study's block-wise Hill cipher: each k×k block and channel p ↦ p·K_ch with a secret real k²×k² matrix",
    structure: "linear",
    blockAligned: !scrambled,
    uint8Ciphertext: false,
    keySpace: (k, c, grid) => {
      const m = grid ? grid.gh * grid.gw : 0;
      return {
        bits: Number.POSITIVE_INFINITY,
        description:
          `${c} real ${k * k}×${k * k} matrices (a continuum; mod256 keys: at most ${8 * c * k ** 4} bits)` +
          (scrambled
            ? `, and a 256-bit seed for the block permutation${m ? ` (log₂(${m}!) = ${log2Factorial(m).toFixed(0)} bits on this grid)` : ""}`
            : ""),
      };
    },
    encrypt: (data, dims, key, out) => {
      const k = hillKey(key, scrambled);
      return (
        data instanceof Uint8Array
          ? encryptUint8(data, dims, k, out as Uint8Array | undefined)
          : encrypt(data, dims, k, out as Float32Array | undefined)
      ) as typeof data;
    },
    decrypt: (data, dims, key, out) => {
      const k = hillKey(key, scrambled);
      return (
        data instanceof Uint8Array
          ? decryptUint8(data, dims, k, out as Uint8Array | undefined)
          : decrypt(data, dims, k, out as Float32Array | undefined)
      ) as typeof data;
    },
  };
}

export const HILL: Scheme = hillScheme(false);
export const HILL_SCRAMBLE: Scheme = hillScheme(true);
