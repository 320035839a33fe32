/**
 * Block vectors for the learnable-encryption schemes. An image is cut into k×k blocks; one block of C channels is
 * read as the vector of its d = k²·C values in block-local HWC order, index (r·k + q)·C + ch (row r, column q,
 * channel ch) — the order AprilPyone & Kiya's and Tanaka's reference code use — whatever the image layout.
 *
 * Value domain: uint8 images hold 0…255 ("full" = 255); float32 images hold [0, 1] ("full" = 1). Schemes that are
 * defined on 8-bit values (LE, FFX) read a float value as the byte round(255·x) (clamped to 0…255), so on float32
 * images they are exact only for values on the 1/255 grid, as a decoded photo is.
 */
import { CipherError, checkDims, type ImageDims } from "../block.ts";
import type { BlockGrid } from "../scramble.ts";

export type Pixels = Float32Array | Uint8Array;

/** Image geometry for block-wise schemes. */
export interface BlockGeometry extends BlockGrid {
  /** Blocks per column and per row of the grid. */
  gh: number;
  gw: number;
  /** Values per block, k²·c. */
  d: number;
}

/** Checks dims against the data and the key's block size and channels; errors name `fn`. */
export function blockGeometry(
  fn: string,
  length: number,
  dims: ImageDims,
  key: { blockSize: number; channels: number },
): BlockGeometry {
  const { n, c, h, w, k, layout } = checkDims(fn, length, dims, key);
  return { n, c, h, w, k, layout, gh: h / k, gw: w / k, d: k * k * c };
}

/** Element offsets of every value of block (by, bx) of image `img`, in block-vector order. */
export function blockOffsets(g: BlockGeometry, img: number, by: number, bx: number, out: Int32Array): Int32Array {
  const per = g.c * g.h * g.w;
  const chStride = g.layout === "CHW" ? g.h * g.w : 1;
  const row = g.layout === "CHW" ? g.w : g.w * g.c;
  const pix = g.layout === "CHW" ? 1 : g.c;
  const origin = img * per + by * g.k * row + bx * g.k * pix;
  let i = 0;
  for (let r = 0; r < g.k; r++)
    for (let q = 0; q < g.k; q++)
      for (let ch = 0; ch < g.c; ch++) out[i++] = origin + r * row + q * pix + ch * chStride;
  return out;
}

/** The largest value of the domain: 255 for uint8, 1 for float32. */
export function fullScale(data: Pixels): number {
  return data instanceof Uint8Array ? 255 : 1;
}

/** A value as the byte it stands for (uint8 as is; float round(255·x), clamped). */
export function toByte(v: number, full: number): number {
  const b = full === 255 ? v : Math.round(v * 255);
  return Math.min(255, Math.max(0, b));
}

/** A byte back in the domain of `full`. */
export function fromByte(b: number, full: number): number {
  return full === 255 ? b : b / 255;
}

/** Where a block transform sits: its grid position (for per-block keys such as EtC's). */
export interface BlockAt {
  by: number;
  bx: number;
}

/**
 * Applies `fn` to every block vector: `src` holds the block's d values, `fn` writes the d output values into `dst`
 * (same block position). `out` may alias `data`; a new array of the same type is made when it is absent.
 */
export function mapBlocks<T extends Pixels>(
  data: T,
  g: BlockGeometry,
  fn: (src: Float64Array, dst: Float64Array, at: BlockAt) => void,
  out?: T,
): T {
  const dst = out ?? (new (data.constructor as { new (n: number): T })(data.length) as T);
  if (dst.length !== data.length) throw new CipherError(`out must have ${data.length} elements, has ${dst.length}`);
  const offs = new Int32Array(g.d);
  const a = new Float64Array(g.d);
  const b = new Float64Array(g.d);
  for (let img = 0; img < g.n; img++)
    for (let by = 0; by < g.gh; by++)
      for (let bx = 0; bx < g.gw; bx++) {
        blockOffsets(g, img, by, bx, offs);
        for (let i = 0; i < g.d; i++) a[i] = data[offs[i]];
        fn(a, b, { by, bx });
        for (let i = 0; i < g.d; i++) dst[offs[i]] = b[i];
      }
  return dst;
}

/** Durstenfeld's Fisher–Yates shuffle of 0…m−1 driven by `nextInt(bound)`. */
export function shuffledIndices(m: number, nextInt: (bound: number) => number): Int32Array {
  const p = Int32Array.from({ length: m }, (_, i) => i);
  for (let i = m - 1; i > 0; i--) {
    const j = nextInt(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** log₂(m!) (for key-space sizes). */
export function log2Factorial(m: number): number {
  let s = 0;
  for (let i = 2; i <= m; i++) s += Math.log2(i);
  return s;
}
