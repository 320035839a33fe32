/**
 * The eavesdropper's answer to block scrambling: a dataset-level jigsaw solved from the ciphertexts alone.
 *
 * A scrambling key moves the blocks of EVERY image by the same secret permutation, and the Hill cipher uses one
 * matrix K_ch per channel at every position. Whiten each channel's ciphertext blocks with their pooled covariance
 * (z = (c − μ)·Σ^{-1/2}); then z = w·Q_ch with w the whitened plaintext block and Q_ch an unknown orthogonal matrix,
 * so the cross-covariance of the blocks at two ciphertext positions, M_ij = E[z_iᵀ z_j] = Q_chᵀ E[w_iᵀ w_j] Q_ch, is
 * large when the two blocks were neighbours in the image and has the same form Q_chᵀ A Q_ch for every horizontal
 * pair (Q_chᵀ B Q_ch for every vertical pair; transposed when the order is reversed). The solver:
 *  1. computes every M_ij over the sample (one matrix product);
 *  2. takes the strongest pair's M as the template of one neighbour direction, and the strongest pair unlike it
 *     (and unlike its transpose) as the other direction's;
 *  3. scores every ordered pair (i, j) and direction by the projection of M_ij on the template, and places the
 *     blocks greedily, strongest first: fragments of placed blocks merge when the new relation puts no two blocks in
 *     one cell and keeps the fragment inside the grid (as in greedy jigsaw solvers);
 *  4. refits the templates on the placed pairs and places again.
 * The layout it finds is the true one up to the grid's symmetries (a mirror or a transpose: 8 for a square grid),
 * which a person resolves at a glance (the sky is up); the audit measures with the symmetry that agrees best with the
 * true layout and says so.
 *
 * Layering: src/attack (uses torch for the one large matrix product and core/linalg for the whitening).
 */
import { symmetricEigen, symmetricFunction } from "../core/linalg.ts";
import { fromTypedArray, noGrad, tidy } from "../torch/index.ts";

/** Every setting of the solver, with units. */
export const JIGSAW = {
  /** Ciphertext images whose statistics the solver uses (at most; the sample given). */
  images: 5000,
  /** Eigenvalues of a channel's block covariance are floored at this share of the largest before whitening. */
  eigenFloor: 1e-6,
  /** A pair is "unlike" a template when |cos| with it and with its transpose are both below this. */
  unlike: 0.5,
  /** Placement passes: the first with the initial templates, the rest with templates refitted on placed pairs. */
  passes: 2,
  /**
   * Largest per-channel cross-covariance matrix, in float32 entries ((positions·k²)², 512 MB): 64×64 images at
   * k = 8 need 16.8 M, 224×224 at k = 8 would need 2.5 G and are refused (JigsawTooLarge).
   */
  maxGramEntries: 2 ** 27,
} as const;

/** The grid is too large for the solver's memory bound (JIGSAW.maxGramEntries). */
export class JigsawTooLarge extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JigsawTooLarge";
  }
}

export interface JigsawResult {
  /**
   * Estimated original position of the block at each ciphertext position (the same convention as the key's
   * permutation: the block at ciphertext position j came from position permutation[j]).
   */
  permutation: Int32Array;
  /** Share of positions that ended in one fragment with the rest (1 = a whole grid was assembled). */
  assembled: number;
  images: number;
  seconds: number;
}

export interface GridSize {
  gh: number;
  gw: number;
}

/** The grid's sizes: gh×gw positions P of d = k² values, C channels; D = P·d; F features per ordered pair. */
interface Grid {
  gh: number;
  gw: number;
  P: number;
  d: number;
  C: number;
  D: number;
  F: number;
}

/** A placement: the ciphertext position in each cell (−1: empty) and how many were placed. */
interface Layout {
  cells: Int32Array;
  placed: number;
}

/**
 * Solves the layout of a gh×gw block grid from N×C×H×W ciphertexts (CHW, float32) of block size k.
 */
export function solveBlockJigsaw(
  cipher: Float32Array,
  dims: { n: number; c: number; h: number; w: number },
  k: number,
): JigsawResult {
  const t0 = performance.now();
  const g = gridOf(dims, k);
  if (cipher.length !== dims.n * dims.c * dims.h * dims.w) throw new Error("solveBlockJigsaw: data and dims disagree");
  const G = positionCovariances(cipher, dims, k, g);
  const { feats, norms } = pairFeatures(G, g);
  let templates = initialTemplates(feats, norms, g);
  let layout = place(templates, feats, g);
  for (let pass = 1; pass < JIGSAW.passes; pass++) {
    const refit = refitTemplates(layout, feats, g);
    if (!refit) break;
    templates = refit;
    layout = place(templates, feats, g);
  }
  return {
    permutation: layoutPermutation(layout, g.P),
    assembled: layout.placed / g.P,
    images: dims.n,
    seconds: (performance.now() - t0) / 1000,
  };
}

function gridOf(dims: { c: number; h: number; w: number }, k: number): Grid {
  const { c: C, h, w } = dims;
  const gh = h / k;
  const gw = w / k;
  if (!Number.isInteger(gh) || !Number.isInteger(gw))
    throw new Error(`solveBlockJigsaw: ${h}×${w} is not k=${k} blocks`);
  const P = gh * gw;
  const d = k * k;
  if ((P * d) ** 2 > JIGSAW.maxGramEntries)
    throw new JigsawTooLarge(
      `jigsaw: a ${gh}×${gw} grid of ${k}×${k} blocks needs a ${P * d}² cross-covariance per channel, more than ` +
        `${JIGSAW.maxGramEntries} entries`,
    );
  return { gh, gw, P, d, C, D: P * d, F: C * d * d };
}

/**
 * Per channel, every position pair's cross-covariance in one product: G_ch = Z_chᵀ Z_ch / N, Z_ch the N × (positions
 * · k²) blocks, whitened per channel from the blocks pooled over images and positions.
 */
function positionCovariances(
  cipher: Float32Array,
  dims: { n: number; c: number; h: number; w: number },
  k: number,
  g: Grid,
): Float32Array[] {
  const { n: N, c: C, h, w } = dims;
  const { P, d, D, gw } = g;
  const block = (img: number, ch: number, pos: number, out: Float64Array) => {
    const base = (img * C + ch) * h * w + Math.floor(pos / gw) * k * w + (pos % gw) * k;
    for (let r = 0; r < k; r++) for (let q = 0; q < k; q++) out[r * k + q] = cipher[base + r * w + q];
  };
  const Z = new Float32Array(N * D);
  const v = new Float64Array(d);
  const G: Float32Array[] = [];
  for (let ch = 0; ch < C; ch++) {
    const { mean, W } = blockWhitening((img, pos, out) => block(img, ch, pos, out), N, P, d);
    for (let img = 0; img < N; img++)
      for (let pos = 0; pos < P; pos++) {
        block(img, ch, pos, v);
        for (let a = 0; a < d; a++) v[a] -= mean[a];
        const o = img * D + pos * d;
        for (let b = 0; b < d; b++) {
          let s = 0;
          for (let a = 0; a < d; a++) s += v[a] * W[a * d + b];
          Z[o + b] = s;
        }
      }
    G.push(
      tidy(() =>
        noGrad(() => {
          const z = fromTypedArray(Z, [N, D]);
          return z
            .t()
            .matmul(z)
            .mul(1 / N)
            .toFloat32Array();
        }),
      ),
    );
  }
  return G;
}

/** The mean and whitening matrix Σ^{-1/2} (eigenvalues floored) of one channel's blocks over all images and positions. */
function blockWhitening(
  block: (img: number, pos: number, out: Float64Array) => void,
  N: number,
  P: number,
  d: number,
): { mean: Float64Array; W: Float64Array } {
  const v = new Float64Array(d);
  const mean = new Float64Array(d);
  const cov = new Float64Array(d * d);
  for (let img = 0; img < N; img++)
    for (let pos = 0; pos < P; pos++) {
      block(img, pos, v);
      for (let a = 0; a < d; a++) {
        mean[a] += v[a];
        for (let b = 0; b < d; b++) cov[a * d + b] += v[a] * v[b];
      }
    }
  const cnt = N * P;
  for (let a = 0; a < d; a++) mean[a] /= cnt;
  for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a * d + b] = cov[a * d + b] / cnt - mean[a] * mean[b];
  const eig = symmetricEigen(cov, d);
  const floor = Math.max(...eig.values) * JIGSAW.eigenFloor;
  return { mean, W: symmetricFunction(eig, d, (l) => 1 / Math.sqrt(Math.max(l, floor))) };
}

/** Features of every ordered pair i ≠ j: the C within-channel d×d cross-covariances, and their norms. */
function pairFeatures(G: Float32Array[], g: Grid): { feats: Float64Array[]; norms: Float64Array } {
  const { P, d, C, D, F } = g;
  const feats: Float64Array[] = new Array(P * P);
  const norms = new Float64Array(P * P);
  for (let i = 0; i < P; i++)
    for (let j = 0; j < P; j++) {
      if (i === j) continue;
      const f = new Float64Array(F);
      for (let ch = 0; ch < C; ch++)
        for (let a = 0; a < d; a++)
          for (let b = 0; b < d; b++) f[ch * d * d + a * d + b] = G[ch][(i * d + a) * D + j * d + b];
      feats[i * P + j] = f;
      norms[i * P + j] = Math.sqrt(dot(f, f));
    }
  return { feats, norms };
}

/** The initial direction templates: the strongest pair, and the strongest pair unlike it (or its transpose). */
function initialTemplates(feats: Float64Array[], norms: Float64Array, g: Grid): Float64Array[] {
  const { P, C, d, F } = g;
  const order = Array.from({ length: P * P }, (_, i) => i)
    .filter((i) => Math.floor(i / P) !== i % P)
    .sort((a, b) => norms[b] - norms[a]);
  const t1 = feats[order[0]];
  const t1t = new Float64Array(F);
  for (let ch = 0; ch < C; ch++)
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) t1t[ch * d * d + b * d + a] = t1[ch * d * d + a * d + b];
  const n1 = Math.sqrt(dot(t1, t1));
  const unlike = order.find((i) => {
    const c1 = dot(feats[i], t1) / (norms[i] * n1);
    const c2 = dot(feats[i], t1t) / (norms[i] * n1);
    return Math.abs(c1) < JIGSAW.unlike && Math.abs(c2) < JIGSAW.unlike;
  });
  return [t1, unlike === undefined ? t1t : feats[unlike]];
}

/** Templates refitted as the mean features of the placed right- and down-neighbour pairs (null: none placed). */
function refitTemplates(layout: Layout, feats: Float64Array[], g: Grid): Float64Array[] | null {
  const { gh, gw, P, F } = g;
  const sums = [new Float64Array(F), new Float64Array(F)];
  const counts = [0, 0];
  for (let y = 0; y < gh; y++)
    for (let x = 0; x < gw; x++) {
      const i = layout.cells[y * gw + x];
      if (i < 0) continue;
      for (const [dir, dy, dx] of [
        [0, 0, 1],
        [1, 1, 0],
      ] as const) {
        if (y + dy >= gh || x + dx >= gw) continue;
        const j = layout.cells[(y + dy) * gw + x + dx];
        if (j < 0) continue;
        const f = feats[i * P + j];
        for (let t = 0; t < F; t++) sums[dir][t] += f[t];
        counts[dir]++;
      }
    }
  if (counts[0] === 0 || counts[1] === 0) return null;
  return sums.map((s, dir) => s.map((x) => x / counts[dir]));
}

/** Fragments during placement: each position's fragment and its offset in that fragment's frame. */
interface Fragments {
  frag: Int32Array;
  py: Int32Array;
  px: Int32Array;
  members: number[][];
}

/** Greedy placement with two direction templates (0: j right of i, 1: j below i); the largest fragment at the origin. */
function place(tpl: Float64Array[], feats: Float64Array[], g: Grid): Layout {
  const { P, gw } = g;
  const tn = tpl.map((t) => Math.sqrt(dot(t, t)) || 1);
  const cand: { i: number; j: number; dir: number; s: number }[] = [];
  for (let i = 0; i < P; i++)
    for (let j = 0; j < P; j++) {
      if (i === j) continue;
      for (let dir = 0; dir < 2; dir++) {
        const s = dot(feats[i * P + j], tpl[dir]) / tn[dir];
        if (s > 0) cand.push({ i, j, dir, s });
      }
    }
  cand.sort((a, b) => b.s - a.s);
  const fr: Fragments = {
    frag: Int32Array.from({ length: P }, (_, i) => i),
    py: new Int32Array(P),
    px: new Int32Array(P),
    members: Array.from({ length: P }, (_, i) => [i]),
  };
  for (const { i, j, dir } of cand) if (fr.frag[i] !== fr.frag[j]) merge(fr, i, j, dir, g);
  const main = fr.members.reduce((a, b) => (b.length > a.length ? b : a));
  const y0 = Math.min(...main.map((m) => fr.py[m]));
  const x0 = Math.min(...main.map((m) => fr.px[m]));
  const cells = new Int32Array(P).fill(-1);
  for (const m of main) cells[(fr.py[m] - y0) * gw + (fr.px[m] - x0)] = m;
  return { cells, placed: main.length };
}

/**
 * Puts j's fragment next to i (right: dir 0, below: dir 1) in i's fragment's frame, unless a cell clashes or the
 * union would not fit the grid.
 */
function merge(fr: Fragments, i: number, j: number, dir: number, g: Grid): void {
  const { frag, py, px, members } = fr;
  const [fi, fj] = [frag[i], frag[j]];
  const oy = py[i] + (dir === 1 ? 1 : 0) - py[j];
  const ox = px[i] + (dir === 0 ? 1 : 0) - px[j];
  const occupied = new Set(members[fi].map((m) => `${py[m]},${px[m]}`));
  const ys = members[fi].map((m) => py[m]);
  const xs = members[fi].map((m) => px[m]);
  for (const m of members[fj]) {
    if (occupied.has(`${py[m] + oy},${px[m] + ox}`)) return;
    ys.push(py[m] + oy);
    xs.push(px[m] + ox);
  }
  if (Math.max(...ys) - Math.min(...ys) + 1 > g.gh || Math.max(...xs) - Math.min(...xs) + 1 > g.gw) return;
  for (const m of members[fj]) {
    py[m] += oy;
    px[m] += ox;
    frag[m] = fi;
  }
  members[fi] = members[fi].concat(members[fj]);
  members[fj] = [];
}

/**
 * The estimate: the cell (row-major in the found layout) of each ciphertext position; positions left outside the
 * main fragment fill the empty cells in order.
 */
function layoutPermutation(layout: Layout, P: number): Int32Array {
  const permutation = new Int32Array(P).fill(-1);
  const empty: number[] = [];
  for (let cell = 0; cell < P; cell++) {
    const i = layout.cells[cell];
    if (i >= 0) permutation[i] = cell;
    else empty.push(cell);
  }
  for (let i = 0; i < P; i++) if (permutation[i] < 0) permutation[i] = empty.shift() ?? 0;
  return permutation;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * The 8 symmetries of a square gh×gw grid (4 for a non-square one) as maps cell → cell, the identity first.
 */
export function gridSymmetries({ gh, gw }: GridSize): Int32Array[] {
  const out: Int32Array[] = [];
  const maps: ((y: number, x: number) => [number, number] | null)[] = [
    (y, x) => [y, x],
    (y, x) => [y, gw - 1 - x],
    (y, x) => [gh - 1 - y, x],
    (y, x) => [gh - 1 - y, gw - 1 - x],
  ];
  if (gh === gw)
    maps.push(
      (y, x) => [x, y],
      (y, x) => [x, gh - 1 - y],
      (y, x) => [gw - 1 - x, y],
      (y, x) => [gw - 1 - x, gh - 1 - y],
    );
  for (const f of maps) {
    const m = new Int32Array(gh * gw);
    for (let y = 0; y < gh; y++)
      for (let x = 0; x < gw; x++) {
        const t = f(y, x) as [number, number];
        m[y * gw + x] = t[0] * gw + t[1];
      }
    out.push(m);
  }
  return out;
}

/**
 * Measurement only (with the true permutation): the grid symmetry of `estimate` that agrees best with `truth`,
 * the estimate under it, and the share of positions it places right.
 */
export function orientLike(
  estimate: Int32Array,
  truth: Int32Array,
  grid: GridSize,
): { permutation: Int32Array; correct: number; symmetry: number } {
  let best = { permutation: estimate, correct: -1, symmetry: 0 };
  for (const [s, sym] of gridSymmetries(grid).entries()) {
    const p = Int32Array.from(estimate, (cell) => sym[cell]);
    let ok = 0;
    for (let j = 0; j < p.length; j++) if (p[j] === truth[j]) ok++;
    if (ok > best.correct) best = { permutation: p, correct: ok, symmetry: s };
  }
  return { ...best, correct: best.correct / estimate.length };
}
