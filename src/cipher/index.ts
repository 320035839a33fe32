/**
 * ercnn cipher: block-wise Hill cipher over the reals (and mod 256), in pure TypeScript on typed arrays
 * (Web Crypto + WebAssembly only; no Node built-ins), usable in a browser page.
 *
 * Ciphertext values are NOT in [0, 1]; see block.ts. Never log key values; print shortFingerprint(key).
 * What the page needs and nothing else: the attacks on this cipher live in src/attack/.
 */

export {
  conditionNumber,
  invert,
  invertMod256,
  singularValues,
  symmetricEigen,
  symmetricFunction,
} from "../core/linalg.ts";
export { isNpy, type NpyArray, type NpyDtype, NpyError, readNpy, writeNpy } from "../core/npy.ts";
export { ChaCha20Random, mulberry32, randomSource, sha256, toHex } from "../core/rng.ts";
export {
  type CipherBackend,
  CipherError,
  cipherBackend,
  cropTo,
  decrypt,
  decryptUint8,
  encrypt,
  encryptUint8,
  type ImageDims,
  type Layout,
  padToBlockMultiple,
  setCipherBackend,
} from "./block.ts";
export {
  type ConvWeight,
  conv2dStridedReference,
  decryptionConvWeight,
  encryptionConvWeight,
  pixelShuffle,
  pixelShuffleConvTransposeWeight,
} from "./conv.ts";
export {
  type CipherKey,
  canonicalKeyBytes,
  computeFingerprint,
  generateKey,
  inverseKey,
  KEY_FORMAT,
  KEY_MODES,
  KeyError,
  type KeyMode,
  keyFromJson,
  keyToJson,
  MAX_GENERATED_CONDITION,
  MAX_LOADED_CONDITION,
  makeKey,
  shortFingerprint,
  validateKeyMaterial,
} from "./key.ts";
export { keyFromNpy, keyToNpy } from "./keynpy.ts";
export {
  blockPermutation,
  inversePermutation,
  permuteBlocks,
  SCRAMBLE_SCHEME,
  type ScrambleSpec,
} from "./scramble.ts";
