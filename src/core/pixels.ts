/**
 * Image geometry and pixel layout shared by the CLI's decoder (src/data/decode.ts, sharp) and the browser page
 * (web/preprocess.ts, canvas): the output size of resize-then-crop, and HWC uint8 → CHW float32 in [0, 1]. One copy,
 * so the page's inputs follow the CLI's arithmetic by construction. No Node or browser APIs.
 */

export interface DecodeOptions {
  /** Resize so that the shorter side is this many pixels (aspect kept, the longer side floored). */
  resize?: number;
  /** Centre-crop to crop×crop after resizing. */
  crop?: number;
  /**
   * After resize and crop, re-encode as JPEG at this quality (1–100, 4:2:0 chroma) and decode again, so that
   * reference photos carry the compression of images that were stored so (the shared CIFAR-10: quality 75, 4:2:0).
   */
  jpeg?: number;
}

/** Output size of an image of h×w after the given options. */
export function decodedSize(h: number, w: number, opts: DecodeOptions): { h: number; w: number } {
  let H = h;
  let W = w;
  if (opts.resize) {
    if (H <= W) {
      W = Math.floor((opts.resize * W) / H);
      H = opts.resize;
    } else {
      H = Math.floor((opts.resize * H) / W);
      W = opts.resize;
    }
  }
  if (opts.crop) {
    H = opts.crop;
    W = opts.crop;
  }
  return { h: H, w: W };
}

/** Writes HWC uint8 RGB into `out` (CHW float32 in [0,1], `v * (1/255)`) at element offset `off`. */
export function hwcU8ToChwF32(src: Uint8Array, h: number, w: number, out: Float32Array, off: number): void {
  const hw = h * w;
  const inv = 1 / 255;
  for (let i = 0; i < hw; i++) {
    const s = i * 3;
    out[off + i] = src[s] * inv;
    out[off + hw + i] = src[s + 1] * inv;
    out[off + 2 * hw + i] = src[s + 2] * inv;
  }
}
