/**
 * Augmentation for N×C×H×W float batches.
 *
 * Why only block-aligned translations are valid on ciphertext: the cipher maps every aligned k×k block of a channel,
 * flattened row-major to p, to c = p·K_ch, independently of the other blocks and of the block's position. Shifting an
 * image by (dy, dx) with both multiples of k moves whole blocks to other aligned block positions, so
 * shift(Enc(x)) = Enc(shift(x)): the result is exactly the ciphertext of a translated plaintext under the same key.
 * Zero padding is also valid, because a black (all-zero) block encrypts to an all-zero block (c = 0·K = 0).
 *
 * A horizontal flip reverses the pixel order inside every block as well as the block order: flip(c) = p·K·P for the
 * in-block permutation P, while the ciphertext of the flipped image is p·P·K; the two differ unless K commutes with P,
 * which a random key never does. A crop or shift by an offset that is not a multiple of k makes every k×k window
 * straddle 2–4 cipher blocks, mixing unrelated ciphertexts: no plaintext encrypts to it. Colour jitter, rotation,
 * scaling and blur are likewise not the image of any plaintext transform. Such augmentations would teach the model
 * inputs that never occur at test time, and destroy the block structure the adaptation network must invert.
 *
 * What IS valid is mirroring the block order while keeping every block's content: out block (by, bx) = in block
 * (by, W/k − 1 − bx). That is again the ciphertext of a plaintext (the image whose k×k blocks were mirrored as tiles,
 * each tile unmirrored), which at block granularity looks like the mirrored image (option `blockFlip`).
 *
 * The "plain" augmentation (random crop with 4-pixel zero padding and horizontal flip, the usual CIFAR recipe) is for
 * plaintext pretraining only.
 */

export type AugmentMode = "cipher-safe" | "plain" | "none";

/**
 * Translates one C×H×W image from `src` (offset `so`) into `dst` (offset `do_`) by (dy, dx), filling with zeros.
 * out[y][x] = in[y - dy][x - dx]. With `flip`, the source row is mirrored first: pixel by pixel (flipBlock = 1), or
 * as whole blocks of `flipBlock` pixels, each kept in its own order (the cipher-safe block flip).
 */
export function translate(
  src: Float32Array,
  so: number,
  dst: Float32Array,
  do_: number,
  c: number,
  h: number,
  w: number,
  dy: number,
  dx: number,
  flip = false,
  flipBlock = 1,
): void {
  const nbw = w / flipBlock;
  if (flip && !Number.isInteger(nbw)) throw new Error(`translate: width ${w} is not a multiple of ${flipBlock}`);
  const hw = h * w;
  for (let ch = 0; ch < c; ch++) {
    const sBase = so + ch * hw;
    const dBase = do_ + ch * hw;
    for (let y = 0; y < h; y++) {
      const sy = y - dy;
      const dRow = dBase + y * w;
      if (sy < 0 || sy >= h) {
        dst.fill(0, dRow, dRow + w);
        continue;
      }
      const sRow = sBase + sy * w;
      if (!flip) {
        const x0 = Math.max(0, dx);
        const x1 = Math.min(w, w + dx);
        if (x0 > 0) dst.fill(0, dRow, dRow + x0);
        if (x1 < w) dst.fill(0, dRow + x1, dRow + w);
        if (x1 > x0) dst.set(src.subarray(sRow + x0 - dx, sRow + x1 - dx), dRow + x0);
      } else {
        for (let x = 0; x < w; x++) {
          const u = x - dx;
          const r = ((u % flipBlock) + flipBlock) % flipBlock;
          const sx = (nbw - 1 - (u - r) / flipBlock) * flipBlock + r;
          dst[dRow + x] = sx >= 0 && sx < w ? src[sRow + sx] : 0;
        }
      }
    }
  }
}

export interface AugmentParams {
  mode: AugmentMode;
  /** Cipher block size (cipher-safe: shifts are multiples of it). */
  blockSize: number;
  /** Largest shift, in blocks for cipher-safe (default 1), in pixels for plain (default 4). */
  maxShift?: number;
  /** Cipher-safe: also mirror the block order of half the images. */
  blockFlip?: boolean;
}

/** Draws the shift/flip of one image. */
export function drawAugment(
  p: AugmentParams,
  rng: () => number,
): { dy: number; dx: number; flip: boolean; flipBlock: number } {
  if (p.mode === "cipher-safe") {
    const m = p.maxShift ?? 1;
    const k = p.blockSize;
    return {
      dy: (Math.floor(rng() * (2 * m + 1)) - m) * k,
      dx: (Math.floor(rng() * (2 * m + 1)) - m) * k,
      flip: p.blockFlip ? rng() < 0.5 : false,
      flipBlock: k,
    };
  }
  if (p.mode === "plain") {
    const m = p.maxShift ?? 4;
    return {
      dy: Math.floor(rng() * (2 * m + 1)) - m,
      dx: Math.floor(rng() * (2 * m + 1)) - m,
      flip: rng() < 0.5,
      flipBlock: 1,
    };
  }
  return { dy: 0, dx: 0, flip: false, flipBlock: 1 };
}
