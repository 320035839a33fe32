/** The learnable-encryption schemes (registry.ts) and their parts, for the rest of ercnn. */
export type { Pixels } from "./blocks.ts";
export { applyEtc, type EtcParams, etcParams } from "./etc.ts";
export { applyFfx, ffxParams } from "./ffx.ts";
export { applyLe, leParams } from "./le.ts";
export { applySignedPermutation, pixelShuffleNpParams, type SignedPermutation } from "./pixel-shuffle-np.ts";
export {
  DEFAULT_SCHEME,
  decryptWith,
  encryptWith,
  generateSchemeKey,
  isHillKey,
  SCHEME_NAMES,
  SCHEMES,
  schemeByName,
  schemeKeyFromJson,
  schemeKeyToJson,
  schemeOf,
} from "./registry.ts";
export type { SeededKey } from "./seeded-key.ts";
export type { KeySpace, Scheme, SchemeKey, SchemeName, SchemeStructure } from "./types.ts";
