/**
 * How much an attack's key estimate reveals, measured with the true key (the client's, used locally and only to
 * measure): PSNR and SSIM of the decryptions, the re-identification rate against a pool of the store's own
 * plaintexts, and the ciphertext's no-attack leak. Shared by `ercnn attack --eval-key` and `ercnn audit`.
 *
 * Layering: src/audit/ sits above data, models, train and report, below cli (it orchestrates them).
 */
import { applyBlockwise64, psnr, relativeError } from "../attack/index.ts";
import { type CipherKey, inverseKey } from "../cipher/index.ts";
import { writeFileAtomic } from "../core/atomic.ts";
import type { Store } from "../data/index.ts";
import { decryptStoreValues } from "../data/store-cipher.ts";
import {
  blockActivity,
  type NoAttackLeak,
  noAttackLeak,
  type Reidentification,
  reidentificationRate,
} from "../report/leakage.ts";
import { ssim } from "../report/metrics.ts";
import { decryptionPicture } from "../report/pictures.ts";
import { storeLabels } from "../train/labels.ts";

/** Images read from an audited store: ciphertexts, their plaintexts (with the key), labels, store positions. */
export interface StoreSample {
  cipher: Float32Array;
  plain: Float32Array;
  labels: Int32Array;
  positions: number[];
  dims: { n: number; c: number; h: number; w: number };
}

/** `count` positions spread evenly over 0..total−1 (so a class-sorted store shows every part of it). */
export function spreadPositions(total: number, count: number): number[] {
  const m = Math.min(count, total);
  return Array.from({ length: m }, (_, i) => Math.floor((i * total) / m));
}

/** Reads the images at `positions` (sorted ascending) shard by shard, and decrypts them with the key. */
export function readSample(store: Store, positions: number[], key: CipherKey): StoreSample {
  const [c, h, w] = store.shape;
  const cipher = store.readPositions(positions);
  const all = storeLabels(store);
  const dims = { n: positions.length, c, h, w };
  return {
    cipher,
    plain: decryptStoreValues(cipher, { ...dims, layout: "CHW" }, key),
    labels: Int32Array.from(positions, (p) => all[p]),
    positions,
    dims,
  };
}

export interface AttackMeasures {
  /** Images the quality measures averaged over. */
  images: number;
  /** PSNR (dB) of the estimate's decryption, clipped to [0, 1], over all the measured images' pixels. */
  psnr: number;
  /** Mean SSIM of the same decryptions. */
  ssim: number;
  /** Re-identification among `pool` plaintexts of the store. */
  reid: Reidentification;
  /** What the ciphertext shows with no attack. */
  leak: NoAttackLeak;
  /** ‖K̂⁻¹ − K⁻¹‖ / ‖K⁻¹‖. */
  keyInverseError: number;
  /** Indices (into the pool) of the measured images. */
  measured: number[];
  /** The estimate's decryptions of the measured images, clipped to [0, 1]. */
  decrypted: Float32Array;
}

/** Pool and measured sample of a store: `pool` images spread over the store, `count` of them spread over the pool. */
export function measurePlan(total: number, pool: number, count: number): { pool: number[]; measured: number[] } {
  const poolPos = spreadPositions(total, pool);
  return { pool: poolPos, measured: spreadPositions(poolPos.length, count) };
}

/**
 * Measures a key estimate (`estimateInverse`, C×n×n, p ≈ c·K̂⁻¹) on a sample read with `readSample`: `measured`
 * indexes the sample's images that are decrypted and scored; the whole sample is the re-identification pool.
 */
export function measureAttack(
  sample: StoreSample,
  measured: number[],
  estimateInverse: Float64Array,
  key: CipherKey,
): AttackMeasures {
  const { c, h, w } = sample.dims;
  const per = c * h * w;
  const m = measured.length;
  const cipher = new Float32Array(m * per);
  const plain = new Float32Array(m * per);
  for (const [i, q] of measured.entries()) {
    cipher.set(sample.cipher.subarray(q * per, (q + 1) * per), i * per);
    plain.set(sample.plain.subarray(q * per, (q + 1) * per), i * per);
  }
  const dims = { n: m, c, h, w };
  const raw = applyBlockwise64(cipher, { ...dims, layout: "CHW" }, estimateInverse, key.blockSize);
  const decrypted = Float32Array.from(raw, (v) => Math.min(1, Math.max(0, v)));
  return {
    images: m,
    psnr: psnr(decrypted, plain),
    ssim: ssim(decrypted, plain, dims),
    reid: reidentificationRate(decrypted, sample.plain, measured, { c, h, w }),
    leak: noAttackLeak(cipher, plain, dims, key.blockSize),
    keyInverseError: relativeError(estimateInverse, inverseKey(key)),
    measured,
    decrypted,
  };
}

/** Picture rows ciphertext | attack decryption | plaintext for the measured images `rows` (indices into measured). */
export async function writeAttackPicture(
  path: string,
  sample: StoreSample,
  m: AttackMeasures,
  rows: number[],
): Promise<void> {
  await writeFileAtomic(path, await attackPicture(sample, m, rows));
}

export async function attackPicture(sample: StoreSample, m: AttackMeasures, rows: number[]): Promise<Buffer> {
  const { c, h, w } = sample.dims;
  const per = c * h * w;
  return decryptionPicture(
    rows.map((i) => {
      const q = m.measured[i];
      return {
        cipher: sample.cipher.subarray(q * per, (q + 1) * per),
        adapt: m.decrypted.subarray(i * per, (i + 1) * per),
        plain: sample.plain.subarray(q * per, (q + 1) * per),
      };
    }),
    { c, h, w },
    { titles: { adapt: "attack decryption" } },
  );
}

/**
 * Picture rows "ciphertext block activity (no key) | plaintext": what the ciphertext alone shows. The activity map
 * (h/k × w/k) is upsampled to h×w and repeated over the channels.
 */
export async function leakPicture(sample: StoreSample, k: number, rows: number[]): Promise<Buffer> {
  const { c, h, w } = sample.dims;
  const per = c * h * w;
  const bw = w / k;
  return decryptionPicture(
    rows.map((q) => {
      const one = sample.cipher.subarray(q * per, (q + 1) * per);
      const act = blockActivity(one, { n: 1, c, h, w }, k);
      const img = new Float32Array(per);
      for (let ch = 0; ch < c; ch++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) img[(ch * h + y) * w + x] = act[Math.floor(y / k) * bw + Math.floor(x / k)];
      return { cipher: img, plain: sample.plain.subarray(q * per, (q + 1) * per) };
    }),
    { c, h, w },
    { titles: { cipher: "no key: activity", plain: "plaintext" } },
  );
}
