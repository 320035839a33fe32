/**
 * Bringing a decoded image to the model's input, the way `ercnn encrypt` / `ercnn classify` do it (src/data/decode.ts):
 * optional resize of the shorter side (aspect kept, floor of the longer side), then a centre crop (offsets rounded),
 * then RGB uint8 HWC → CHW float32 in [0, 1] with the CLI's own arithmetic (`v * (1 / 255)`).
 *
 * The CLI resizes with sharp (libvips, `kernel: "linear"`); a browser has no libvips, so `resizeLinear` is a pure
 * TypeScript triangle-filter resampler (support widened by the scale factor when shrinking, pixel centres aligned),
 * the same filter libvips' `reduce` applies. It is not bit-identical to libvips (which shrinks large factors with
 * a box filter first and works in fixed point); docs/page.md gives the measured difference. Without a resize
 * (images already at the model's size, or only cropped) the pixels are exactly the CLI's.
 */

import { type DecodeOptions, decodedSize, hwcU8ToChwF32 } from "../src/core/pixels.ts";

export { type DecodeOptions, decodedSize };

export interface RgbImage {
  /** RGB, HWC, uint8. */
  data: Uint8Array;
  h: number;
  w: number;
}

/** Triangle-filter weights for resampling `n` samples to `m` (pixel-centre aligned, antialiased when shrinking). */
function weights(n: number, m: number): { start: Int32Array; size: number; w: Float64Array } {
  const scale = n / m;
  const support = Math.max(1, scale);
  const size = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(m);
  const w = new Float64Array(m * size);
  for (let o = 0; o < m; o++) {
    // Shrinking: pixel centres aligned. Enlarging: libvips' affine bilinear samples input position o·n/m − ½
    // (measured against sharp 0.34 / libvips 8.17).
    const centre = scale >= 1 ? (o + 0.5) * scale - 0.5 : o * scale - 0.5;
    const first = Math.floor(centre - support) + 1;
    start[o] = first;
    let sum = 0;
    for (let t = 0; t < size; t++) {
      const v = Math.max(0, 1 - Math.abs((first + t - centre) / support));
      w[o * size + t] = v;
      sum += v;
    }
    for (let t = 0; t < size; t++) w[o * size + t] /= sum;
  }
  return { start, size, w };
}

/** Resizes RGB HWC uint8 to outH×outW (separable triangle filter, edge pixels repeated, rounded to uint8). */
export function resizeLinear(img: RgbImage, outH: number, outW: number): RgbImage {
  if (img.h === outH && img.w === outW) return img;
  const { h, w, data } = img;
  const cx = weights(w, outW);
  const tmp = new Float64Array(h * outW * 3);
  for (let y = 0; y < h; y++) {
    for (let o = 0; o < outW; o++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let t = 0; t < cx.size; t++) {
        const wt = cx.w[o * cx.size + t];
        if (wt === 0) continue;
        const x = Math.min(w - 1, Math.max(0, cx.start[o] + t));
        const s = (y * w + x) * 3;
        r += wt * data[s];
        g += wt * data[s + 1];
        b += wt * data[s + 2];
      }
      const d = (y * outW + o) * 3;
      tmp[d] = r;
      tmp[d + 1] = g;
      tmp[d + 2] = b;
    }
  }
  const cy = weights(h, outH);
  const out = new Uint8Array(outH * outW * 3);
  for (let o = 0; o < outH; o++) {
    for (let x = 0; x < outW; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let t = 0; t < cy.size; t++) {
          const wt = cy.w[o * cy.size + t];
          if (wt === 0) continue;
          const y = Math.min(h - 1, Math.max(0, cy.start[o] + t));
          v += wt * tmp[(y * outW + x) * 3 + c];
        }
        out[(o * outW + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  }
  return { data: out, h: outH, w: outW };
}

/** Centre crop to c×c (offsets rounded like the CLI's `extract`). */
export function centreCrop(img: RgbImage, c: number, name: string): RgbImage {
  if (img.h < c || img.w < c) throw new Error(`${name}: image is ${img.h}×${img.w}, smaller than the crop ${c}`);
  if (img.h === c && img.w === c) return img;
  const top = Math.round((img.h - c) / 2);
  const left = Math.round((img.w - c) / 2);
  const out = new Uint8Array(c * c * 3);
  for (let y = 0; y < c; y++) {
    const s = ((top + y) * img.w + left) * 3;
    out.set(img.data.subarray(s, s + c * 3), y * c * 3);
  }
  return { data: out, h: c, w: c };
}

/** Resize then crop, as `ercnn encrypt --resize R --crop C` does. */
export function preprocess(img: RgbImage, opts: DecodeOptions, name: string): RgbImage {
  let out = img;
  if (opts.resize) {
    const s = decodedSize(img.h, img.w, { resize: opts.resize });
    out = resizeLinear(out, s.h, s.w);
  }
  if (opts.crop) out = centreCrop(out, opts.crop, name);
  return out;
}

/** RGBA (canvas ImageData) → RGB, alpha dropped like sharp's `removeAlpha()`. */
export function rgbaToRgb(rgba: Uint8ClampedArray | Uint8Array, h: number, w: number): RgbImage {
  const out = new Uint8Array(h * w * 3);
  for (let i = 0, j = 0; i < h * w; i++, j += 4) {
    out[i * 3] = rgba[j];
    out[i * 3 + 1] = rgba[j + 1];
    out[i * 3 + 2] = rgba[j + 2];
  }
  return { data: out, h, w };
}

/** HWC uint8 → CHW float32 in [0, 1], written at `off` (the CLI's own arithmetic: src/core/pixels.ts). */
export function toChwUnit(img: RgbImage, out: Float32Array, off = 0): void {
  hwcU8ToChwF32(img.data, img.h, img.w, out, off);
}
