/**
 * Bulk cipher path through the libtorch binding, kept as a benchmark reference (bench/cipher.ts), not a product path:
 * for `ercnn encrypt` it does not clearly pay. Measured per 224×224 image (k = 8, one thread, one process, on the
 * loaded shared 2-core machine, so only ratios count): decode + resize of a 500×375 JPEG 13.4 ms, the wasm cipher
 * 24.9 ms, this path 17.1 ms (conv) / 22.4 ms (matmul) — at most ~20% of a whole import, for 6× the round-trip error
 * (float32 accumulation: 3.9e-5 vs 6.6e-6) and libtorch in every encrypt worker; the client-side cipher (src/cipher,
 * which the browser page bundles) must stay native-free anyway.
 *
 * Same math as src/cipher/block.ts (c = p·K_ch per k×k block, row-major flattening), done as one batched matmul
 * per call: the batch is viewed as [C, N·(H/k)·(W/k), k²] by reshape/permute, multiplied by K ([C, k², k²]),
 * and permuted back. Alternatively `method: "conv"` uses the conv form (grouped strided conv2d + pixel_shuffle,
 * see src/cipher/conv.ts), which libtorch runs faster for small blocks.
 *
 * Precision: float32 by default (float32 accumulation in BLAS — round-trip error is larger than the pure-TS
 * path's float64 accumulation, ~1e-5 relative for k = 8 uniform keys); `dtype: "float64"` gives the TS path's
 * accuracy at lower speed. The ciphertext range is not [0, 1].
 */

import { checkDims, type Geometry } from "../src/cipher/block.ts";
import { type CipherKey, type ImageDims, inverseKey } from "../src/cipher/index.ts";
import { F, fromTypedArray, type Tensor, tidy } from "../src/torch/index.ts";

export interface TorchCipherOptions {
  dtype?: "float32" | "float64";
  method?: "matmul" | "conv";
  /**
   * Work on chunks of whole images of about this many bytes (default 1 MiB), so that the copy-in, the block permute,
   * the matmul and the copy-out of one chunk stay in cache instead of streaming the whole batch through memory
   * five times; 0 = the whole batch at once.
   */
  chunkBytes?: number;
}

/** A key prepared as libtorch tensors for repeated bulk encryption/decryption. Call dispose() when done. */
export class TorchCipher {
  readonly dtype: "float32" | "float64";
  readonly method: "matmul" | "conv";
  readonly chunkBytes: number;
  private enc: Tensor;
  private dec: Tensor;
  private encW: Tensor;
  private decW: Tensor;

  constructor(
    readonly key: CipherKey,
    opts: TorchCipherOptions = {},
  ) {
    if (key.mode === "mod256") throw new Error("TorchCipher: mod256 keys use encryptUint8/decryptUint8 (src/cipher)");
    this.dtype = opts.dtype ?? "float32";
    this.method = opts.method ?? "matmul";
    this.chunkBytes = opts.chunkBytes ?? 1 << 20;
    const n = key.blockSize * key.blockSize;
    const C = key.channels;
    const k = key.blockSize;
    const mk = (v: Float64Array) => fromTypedArray(v, [C, n, n], { dtype: this.dtype });
    this.enc = mk(key.values);
    this.dec = mk(inverseKey(key));
    // conv weights OIHW [C·n, 1, k, k]: W[ch·n + j][0][r][q] = K[ch][r·k + q][j]  ⇒  K.permute(0, 2, 1)
    const convW = (m: Tensor) =>
      tidy(() =>
        m
          .permute(0, 2, 1)
          .contiguous()
          .reshape(C * n, 1, k, k),
      );
    this.encW = convW(this.enc);
    this.decW = convW(this.dec);
  }

  private apply(data: Float32Array, dims: ImageDims, m: Tensor, w: Tensor, out?: Float32Array): Float32Array {
    const g = checkDims("TorchCipher", data.length, dims, this.key);
    const dst = out ?? new Float32Array(data.length);
    if (dst.length !== data.length)
      throw new Error(`TorchCipher: out has ${dst.length} elements, the input ${data.length}`);
    const per = g.c * g.h * g.w;
    const chunk = this.chunkBytes > 0 ? Math.max(1, Math.floor(this.chunkBytes / (per * 4))) : g.n;
    for (let i = 0; i < g.n; i += chunk) {
      const nn = Math.min(chunk, g.n - i);
      this.applyChunk(
        data.subarray(i * per, (i + nn) * per),
        { ...g, n: nn },
        m,
        w,
        dst.subarray(i * per, (i + nn) * per),
      );
    }
    return dst;
  }

  private applyChunk(data: Float32Array, g: Geometry, m: Tensor, w: Tensor, out: Float32Array): void {
    const { n: N, c: C, h: H, w: W, k } = g;
    const n = k * k;
    const bh = H / k;
    const bw = W / k;
    tidy(() => {
      const x = fromTypedArray(data, [N, ...(g.layout === "CHW" ? [C, H, W] : [H, W, C])], { dtype: this.dtype });
      let y: Tensor;
      if (this.method === "conv") {
        const xc = g.layout === "CHW" ? x : x.permute(0, 3, 1, 2);
        const z = F.pixelShuffle(F.conv2d(xc, w, null, k, 0, 1, C), k);
        y = g.layout === "CHW" ? z : z.permute(0, 2, 3, 1);
      } else if (g.layout === "CHW") {
        const b = x
          .reshape(N, C, bh, k, bw, k)
          .permute(1, 0, 2, 4, 3, 5)
          .reshape(C, N * bh * bw, n);
        y = b.matmul(m).reshape(C, N, bh, bw, k, k).permute(1, 0, 2, 4, 3, 5);
      } else {
        const b = x
          .reshape(N, bh, k, bw, k, C)
          .permute(5, 0, 1, 3, 2, 4)
          .reshape(C, N * bh * bw, n);
        y = b.matmul(m).reshape(C, N, bh, bw, k, k).permute(1, 2, 4, 3, 5, 0);
      }
      // one pass from the permuted view straight into the caller's (or a new) array
      y.copyTo(out);
    });
  }

  encrypt(data: Float32Array, dims: ImageDims, out?: Float32Array): Float32Array {
    return this.apply(data, dims, this.enc, this.encW, out);
  }

  decrypt(data: Float32Array, dims: ImageDims, out?: Float32Array): Float32Array {
    return this.apply(data, dims, this.dec, this.decW, out);
  }

  dispose(): void {
    for (const t of [this.enc, this.dec, this.encW, this.decW]) t.dispose();
  }
}
