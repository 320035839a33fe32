/**
 * Which of ercnn's attacks applies to which scheme, as data (SCHEME_ATTACKS), and the signed-permutation solver run
 * on stores. `ercnn attack` and `ercnn audit` read a store's scheme from its meta.json and take the attack listed
 * here; a scheme with none gets a plain statement that nothing here recovers it, which is not a proof of safety.
 */
import type { SchemeKey, SchemeName } from "../cipher/schemes/index.ts";
import { pixelShuffleNpParams, schemeOf } from "../cipher/schemes/index.ts";
import { DataError, type Store, type StoreKeyInfo } from "../data/index.ts";
import { attackSignedPermutation, type SignedPermutationAttackResult } from "./signed-permutation.ts";

/** The attack for each scheme: the statistical attack (the jigsaw first when blocks are moved), the solver restricted
 * to signed permutations, or none. */
export type SchemeAttack = "statistical" | "signed-permutation" | null;

export const SCHEME_ATTACKS: Readonly<Record<SchemeName, SchemeAttack>> = {
  hill: "statistical",
  "hill-scramble": "statistical",
  "pixel-shuffle-np": "signed-permutation",
  le: null,
  etc: null,
  ffx: null,
};

/** The scheme a store was written with (meta.json key.scheme; absent: a Hill key, scrambled or not). */
export function storeScheme(key: StoreKeyInfo): SchemeName {
  return key.scheme ?? (key.scrambled ? "hill-scramble" : "hill");
}

/** What ercnn says of a store whose scheme no attack of ercnn applies to. */
export function noAttackMessage(scheme: SchemeName): string {
  return `no attack of ercnn applies to scheme ${scheme}: resisted these attacks (none), which is not a proof of safety`;
}

/** Images the solver reads from each store by default (it recovers keys from 20 ciphertexts in tests). */
export const SIGNED_PERMUTATION_IMAGES = 1000;

/** The signed-permutation solver on an encrypted store's ciphertexts, with a plain store's images as the reference. */
export function attackSignedPermutationStore(
  encrypted: Store,
  reference: Store,
  opts: { limit?: number } = {},
): SignedPermutationAttackResult & { images: { cipher: number; reference: number } } {
  const key = encrypted.meta.key;
  if (!key) throw new DataError(`store ${encrypted.dir} is not encrypted: nothing to attack`, "NOT_ENCRYPTED");
  if (reference.meta.key)
    throw new DataError(`reference store ${reference.dir} is encrypted; give a store of plain images`, "NOT_PLAIN");
  if (reference.shape.join() !== encrypted.shape.join())
    throw new DataError(
      `reference store ${reference.dir} holds ${reference.shape.join("×")} images, ${encrypted.dir} ` +
        `${encrypted.shape.join("×")}: the signed-permutation solver needs the same size`,
      "SHAPE",
    );
  const limit = opts.limit ?? SIGNED_PERMUTATION_IMAGES;
  const first = (s: Store) => Array.from({ length: Math.min(s.count, limit) }, (_, i) => i);
  const cp = first(encrypted);
  const rp = first(reference);
  const [c, h, w] = encrypted.shape;
  const r = attackSignedPermutation({
    ciphertexts: encrypted.readPositions(cp),
    reference: reference.readPositions(rp),
    c,
    h,
    w,
    blockSize: key.blockSize,
  });
  return { ...r, images: { cipher: cp.length, reference: rp.length } };
}

/** How many block coordinates the estimate got right (position and sign) against the true pixel-shuffle-np key. */
export function signedPermutationAgreement(est: SignedPermutationAttackResult, truth: SchemeKey): number {
  if (schemeOf(truth) !== "pixel-shuffle-np") throw new DataError("the true key is not a pixel-shuffle-np key", "KEY");
  const t = pixelShuffleNpParams(truth);
  let ok = 0;
  for (let j = 0; j < t.perm.length; j++) if (est.perm[j] === t.perm[j] && est.flip[j] === t.flip[j]) ok++;
  return ok;
}
