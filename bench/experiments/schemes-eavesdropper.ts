/**
 * The same eavesdropper for every scheme (schemes.ts): the attack SCHEME_ATTACKS lists for the scheme, run on the
 * encrypted training store with public plain photos as the reference, and the same measures of what it recovers
 * (PSNR and SSIM of its decryptions against the true plaintexts, re-identification among a pool of the store's
 * plaintexts, how many ciphertexts it read). The Hill schemes go through `ercnn audit` (the statistical attack, the
 * jigsaw first for scrambled keys); pixel-shuffle-np through the signed-permutation solver, whose estimate decrypts
 * the same measured images. Every scheme also gets the no-attack baseline: the ciphertext read as an image.
 * The true key is used here only to decrypt the measured images for scoring, as the audit does.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { attackSignedPermutationStore, SCHEME_ATTACKS } from "../../src/attack/scheme-attacks.ts";
import { AUDIT_DEFAULTS } from "../../src/audit/audit.ts";
import { measurePlan } from "../../src/audit/measure.ts";
import type { SchemeKey, SchemeName } from "../../src/cipher/schemes/index.ts";
import { applySignedPermutation } from "../../src/cipher/schemes/index.ts";
import { Store } from "../../src/data/index.ts";
import { decryptStoreValues } from "../../src/data/store-cipher.ts";
import { reidentificationRate } from "../../src/report/leakage.ts";
import { clip, PSNR_CAP_DB, psnr, ssim } from "../../src/report/metrics.ts";

export interface Recovery {
  psnr: number;
  ssim: number;
  /** Share of decryptions whose nearest pool plaintext is their own. */
  reid: number;
}

export interface Eavesdropping {
  /** The attack that applied, or null: "resisted these attacks" (none of ercnn's applies), never "safe". */
  attack: string | null;
  recovered: Recovery | null;
  /** Ciphertexts the attack read (its statistics), and its wall time. */
  ciphertexts: number | null;
  seconds: number | null;
  /** The ciphertext itself read as an image: what any eavesdropper sees without an attack. */
  noAttack: Recovery;
  /** Re-identification by guessing (1 / pool). */
  chance: number;
  /** A scrambling key: the jigsaw's share of block positions put right, from how many ciphertexts (the audit's). */
  jigsaw?: { correct: number; images: number } | null;
}

/**
 * How many ciphertexts each attack reads (at most; the store may hold fewer): the audit's statistics and jigsaw, and
 * the signed-permutation solver at the statistics' budget. A kept eavesdropper row is reused only under the same.
 */
export const EAVESDROPPER_BUDGET = {
  statsImages: AUDIT_DEFAULTS.statsImages,
  jigsawImages: AUDIT_DEFAULTS.jigsawImages,
  solverImages: AUDIT_DEFAULTS.statsImages,
} as const;

export interface EavesdropOptions {
  scheme: SchemeName;
  store: string;
  keyFile: string;
  key: SchemeKey;
  reference: string;
  pool: number;
  measured: number;
  /** Where `ercnn audit` writes its JSON. */
  auditJson: string;
}

/** The measures of `recovered` (NCHW, the measured images) against their plaintexts, re-identified in `pool`. */
function measure(
  recovered: Float32Array,
  plain: Float32Array,
  poolPlain: Float32Array,
  truth: number[],
  dims: number[],
) {
  const [c, h, w] = dims;
  const n = truth.length;
  const x = clip(recovered, 0, 1);
  return {
    // capped as the audit caps it: an exact recovery has no finite PSNR
    psnr: Math.min(psnr(x, plain), PSNR_CAP_DB),
    ssim: ssim(x, plain, { n, c, h, w }),
    reid: reidentificationRate(x, poolPlain, truth, { c, h, w }).rate,
  };
}

function runAudit(o: EavesdropOptions): Pick<Eavesdropping, "recovered" | "ciphertexts" | "seconds" | "jigsaw"> {
  const args = ["bin/ercnn.js", "audit", o.store, "--reference", o.reference, "-k", o.keyFile, "--json", o.auditJson];
  args.push("--recogniser-epochs", "0", "--pool", String(o.pool), "--measured", String(o.measured), "-q");
  const r = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 26 });
  let j: {
    measures: { psnr: number; ssim: number; reid: { rate: number } };
    statsImages: { cipher: number };
    attackSeconds: number;
    scramble: { correct: number; images: number } | null;
  };
  try {
    j = JSON.parse(readFileSync(o.auditJson, "utf8"));
  } catch {
    throw new Error(`ercnn audit of ${o.store} wrote no JSON (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
  }
  const m = j.measures;
  return {
    recovered: { psnr: m.psnr, ssim: m.ssim, reid: m.reid.rate },
    ciphertexts: j.statsImages.cipher,
    seconds: j.attackSeconds,
    jigsaw: j.scramble ? { correct: j.scramble.correct, images: j.scramble.images } : null,
  };
}

/** The attack for `o.scheme` and the no-attack baseline, on the same measured images and pool. */
export function eavesdrop(o: EavesdropOptions): Eavesdropping {
  const store = Store.open(o.store);
  const dims = store.shape;
  const [c, h, w] = dims;
  const plan = measurePlan(store.count, o.pool, o.measured);
  const cipherPool = store.readPositions(plan.pool);
  const poolPlain = decryptStoreValues(cipherPool, { n: plan.pool.length, c, h, w, layout: "CHW" }, o.key);
  const per = c * h * w;
  const pick = (x: Float32Array) => {
    const out = new Float32Array(plan.measured.length * per);
    for (const [i, p] of plan.measured.entries()) out.set(x.subarray(p * per, (p + 1) * per), i * per);
    return out;
  };
  const plain = pick(poolPlain);
  const cipher = pick(cipherPool);
  const noAttack = measure(cipher, plain, poolPlain, plan.measured, dims);
  const base = { noAttack, chance: 1 / plan.pool.length };
  const which = SCHEME_ATTACKS[o.scheme];
  if (which === null) return { ...base, attack: null, recovered: null, ciphertexts: null, seconds: null };
  if (which === "statistical") return { ...base, attack: "statistical (ercnn audit)", ...runAudit(o) };
  const t0 = performance.now();
  const est = attackSignedPermutationStore(store, Store.open(o.reference), { limit: EAVESDROPPER_BUDGET.solverImages });
  const seconds = (performance.now() - t0) / 1000;
  const dec = applySignedPermutation(est, cipher, { n: plan.measured.length, c, h, w, layout: "CHW" }, "decrypt");
  return {
    ...base,
    attack: "signed-permutation solver",
    recovered: measure(dec, plain, poolPlain, plan.measured, dims),
    ciphertexts: est.images.cipher,
    seconds,
  };
}
