/**
 * Encryption of store values, for every key mode. Stores hold float32 N×C×H×W:
 *  - real keys (uniform, orthogonal): c = p·K_ch of pixels p in [0, 1];
 *  - mod256 keys (integer Hill cipher): (P·K_ch mod 256) / 255 of the 0-255 pixels P, so ciphertexts stay in [0, 1]
 *    and round trips are exact (P = round(255·p) recovers the pixels bit for bit).
 *  - keys of the other schemes (src/cipher/schemes; all map bytes to bytes): the scheme's ciphertext bytes of the
 *    0-255 pixels P, over 255, so round trips are exact as for mod256.
 * Pure TypeScript on typed arrays (no Node built-ins), like src/cipher.
 */
import { decrypt, decryptUint8, encrypt, encryptUint8, type ImageDims } from "../cipher/index.ts";
import { decryptWith, encryptWith, isHillKey, type SchemeKey } from "../cipher/schemes/index.ts";

function toBytes(x: Float32Array): Uint8Array {
  const u = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) u[i] = Math.min(255, Math.max(0, Math.round(x[i] * 255)));
  return u;
}

function toUnit(u: Uint8Array): Float32Array {
  const x = new Float32Array(u.length);
  for (let i = 0; i < u.length; i++) x[i] = u[i] / 255;
  return x;
}

/** Plain pixels in [0, 1] → store values under `key`. */
export function encryptStoreValues(x: Float32Array, dims: ImageDims, key: SchemeKey): Float32Array {
  if (!isHillKey(key)) return toUnit(encryptWith(toBytes(x), dims, key));
  return key.mode === "mod256" ? toUnit(encryptUint8(toBytes(x), dims, key)) : encrypt(x, dims, key);
}

/** Store values under `key` → plain pixels in [0, 1]. */
export function decryptStoreValues(x: Float32Array, dims: ImageDims, key: SchemeKey): Float32Array {
  if (!isHillKey(key)) return toUnit(decryptWith(toBytes(x), dims, key));
  return key.mode === "mod256" ? toUnit(decryptUint8(toBytes(x), dims, key)) : decrypt(x, dims, key);
}

/** What a store's values are (meta.json "pixels"). */
export function storeValuesDescription(key: SchemeKey | null): string {
  if (!key) return "plain RGB pixels scaled to [0,1]";
  if (!isHillKey(key)) return `${key.scheme} ciphertext bytes (k×k blocks of 0-255 RGB pixels) scaled to [0,1]`;
  if (key.mode === "mod256") return "(P·K_ch mod 256)/255 of k×k blocks (row-major) of 0-255 RGB pixels P";
  return "ciphertext c = p·K_ch of k×k blocks (row-major) of RGB pixels scaled to [0,1]";
}
