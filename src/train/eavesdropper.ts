// The provider as eavesdropper: the adaptation network's output shown as a "decrypted" image, and measured.
// A fixed set of validation ciphertexts is kept; with an evaluation key (used for measurement only, never for
// training) their plaintexts give PSNR/SSIM of the affine-fitted adaptation output, and for the aligned
// adaptation the composed linear map is compared with K⁻¹.
import { type CipherKey, inverseKey } from "../cipher/index.ts";
import { writeFileAtomic } from "../core/atomic.ts";
import { type Normalization, normalizeInPlace, type Store } from "../data/index.ts";
import { decryptStoreValues } from "../data/store-cipher.ts";
import type { ERModel } from "../models/index.ts";
import { noAttackLeak, reidentificationRate } from "../report/leakage.ts";
import { composedAdaptationMap, decryptionQuality, keyMapError } from "../report/metrics.ts";
import { decryptionPicture } from "../report/pictures.ts";
import { fromTypedArray, noGrad, tidy } from "../torch/index.ts";
import { writingTo } from "./run-dir.ts";

export interface Quality {
  psnr?: number;
  ssim?: number;
  psnrRaw?: number;
  mapError?: number;
  /**
   * Share of the kept samples whose adaptation output correlates best with their own plaintext among the kept
   * samples' plaintexts (a small pool: chance 1/n).
   */
  reid?: number;
  /** Correlation of the ciphertext's block-activity map with the plaintext's (the no-attack leak; see leakage.ts). */
  edgeCorrelation?: number;
}

export class Eavesdropper {
  readonly n: number;
  /** Store positions of the kept samples. */
  readonly positions: number[];
  readonly dims: { n: number; c: number; h: number; w: number };
  private readonly cipher: Float32Array;
  private readonly input: Float32Array;
  private readonly plain: Float32Array | null;

  /**
   * Keeps `count` of `candidates` (store positions, e.g. the validation split), evenly spaced over the list so that
   * a class-sorted store shows several classes; reads only the shards they fall in.
   */
  constructor(
    store: Store,
    candidates: ArrayLike<number>,
    count: number,
    norm: Normalization | null,
    private readonly key: CipherKey | null,
  ) {
    const [c, h, w] = store.shape;
    const per = c * h * w;
    const m = Math.min(count, candidates.length);
    const picked = Array.from({ length: m }, (_, i) => candidates[Math.floor((i * candidates.length) / m)]);
    this.n = picked.length;
    this.positions = picked;
    this.dims = { n: this.n, c, h, w };
    this.cipher = new Float32Array(this.n * per);
    const starts: number[] = [];
    let off = 0;
    for (const sh of store.meta.shards) {
      starts.push(off);
      off += sh.count;
    }
    const cache = new Map<number, Float32Array>();
    for (const [i, p] of picked.entries()) {
      let s = starts.length - 1;
      while (s > 0 && starts[s] > p) s--;
      let xs = cache.get(s);
      if (!xs) {
        xs = store.readShard(s).x;
        cache.set(s, xs);
      }
      const q = p - starts[s];
      this.cipher.set(xs.subarray(q * per, (q + 1) * per), i * per);
    }
    this.input = this.cipher.slice();
    if (norm) normalizeInPlace(this.input, this.n, c, h * w, norm);
    this.plain = key ? decryptStoreValues(this.cipher, { n: this.n, c, h, w, layout: "CHW" }, key) : null;
  }

  /** The adaptation output for the kept samples (eval mode, no gradients), N×C×H×W. */
  adaptOutput(model: ERModel): Float32Array {
    const wasTraining = model.training;
    model.eval();
    try {
      return tidy(() =>
        noGrad(() =>
          model
            .adaptOutput(fromTypedArray(this.input, [this.n, this.dims.c, this.dims.h, this.dims.w]))
            .toFloat32Array(),
        ),
      );
    } finally {
      model.train(wasTraining);
    }
  }

  /** PSNR/SSIM against the plaintexts and the key-map error (needs the evaluation key). */
  measure(model: ERModel): Quality {
    if (!this.plain || this.n === 0) return {};
    const out = this.adaptOutput(model);
    const q = decryptionQuality(out, this.plain, this.dims);
    const { c, h, w } = this.dims;
    const result: Quality = {
      psnr: q.psnr,
      ssim: q.ssim,
      psnrRaw: q.rawPsnr,
      reid: reidentificationRate(
        out,
        this.plain,
        Array.from({ length: this.n }, (_, i) => i),
        { c, h, w },
        "correlation",
      ).rate,
    };
    if (this.key && h % this.key.blockSize === 0 && w % this.key.blockSize === 0)
      result.edgeCorrelation = noAttackLeak(this.cipher, this.plain, this.dims, this.key.blockSize).edgeCorrelation;
    const a = model.adapt;
    if (a.kind === "aligned" && a.conv && a.deconv && this.key) {
      const k = a.blockSize;
      const m = composedAdaptationMap(
        a.conv.weight.toFloat32Array(),
        a.conv.bias!.toFloat32Array(),
        a.deconv.weight.toFloat32Array(),
        a.deconv.bias!.toFloat32Array(),
        k,
      );
      result.mapError = keyMapError(m.M, inverseKey(this.key), this.dims.c, k).relError;
    }
    return result;
  }

  /** Writes the ciphertext | adaptation output | plaintext picture. */
  async picture(model: ERModel, path: string): Promise<void> {
    if (this.n === 0) return;
    const out = this.adaptOutput(model);
    const per = this.dims.c * this.dims.h * this.dims.w;
    const rows = Array.from({ length: this.n }, (_, i) => ({
      cipher: this.cipher.subarray(i * per, (i + 1) * per),
      adapt: out.subarray(i * per, (i + 1) * per),
      plain: this.plain ? this.plain.subarray(i * per, (i + 1) * per) : undefined,
    }));
    const png = await decryptionPicture(rows, { c: this.dims.c, h: this.dims.h, w: this.dims.w }, { titles: true });
    await writingTo(path, "the decryption picture", () => writeFileAtomic(path, png));
  }
}
