/**
 * Privacy measures beyond PSNR, on plain typed arrays (NCHW float32, pixel values on the [0, 1] scale for the
 * plaintexts and decryptions; ciphertexts on their own scale):
 * - re-identification: for each decrypted image, is its nearest plaintext (mean squared pixel distance) among a pool
 *   of candidates that contains the true one the true one? A pool of N candidates puts chance at 1/N;
 * - the no-attack leak of the ciphertext alone: a block-wise linear cipher maps a constant block to a fixed
 *   direction (and a zero block to zero), so flat regions show as repeated ciphertext blocks, and how much a block
 *   differs from its neighbours survives encryption (‖(p_a − p_b)·K‖ follows ‖p_a − p_b‖): the map of that
 *   "activity" is an edge sketch of the image at block resolution, readable with no key and no attack.
 */

export interface NchwDims {
  n: number;
  c: number;
  h: number;
  w: number;
}

function checkBatch(x: ArrayLike<number>, d: NchwDims, what: string): number {
  for (const [k, v] of Object.entries(d))
    if (!Number.isInteger(v) || v < 1) throw new Error(`${what}: ${k} must be a positive integer, got ${v}`);
  const size = d.c * d.h * d.w;
  if (x.length !== d.n * size)
    throw new Error(`${what}: ${x.length} values, expected n·c·h·w = ${d.n}·${d.c}·${d.h}·${d.w}`);
  return size;
}

const NEIGHBOURS: readonly (readonly [number, number])[] = [
  [-1, 0],
  [1, 0],
  [0, -1],
  [0, 1],
];

/** Euclidean distance between blocks (y0, x0) and (y1, x1) of image `img` over all channels. */
function blockDistance(
  x: ArrayLike<number>,
  d: NchwDims,
  k: number,
  img: number,
  y0: number,
  x0: number,
  y1: number,
  x1: number,
): number {
  const { c, h, w } = d;
  let s = 0;
  for (let ch = 0; ch < c; ch++) {
    const base = (img * c + ch) * h * w;
    for (let r = 0; r < k; r++)
      for (let q = 0; q < k; q++) {
        const v = x[base + (y0 * k + r) * w + x0 * k + q] - x[base + (y1 * k + r) * w + x1 * k + q];
        s += v * v;
      }
  }
  return Math.sqrt(s);
}

/** Distances from block (by, bx) to each of its in-grid 4-neighbours. */
function neighbourDistances(
  x: ArrayLike<number>,
  d: NchwDims,
  k: number,
  img: number,
  by: number,
  bx: number,
): number[] {
  const bh = d.h / k;
  const bw = d.w / k;
  const out: number[] = [];
  for (const [dy, dx] of NEIGHBOURS) {
    const y = by + dy;
    const xx = bx + dx;
    if (y >= 0 && y < bh && xx >= 0 && xx < bw) out.push(blockDistance(x, d, k, img, by, bx, y, xx));
  }
  return out;
}

export interface Reidentification {
  /** Share of decrypted images whose nearest pool image is their own plaintext. */
  rate: number;
  /** 1 / pool size: the rate of a guess. */
  chance: number;
  /** Pool size. */
  pool: number;
  /** Per decrypted image: the pool index it was matched to. */
  matched: Int32Array;
}

/**
 * Re-identification rate: `decrypted` (m images) against `pool` (N images, same c·h·w), `truth[i]` the pool index of
 * decrypted image i's plaintext. Nearest = least mean squared pixel difference (ties: the lower index), or with
 * `similarity: "correlation"` the highest Pearson correlation over the image (for outputs of arbitrary scale).
 */
export function reidentificationRate(
  decrypted: ArrayLike<number>,
  pool: ArrayLike<number>,
  truth: ArrayLike<number>,
  dims: { c: number; h: number; w: number },
  similarity: "mse" | "correlation" = "mse",
): Reidentification {
  const size = dims.c * dims.h * dims.w;
  if (!(size > 0)) throw new Error("reidentificationRate: bad image size");
  if (decrypted.length % size || pool.length % size)
    throw new Error(`reidentificationRate: inputs are not whole images of ${dims.c}×${dims.h}×${dims.w}`);
  const m = decrypted.length / size;
  const N = pool.length / size;
  if (truth.length !== m) throw new Error(`reidentificationRate: ${truth.length} true indices for ${m} images`);
  if (N === 0 || m === 0) throw new Error("reidentificationRate: empty input");
  const matched = new Int32Array(m);
  let hits = 0;
  for (let i = 0; i < m; i++) {
    const t = truth[i];
    if (!Number.isInteger(t) || t < 0 || t >= N)
      throw new Error(`reidentificationRate: true index ${t} of image ${i} is outside the pool of ${N}`);
    const a = i * size;
    if (similarity === "correlation") {
      // for outputs of arbitrary scale and offset (an adaptation network's): highest Pearson correlation
      const sub = (x: ArrayLike<number>, o: number) => Array.prototype.slice.call(x, o, o + size) as number[];
      const di = sub(decrypted, a);
      let best = Number.NEGATIVE_INFINITY;
      let arg = -1;
      for (let j = 0; j < N; j++) {
        const r = pearson(di, sub(pool, j * size));
        if (r > best) [best, arg] = [r, j];
      }
      matched[i] = arg;
      if (arg === t) hits++;
      continue;
    }
    let best = Number.POSITIVE_INFINITY;
    let arg = -1;
    for (let j = 0; j < N; j++) {
      const b = j * size;
      let s = 0;
      for (let q = 0; q < size && s < best; q++) {
        const d = decrypted[a + q] - pool[b + q];
        s += d * d;
      }
      if (s < best) {
        best = s;
        arg = j;
      }
    }
    matched[i] = arg;
    if (arg === t) hits++;
  }
  return { rate: hits / m, chance: 1 / N, pool: N, matched };
}

/**
 * Block activity map of each image: for every k×k block, the mean over its 4-neighbours of the Euclidean distance
 * between the two blocks' values (all channels). Output n × (h/k) × (w/k), float64.
 */
export function blockActivity(x: ArrayLike<number>, dims: NchwDims, k: number): Float64Array {
  checkBatch(x, dims, "blockActivity");
  const { n, h, w } = dims;
  if (!Number.isInteger(k) || k < 1 || h % k || w % k)
    throw new Error(`blockActivity: ${h}×${w} does not tile by ${k}`);
  const bh = h / k;
  const bw = w / k;
  const out = new Float64Array(n * bh * bw);
  for (let img = 0; img < n; img++)
    for (let by = 0; by < bh; by++)
      for (let bx = 0; bx < bw; bx++) {
        const ds = neighbourDistances(x, dims, k, img, by, bx);
        out[(img * bh + by) * bw + bx] = ds.length ? ds.reduce((a, v) => a + v, 0) / ds.length : 0;
      }
  return out;
}

/** Pearson correlation of two equal-length vectors (0 when either is constant). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) throw new Error("pearson: lengths differ or are zero");
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= a.length;
  mb /= b.length;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

export interface NoAttackLeak {
  /** Share of plaintext blocks that are near-constant (max − min ≤ FLAT_TOLERANCE in every channel). */
  flatBlocks: number;
  /**
   * Share of ciphertext blocks equal to a 4-neighbour (distance ≤ 1e-4 × the ciphertext's RMS block norm): what an
   * eavesdropper sees as flat regions with no key.
   */
  repeatedCipherBlocks: number;
  /** Mean over images of the Pearson correlation of the ciphertext's and the plaintext's block activity maps. */
  edgeCorrelation: number;
  /** Block grid of the maps (h/k × w/k). */
  grid: { h: number; w: number };
}

/** A block is flat when its pixels span at most this much (2 grey levels of 255) in every channel. */
export const FLAT_TOLERANCE = 2 / 255;

/** The no-attack leak of `cipher` (its plaintexts `plain`, same dims; the key is needed only for the comparison). */
export function noAttackLeak(
  cipher: ArrayLike<number>,
  plain: ArrayLike<number>,
  dims: NchwDims,
  k: number,
): NoAttackLeak {
  const size = checkBatch(cipher, dims, "noAttackLeak");
  checkBatch(plain, dims, "noAttackLeak");
  const { n, c, h, w } = dims;
  const ac = blockActivity(cipher, dims, k);
  const ap = blockActivity(plain, dims, k);
  const bh = h / k;
  const bw = w / k;
  const cells = bh * bw;
  let flat = 0;
  for (let img = 0; img < n; img++)
    for (let by = 0; by < bh; by++)
      for (let bx = 0; bx < bw; bx++) {
        let isFlat = true;
        for (let ch = 0; ch < c && isFlat; ch++) {
          let lo = Number.POSITIVE_INFINITY;
          let hi = Number.NEGATIVE_INFINITY;
          const base = img * size + ch * h * w;
          for (let r = 0; r < k; r++)
            for (let q = 0; q < k; q++) {
              const v = plain[base + (by * k + r) * w + bx * k + q];
              if (v < lo) lo = v;
              if (v > hi) hi = v;
            }
          isFlat = hi - lo <= FLAT_TOLERANCE;
        }
        if (isFlat) flat++;
      }
  // a ciphertext block "repeats" when it equals a neighbour: its activity towards that neighbour is ~0; the
  // activity map holds means, so test the neighbours one by one with the RMS block norm as the scale
  let norm2 = 0;
  for (let i = 0; i < cipher.length; i++) norm2 += cipher[i] * cipher[i];
  const tol = 1e-4 * Math.sqrt(norm2 / (n * cells));
  let repeated = 0;
  for (let img = 0; img < n; img++)
    for (let by = 0; by < bh; by++)
      for (let bx = 0; bx < bw; bx++)
        if (neighbourDistances(cipher, dims, k, img, by, bx).some((v) => v <= tol)) repeated++;
  let corr = 0;
  for (let img = 0; img < n; img++)
    corr += pearson(ac.subarray(img * cells, (img + 1) * cells), ap.subarray(img * cells, (img + 1) * cells));
  return {
    flatBlocks: flat / (n * cells),
    repeatedCipherBlocks: repeated / (n * cells),
    edgeCorrelation: corr / n,
    grid: { h: bh, w: bw },
  };
}
