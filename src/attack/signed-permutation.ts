/**
 * Ciphertext-only attack on keys that map every block by the same signed permutation plus an offset
 * (pixel-shuffle-np: c[j] = flip[j] ? 1 − v[perm[j]] : v[perm[j]] on the block vector, src/cipher/schemes). The search
 * is restricted to that group (d!·2^d keys for d = k²·C block values), so second-order statistics of the ciphertexts
 * and of public reference photos fix the key with a few hundred images, where the general Hill attack needs far more.
 *
 * 1. Signs. Within a block of a natural image all values are positively correlated, so cov(c_j, c_j') has the sign
 *    flip_j·flip_j'. The leading eigenvector of the ciphertext covariance (power iteration) gives the relative signs;
 *    the global sign is the one whose unflipped mean is nearer the reference photos' mean (photos are darker than
 *    mid-grey on average; for data whose mean is exactly ½ this step cannot decide).
 * 2. Moments. With the signs undone, ĉ = v[perm]: its second moments within a block (E ĉ ĉᵀ) and across the right and
 *    lower neighbour blocks are those of the plaintext coordinates, permuted. The cross-block moments break the
 *    symmetries of the square that within-block statistics cannot (which corner is which).
 * 3. Start: each coordinate is described by its mean, RMS, and its largest correlation with the right, left, lower and
 *    upper neighbour block; an optimal assignment (Hungarian) matches ciphertext to reference coordinates.
 * 4. Refine: pairwise swaps that raise Σ_M ⟨M_c, P M_ref Pᵀ⟩ over the three moment matrices (a quadratic assignment,
 *    by local search) until none does.
 * Images are float32 in [0, 1], CHW; all images (ciphertexts and references) have the same size.
 */

import { type BlockGeometry, blockGeometry, blockOffsets } from "../cipher/schemes/blocks.ts";
import type { SignedPermutation } from "../cipher/schemes/pixel-shuffle-np.ts";
import { linearAssignment } from "../core/linalg.ts";

export interface SignedPermutationAttackResult extends SignedPermutation {
  /** Local-search swaps made after the assignment. */
  swaps: number;
}

interface Moments {
  d: number;
  mean: Float64Array;
  /** E[x xᵀ] within a block, E[x_b x_right(b)ᵀ], E[x_b x_below(b)ᵀ]; d×d row-major. */
  within: Float64Array;
  right: Float64Array;
  below: Float64Array;
}

/** Every block vector, [img][by][bx][d]. */
function blockVectors(data: Float32Array, g: BlockGeometry): Float64Array {
  const out = new Float64Array(g.n * g.gh * g.gw * g.d);
  const offs = new Int32Array(g.d);
  let o = 0;
  for (let img = 0; img < g.n; img++)
    for (let by = 0; by < g.gh; by++)
      for (let bx = 0; bx < g.gw; bx++) {
        blockOffsets(g, img, by, bx, offs);
        for (let i = 0; i < g.d; i++) out[o++] = data[offs[i]];
      }
  return out;
}

function accumulate(m: Float64Array, x: Float64Array, a: number, b: number, d: number): void {
  for (let i = 0; i < d; i++) {
    const xi = x[a + i];
    const row = i * d;
    for (let j = 0; j < d; j++) m[row + j] += xi * x[b + j];
  }
}

/** Moments of block vectors, each coordinate first mapped by `sign` (−1: 1 − x). */
function moments(v: Float64Array, g: BlockGeometry, sign?: Int8Array): Moments {
  const d = g.d;
  const x = sign ? v.map((val, i) => (sign[i % d] < 0 ? 1 - val : val)) : v;
  const mean = new Float64Array(d);
  const within = new Float64Array(d * d);
  const right = new Float64Array(d * d);
  const below = new Float64Array(d * d);
  let nr = 0;
  let nb = 0;
  const blocks = g.n * g.gh * g.gw;
  for (let b = 0; b < blocks; b++) {
    const a = b * d;
    for (let i = 0; i < d; i++) mean[i] += x[a + i];
    accumulate(within, x, a, a, d);
    const bx = b % g.gw;
    const by = Math.floor(b / g.gw) % g.gh;
    if (bx + 1 < g.gw) {
      accumulate(right, x, a, a + d, d);
      nr++;
    }
    if (by + 1 < g.gh) {
      accumulate(below, x, a, a + g.gw * d, d);
      nb++;
    }
  }
  for (let i = 0; i < d; i++) mean[i] /= blocks;
  for (let i = 0; i < d * d; i++) {
    within[i] /= blocks;
    right[i] /= Math.max(1, nr);
    below[i] /= Math.max(1, nb);
  }
  return { d, mean, within, right, below };
}

/** Signs of the leading eigenvector of the within-block covariance (power iteration), up to a global sign. */
function relativeSigns(m: Moments): Int8Array {
  const { d, mean, within } = m;
  const cov = Float64Array.from(within, (v, i) => v - mean[Math.floor(i / d)] * mean[i % d]);
  let u = new Float64Array(d).fill(1 / Math.sqrt(d));
  for (let it = 0; it < 200; it++) {
    const w = new Float64Array(d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) w[i] += cov[i * d + j] * u[j];
    const norm = Math.hypot(...w) || 1;
    u = w.map((v) => v / norm);
  }
  return Int8Array.from(u, (v) => (v < 0 ? -1 : 1));
}

/** Per-coordinate features: mean, RMS, largest correlation with the right/left/lower/upper neighbour block. */
function features(m: Moments): Float64Array[] {
  const { d, mean, within } = m;
  const sd = Float64Array.from({ length: d }, (_, i) => Math.sqrt(Math.max(1e-12, within[i * d + i] - mean[i] ** 2)));
  const corr = (mat: Float64Array, i: number, j: number) => (mat[i * d + j] - mean[i] * mean[j]) / (sd[i] * sd[j]);
  return Array.from({ length: d }, (_, i) => {
    let r = -1;
    let l = -1;
    let dn = -1;
    let up = -1;
    for (let j = 0; j < d; j++) {
      r = Math.max(r, corr(m.right, i, j));
      l = Math.max(l, corr(m.right, j, i));
      dn = Math.max(dn, corr(m.below, i, j));
      up = Math.max(up, corr(m.below, j, i));
    }
    return Float64Array.from([mean[i], Math.sqrt(within[i * d + i]), r, l, dn, up]);
  });
}

/** Score change of swapping perm[a] and perm[b] in Σ_{j,j'} M_c[j][j'] · M_r[perm[j]][perm[j']]. */
function swapDelta(mc: Float64Array, mr: Float64Array, perm: Int32Array, a: number, b: number, d: number): number {
  const pa = perm[a];
  const pb = perm[b];
  let delta = 0;
  for (let j = 0; j < d; j++) {
    if (j === a || j === b) continue;
    const pj = perm[j];
    delta += mc[a * d + j] * (mr[pb * d + pj] - mr[pa * d + pj]) + mc[j * d + a] * (mr[pj * d + pb] - mr[pj * d + pa]);
    delta += mc[b * d + j] * (mr[pa * d + pj] - mr[pb * d + pj]) + mc[j * d + b] * (mr[pj * d + pa] - mr[pj * d + pb]);
  }
  delta += mc[a * d + a] * (mr[pb * d + pb] - mr[pa * d + pa]) + mc[b * d + b] * (mr[pa * d + pa] - mr[pb * d + pb]);
  delta += mc[a * d + b] * (mr[pb * d + pa] - mr[pa * d + pb]) + mc[b * d + a] * (mr[pa * d + pb] - mr[pb * d + pa]);
  return delta;
}

function refine(c: Moments, r: Moments, perm: Int32Array): number {
  const d = c.d;
  const pairs: [Float64Array, Float64Array][] = [
    [c.within, r.within],
    [c.right, r.right],
    [c.below, r.below],
  ];
  let swaps = 0;
  for (let sweep = 0; sweep < 100; sweep++) {
    let improved = false;
    for (let a = 0; a < d; a++)
      for (let b = a + 1; b < d; b++) {
        let delta = 0;
        for (const [mc, mr] of pairs) delta += swapDelta(mc, mr, perm, a, b, d);
        if (delta > 1e-12) {
          const t = perm[a];
          perm[a] = perm[b];
          perm[b] = t;
          swaps++;
          improved = true;
        }
      }
    if (!improved) break;
  }
  return swaps;
}

/**
 * Recovers a pixel-shuffle-np key (as the signed permutation of the block vector) from ciphertexts alone, with
 * plaintext reference photos of the same size for the statistics.
 */
export function attackSignedPermutation(opts: {
  ciphertexts: Float32Array;
  reference: Float32Array;
  /** Per image: channels, height, width (CHW). */
  c: number;
  h: number;
  w: number;
  blockSize: number;
}): SignedPermutationAttackResult {
  const per = opts.c * opts.h * opts.w;
  const geom = (data: Float32Array, what: string) =>
    blockGeometry(
      `attackSignedPermutation (${what})`,
      data.length,
      { n: Math.floor(data.length / per), c: opts.c, h: opts.h, w: opts.w, layout: "CHW" },
      { blockSize: opts.blockSize, channels: opts.c },
    );
  const gc = geom(opts.ciphertexts, "ciphertexts");
  const gr = geom(opts.reference, "reference");
  const d = gc.d;
  const cv = blockVectors(opts.ciphertexts, gc);
  const ref = moments(blockVectors(opts.reference, gr), gr);
  const raw = moments(cv, gc);
  let sign = relativeSigns(raw);
  const refMean = ref.mean.reduce((s, v) => s + v, 0) / d;
  const unflippedMean = (s: Int8Array) => raw.mean.reduce((acc, m, j) => acc + (s[j] < 0 ? 1 - m : m), 0) / d;
  const opposite = Int8Array.from(sign, (s) => -s);
  if (Math.abs(unflippedMean(opposite) - refMean) < Math.abs(unflippedMean(sign) - refMean)) sign = opposite;
  const cm = moments(cv, gc, sign);
  const fc = features(cm);
  const fr = features(ref);
  const scale = fr[0].map((_, f) => {
    const vals = fr.map((x) => x[f]);
    const mu = vals.reduce((s, x) => s + x, 0) / d;
    return Math.sqrt(vals.reduce((s, x) => s + (x - mu) ** 2, 0) / d) || 1;
  });
  const cost = new Float64Array(d * d);
  for (let j = 0; j < d; j++)
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let f = 0; f < scale.length; f++) s += ((fc[j][f] - fr[i][f]) / scale[f]) ** 2;
      cost[j * d + i] = s;
    }
  const perm = linearAssignment(cost, d);
  const swaps = refine(cm, ref, perm);
  const flip = Uint8Array.from(sign, (s) => (s < 0 ? 1 : 0));
  return { blockSize: opts.blockSize, channels: opts.c, perm, flip, swaps };
}
