/**
 * Decryption pictures: one row per sample, panels ciphertext | adaptation output | plaintext, side by side.
 *
 * Inputs are CHW float32 (one image each). How each panel is mapped to pixels:
 * - ciphertext: min-max scaled per image (over all its channels jointly) to [0, 1] — ciphertext values are not in
 *   [0, 1] (c = p·K with key entries in [−1, 1) spans roughly ±k²/2), so they cannot be shown as they are;
 * - adaptation output: its scale and offset are arbitrary, so it is affine-fitted per channel to the plaintext
 *   (least squares, see affineFit) when the row has one, else min-max scaled per image; then clipped to [0, 1];
 * - plaintext: shown as is, clipped to [0, 1].
 * Un-normalisation: with `mean`/`std` (per channel, the loader's normalisation x_n = (x − mean)/std), the inputs
 * named in `normalized` (default: cipher and adapt, the ones the loader and a key-folded adaptation produce in
 * normalised form) are first mapped back with x = x_n·std + mean.
 * Images with 1 channel are shown grey, with ≥ 3 channels as RGB from the first three.
 * Small images are upscaled (nearest neighbour) by `scale` (default: ⌊128 / max(h, w)⌋, at least 1: ×4 for 32×32).
 */
import sharp from "sharp";
import { affineFit, type ChwDims } from "./metrics.ts";

export interface PictureRow {
  cipher: ArrayLike<number>;
  adapt?: ArrayLike<number> | null;
  plain?: ArrayLike<number> | null;
}

export type PanelName = "cipher" | "adapt" | "plain";

export interface PictureOptions {
  /** Column titles: true for the defaults ("ciphertext", "adaptation output", "plaintext"), or custom ones. */
  titles?: boolean | Partial<Record<PanelName, string>>;
  /** Integer nearest-neighbour upscale factor (default ⌊128 / max(h, w)⌋, ≥ 1). */
  scale?: number;
  /** Gutter between panels and around the picture, in output pixels (default 4). */
  gutter?: number;
  /** Per-channel mean of the loader normalisation to undo. */
  mean?: readonly number[];
  /** Per-channel std of the loader normalisation to undo. */
  std?: readonly number[];
  /** Which inputs are normalised (only used with mean/std). Default { cipher: true, adapt: true, plain: false }. */
  normalized?: Partial<Record<PanelName, boolean>>;
  /** Background / gutter grey level 0–255 (default 255, white). */
  background?: number;
}

export const DEFAULT_TITLES: Record<PanelName, string> = {
  cipher: "ciphertext",
  adapt: "adaptation output",
  plain: "plaintext",
};

function unnormalize(
  x: ArrayLike<number>,
  dims: ChwDims,
  mean: readonly number[],
  std: readonly number[],
): Float32Array {
  const hw = dims.h * dims.w;
  const out = new Float32Array(x.length);
  for (let ch = 0; ch < dims.c; ch++) {
    const m = mean[ch] ?? 0;
    const s = std[ch] ?? 1;
    for (let i = 0; i < hw; i++) out[ch * hw + i] = x[ch * hw + i] * s + m;
  }
  return out;
}

/** Min-max scale to [0, 1] over the whole array (a constant image maps to 0.5). */
export function minMaxScale(x: ArrayLike<number>): Float32Array {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const out = new Float32Array(x.length);
  const span = hi - lo;
  for (let i = 0; i < x.length; i++) out[i] = span > 0 ? (x[i] - lo) / span : 0.5;
  return out;
}

/** The [0,1] pixels of each panel of a row (null where the row lacks the input). */
export function panelImages(
  row: PictureRow,
  dims: ChwDims,
  opts: Pick<PictureOptions, "mean" | "std" | "normalized"> = {},
): Record<PanelName, Float32Array | null> {
  const size = dims.c * dims.h * dims.w;
  const norm = { cipher: true, adapt: true, plain: false, ...opts.normalized };
  const prep = (name: PanelName, x: ArrayLike<number> | null | undefined): Float32Array | null => {
    if (x == null) return null;
    if (x.length !== size)
      throw new Error(`decryptionPicture: ${name} has ${x.length} values, expected c·h·w = ${size}`);
    if (opts.mean && opts.std && norm[name]) return unnormalize(x, dims, opts.mean, opts.std);
    return Float32Array.from(x);
  };
  const cipher = prep("cipher", row.cipher);
  const adapt = prep("adapt", row.adapt);
  const plain = prep("plain", row.plain);
  const clip01 = (x: Float32Array) => x.map((v) => (Number.isFinite(v) ? Math.min(Math.max(v, 0), 1) : 0));
  let adaptImg: Float32Array | null = null;
  if (adapt) adaptImg = clip01(plain ? affineFit(adapt, plain, dims).fitted : minMaxScale(adapt));
  return {
    cipher: cipher ? minMaxScale(cipher) : null,
    adapt: adaptImg,
    plain: plain ? clip01(plain) : null,
  };
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/**
 * The decryption picture as PNG bytes. Columns: ciphertext, then adaptation output if any row has one, then
 * plaintext if any row has one; a row lacking a panel shows a grey placeholder there.
 */
export async function decryptionPicture(
  rows: readonly PictureRow[],
  dims: ChwDims,
  opts: PictureOptions = {},
): Promise<Buffer> {
  if (rows.length === 0) throw new Error("decryptionPicture: no rows");
  const { c, h, w } = dims;
  if (![c, h, w].every((v) => Number.isInteger(v) && v > 0)) throw new Error("decryptionPicture: bad dims");
  const scale = opts.scale ?? Math.max(1, Math.floor(128 / Math.max(h, w)));
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`decryptionPicture: scale must be a positive integer`);
  const gutter = opts.gutter ?? 4;
  const bg = opts.background ?? 255;
  const cols: PanelName[] = ["cipher"];
  if (rows.some((r) => r.adapt != null)) cols.push("adapt");
  if (rows.some((r) => r.plain != null)) cols.push("plain");
  const pw = w * scale;
  const ph = h * scale;
  const titleH = opts.titles ? Math.max(16, Math.min(22, Math.round(pw / 7))) : 0;
  const width = gutter + cols.length * (pw + gutter);
  const height = titleH + gutter + rows.length * (ph + gutter);
  const canvas = Buffer.alloc(width * height * 3, bg);
  const hw = h * w;
  const rgbIndex = (ch: number) => (c >= 3 ? ch : 0);
  rows.forEach((row, r) => {
    const panels = panelImages(row, dims, opts);
    cols.forEach((name, col) => {
      const img = panels[name];
      const x0 = gutter + col * (pw + gutter);
      const y0 = titleH + gutter + r * (ph + gutter);
      for (let y = 0; y < ph; y++) {
        const sy = Math.floor(y / scale);
        let o = ((y0 + y) * width + x0) * 3;
        for (let x = 0; x < pw; x++) {
          const sx = Math.floor(x / scale);
          for (let k = 0; k < 3; k++) {
            canvas[o++] = img ? Math.round(img[rgbIndex(k) * hw + sy * w + sx] * 255) : 200;
          }
        }
      }
    });
  });
  let pipeline = sharp(canvas, { raw: { width, height, channels: 3 } });
  if (opts.titles) {
    const names = { ...DEFAULT_TITLES, ...(typeof opts.titles === "object" ? opts.titles : {}) };
    const fontSize = Math.max(9, Math.min(14, Math.floor(pw / 9)));
    const texts = cols
      .map((name, col) => {
        const cx = gutter + col * (pw + gutter) + pw / 2;
        return `<text x="${cx}" y="${titleH - 3 + gutter / 2}" text-anchor="middle" font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="#222">${escapeXml(names[name])}</text>`;
      })
      .join("");
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${titleH + gutter}">${texts}</svg>`;
    pipeline = pipeline.composite([{ input: Buffer.from(svg), top: 0, left: 0 }]);
  }
  return pipeline.png().toBuffer();
}
