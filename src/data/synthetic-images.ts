/**
 * Seeded synthetic "natural" images from the dead-leaves model: opaque discs whose radii follow a power law, dropped
 * one behind the other until the canvas is covered, each a random colour, then blurred (the optics and downscaling
 * of a photo) with a little pixel noise (sensor noise, fine texture), clipped to [0, 1]. With radii density ∝ r⁻³
 * the model is scale-invariant and its spectrum falls as 1/f², as photos' does; its occlusion edges give blocks the
 * edge-dominated higher-order statistics of photos too. The ciphertext-only attack uses such images as a reference
 * when no public photos may be used: no outside data, only these few parameters.
 *
 * Image i of a seed is the same whatever the batching or limit (each image has its own stream).
 */
import { gaussianWindow, standardNormal } from "../core/gaussian.ts";
import { mulberry32 } from "../core/rng.ts";

/** The model's parameters (pixels are the output image's). */
export interface DeadLeavesModel {
  /** Exponent α of the radius density ∝ r^−α of leaves (3: scale-invariant). */
  sizeExponent: number;
  /** Smallest and largest leaf radius (px). */
  minRadius: number;
  maxRadius: number;
  /** Gaussian blur σ (px) after rendering; 0 for none. */
  blur: number;
  /** Standard deviation of each channel's offset from its leaf's grey level (colour against grey). */
  colourSpread: number;
  /** Standard deviation of white noise added after the blur. */
  noise: number;
  /** Share of leaves that are axis-aligned rectangles (sides r·s and r/s, ln s uniform in ±0.7) rather than discs. */
  rectangles: number;
}

/**
 * The attack's starting model: photos downscaled to a few dozen pixels have long straight (often axis-aligned)
 * edges, strongly correlated colour channels and little pixel noise.
 */
export const DEAD_LEAVES_DEFAULT: Readonly<DeadLeavesModel> = {
  sizeExponent: 2.5,
  minRadius: 1,
  maxRadius: 64,
  blur: 0.5,
  colourSpread: 0.01,
  noise: 0,
  rectangles: 0.5,
};

/** Radius bins of the sampling table: fine enough that within-bin sampling follows the density closely. */
const RADIUS_BINS = 512;
/** Images per batch handed out by SyntheticImages.images. */
const BATCH = 256;

/** Refuses parameters that make no images, naming the field. */
export function checkDeadLeaves(m: DeadLeavesModel): void {
  const bad = (field: string, why: string) =>
    new Error(`dead-leaves model: ${field} = ${m[field as keyof DeadLeavesModel]} ${why}`);
  if (!(m.minRadius > 0)) throw bad("minRadius", "must be > 0");
  if (!(m.maxRadius >= m.minRadius)) throw bad("maxRadius", "must be ≥ minRadius");
  if (!Number.isFinite(m.sizeExponent)) throw bad("sizeExponent", "must be finite");
  if (!(m.rectangles >= 0 && m.rectangles <= 1)) throw bad("rectangles", "must be in [0, 1]");
  for (const f of ["blur", "colourSpread", "noise"] as const) if (!(m[f] >= 0)) throw bad(f, "must be ≥ 0");
}

/**
 * Draws the radius of a leaf that touches an H×W canvas: the model's density r^−α times the area of centres from
 * which a disc of radius r touches it, (H + 2r)(W + 2r), tabulated over log-spaced bins, uniform within a bin.
 */
function radiusSampler(m: DeadLeavesModel, h: number, w: number): (u: number, v: number) => number {
  const edges = Float64Array.from(
    { length: RADIUS_BINS + 1 },
    (_, i) => m.minRadius * (m.maxRadius / m.minRadius) ** (i / RADIUS_BINS),
  );
  const cdf = new Float64Array(RADIUS_BINS);
  let total = 0;
  for (let i = 0; i < RADIUS_BINS; i++) {
    const r = Math.sqrt(edges[i] * edges[i + 1]);
    total += r ** -m.sizeExponent * (h + 2 * r) * (w + 2 * r) * (edges[i + 1] - edges[i]);
    cdf[i] = total;
  }
  return (u, v) => {
    const target = u * total;
    let lo = 0;
    let hi = RADIUS_BINS - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < target) lo = mid + 1;
      else hi = mid;
    }
    return edges[lo] + v * (edges[lo + 1] - edges[lo]);
  };
}

/**
 * Renders the leaves of one canvas front to back (each leaf paints only what the leaves in front left uncovered)
 * into `out` (C×H×W), until every pixel is covered.
 */
function renderLeaves(
  out: Float32Array,
  c: number,
  h: number,
  w: number,
  m: DeadLeavesModel,
  radius: (u: number, v: number) => number,
  rand: () => number,
): void {
  const covered = new Uint8Array(h * w);
  const colour = new Float64Array(c);
  let left = h * w;
  while (left > 0) {
    const r = radius(rand(), rand());
    const cx = -r + rand() * (w + 2 * r);
    const cy = -r + rand() * (h + 2 * r);
    const grey = rand();
    for (let ch = 0; ch < c; ch++) colour[ch] = grey + m.colourSpread * standardNormal(rand);
    const rect = rand() < m.rectangles;
    const s = rect ? Math.exp(1.4 * rand() - 0.7) : 1;
    // rows the leaf spans, and per row its half-width: a disc's chord or a rectangle's fixed half side
    const halfH = rect ? r / s : r;
    const y0 = Math.max(0, Math.ceil(cy - halfH - 0.5));
    const y1 = Math.min(h - 1, Math.floor(cy + halfH - 0.5));
    for (let y = y0; y <= y1; y++) {
      const dy = y + 0.5 - cy;
      const half = rect ? r * s : Math.sqrt(Math.max(0, r * r - dy * dy));
      const x0 = Math.max(0, Math.ceil(cx - half - 0.5));
      const x1 = Math.min(w - 1, Math.floor(cx + half - 0.5));
      for (let x = x0; x <= x1; x++) {
        const p = y * w + x;
        if (covered[p]) continue;
        covered[p] = 1;
        left--;
        for (let ch = 0; ch < c; ch++) out[ch * h * w + p] = colour[ch];
      }
    }
  }
}

/** The normalised Gaussian kernel of σ (radius ⌈3σ⌉). */
export function gaussianKernel(sigma: number): Float64Array {
  return gaussianWindow(2 * Math.ceil(3 * sigma) + 1, sigma);
}

/** Separable convolution of each H×W plane of `x` with `kernel`, keeping the central (H−2ρ)×(W−2ρ) (valid part). */
export function blurValid(x: Float32Array, c: number, h: number, w: number, kernel: Float64Array): Float32Array {
  const rho = (kernel.length - 1) / 2;
  const [oh, ow] = [h - 2 * rho, w - 2 * rho];
  const rows = new Float64Array(h * ow);
  const out = new Float32Array(c * oh * ow);
  for (let ch = 0; ch < c; ch++) {
    const plane = x.subarray(ch * h * w, (ch + 1) * h * w);
    for (let y = 0; y < h; y++)
      for (let j = 0; j < ow; j++) {
        let s = 0;
        for (let t = 0; t < kernel.length; t++) s += kernel[t] * plane[y * w + j + t];
        rows[y * ow + j] = s;
      }
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let s = 0;
        for (let t = 0; t < kernel.length; t++) s += kernel[t] * rows[(i + t) * ow + j];
        out[ch * oh * ow + i * ow + j] = s;
      }
  }
  return out;
}

/** The stream of image `index` of `seed`: independent of every other image's. */
function imageStream(seed: number, index: number): () => number {
  return mulberry32(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
}

/** One C×H×W dead-leaves image (image `index` of `seed`), written into `out`. */
export function deadLeavesImage(
  out: Float32Array,
  shape: readonly [number, number, number],
  m: DeadLeavesModel,
  seed: number,
  index: number,
  radius = radiusSampler(m, shape[1] + 2 * Math.ceil(3 * m.blur), shape[2] + 2 * Math.ceil(3 * m.blur)),
): void {
  const [c, h, w] = shape;
  const rand = imageStream(seed, index);
  const rho = m.blur > 0 ? Math.ceil(3 * m.blur) : 0;
  const [H, W] = [h + 2 * rho, w + 2 * rho];
  const canvas = new Float32Array(c * H * W);
  renderLeaves(canvas, c, H, W, m, radius, rand);
  const img = rho > 0 ? blurValid(canvas, c, H, W, gaussianKernel(m.blur)) : canvas;
  for (let i = 0; i < c * h * w; i++) {
    const v = img[i] + (m.noise > 0 ? m.noise * standardNormal(rand) : 0);
    out[i] = Math.min(1, Math.max(0, v));
  }
}

/**
 * `count` dead-leaves images of one shape and seed, read in batches like a store's images (Store.images), so that
 * the attack's statistics passes take them as they take a store of photos.
 */
export class SyntheticImages {
  /** What error messages and reports call this source. */
  readonly dir: string;
  /** A synthetic source holds plain images. */
  readonly meta = { key: undefined };

  constructor(
    readonly shape: [number, number, number],
    readonly count: number,
    readonly model: Readonly<DeadLeavesModel> = DEAD_LEAVES_DEFAULT,
    readonly seed = 1,
  ) {
    checkDeadLeaves(model);
    if (!Number.isSafeInteger(count) || count < 1) throw new Error(`synthetic images: bad count ${count}`);
    this.dir = `synthetic dead-leaves images (seed ${seed})`;
  }

  *images(o: { limit?: number } = {}): Generator<{ x: Float32Array; n: number }> {
    const [c, h, w] = this.shape;
    const per = c * h * w;
    const total = Math.min(this.count, o.limit ?? Number.POSITIVE_INFINITY);
    const rho = this.model.blur > 0 ? Math.ceil(3 * this.model.blur) : 0;
    const radius = radiusSampler(this.model, h + 2 * rho, w + 2 * rho);
    for (let start = 0; start < total; start += BATCH) {
      const n = Math.min(BATCH, total - start);
      const x = new Float32Array(n * per);
      for (let i = 0; i < n; i++)
        deadLeavesImage(x.subarray(i * per, (i + 1) * per), this.shape, this.model, this.seed, start + i, radius);
      yield { x, n };
    }
  }
}
