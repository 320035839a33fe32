/**
 * Small dense float64 linear algebra used by the cipher: inversion, singular values (one-sided Jacobi),
 * Householder QR, and modular (mod 2^8) arithmetic. Matrices are row-major Float64Array n×n (or m×n).
 */

/** C = A·B for square n×n row-major matrices. */
export function matmulSquare(a: Float64Array, b: Float64Array, n: number): Float64Array {
  return matmul(a, b, n, n, n);
}

/** C = A·B for row-major A (m×k) and B (k×n): C is m×n. */
export function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const ai = i * k;
    const ci = i * n;
    for (let l = 0; l < k; l++) {
      const ail = a[ai + l];
      if (ail === 0) continue;
      const bl = l * n;
      for (let j = 0; j < n; j++) c[ci + j] += ail * b[bl + j];
    }
  }
  return c;
}

/**
 * Inverse of an n×n matrix by Gauss–Jordan elimination with partial pivoting, followed by one step of
 * iterative refinement (X ← X + X(I − AX)). Returns null when a pivot is exactly zero (singular).
 */
export function invert(a: Float64Array, n: number): Float64Array | null {
  const w = Float64Array.from(a);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let col = 0; col < n; col++) {
    let piv = col;
    let best = Math.abs(w[col * n + col]);
    for (let r = col + 1; r < n; r++) {
      const v = Math.abs(w[r * n + col]);
      if (v > best) {
        best = v;
        piv = r;
      }
    }
    if (best === 0 || !Number.isFinite(best)) return null;
    if (piv !== col) {
      for (let j = 0; j < n; j++) {
        let t = w[col * n + j];
        w[col * n + j] = w[piv * n + j];
        w[piv * n + j] = t;
        t = inv[col * n + j];
        inv[col * n + j] = inv[piv * n + j];
        inv[piv * n + j] = t;
      }
    }
    const d = 1 / w[col * n + col];
    for (let j = 0; j < n; j++) {
      w[col * n + j] *= d;
      inv[col * n + j] *= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = w[r * n + col];
      if (f === 0) continue;
      const ro = r * n;
      const co = col * n;
      for (let j = 0; j < n; j++) {
        w[ro + j] -= f * w[co + j];
        inv[ro + j] -= f * inv[co + j];
      }
    }
  }
  // One Newton/refinement step: X ← X(2I − AX).
  const ax = matmulSquare(a, inv, n);
  for (let i = 0; i < n * n; i++) ax[i] = -ax[i];
  for (let i = 0; i < n; i++) ax[i * n + i] += 2;
  const refined = matmulSquare(inv, ax, n);
  for (let i = 0; i < refined.length; i++) if (!Number.isFinite(refined[i])) return null;
  return refined;
}

/**
 * Singular values of an m×n matrix (m ≥ n) by one-sided Jacobi (Hestenes) rotations in float64,
 * sorted descending. Accurate to high relative precision, O(n³) per sweep.
 */
export function singularValues(a: Float64Array, m: number, n: number): Float64Array {
  if (m < n) throw new Error("singularValues: need m >= n");
  // Work on columns: store transposed (n columns of length m, contiguous).
  const u = new Float64Array(n * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) u[j * m + i] = a[i * n + j];
  const eps = 2.220446049250313e-16;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      const po = p * m;
      for (let q = p + 1; q < n; q++) {
        const qo = q * m;
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          const x = u[po + i];
          const y = u[qo + i];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= eps * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const x = u[po + i];
          const y = u[qo + i];
          u[po + i] = c * x - s * y;
          u[qo + i] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const sv = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += u[j * m + i] * u[j * m + i];
    sv[j] = Math.sqrt(s);
  }
  sv.sort((x, y) => y - x);
  return sv;
}

/** 2-norm condition number σ_max/σ_min of a square matrix (Infinity when singular). */
export function conditionNumber(a: Float64Array, n: number): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return Number.POSITIVE_INFINITY;
  const sv = singularValues(a, n, n);
  const min = sv[n - 1];
  return min === 0 ? Number.POSITIVE_INFINITY : sv[0] / min;
}

/**
 * Haar-distributed orthogonal matrix from an n×n standard Gaussian matrix G: Householder QR, then
 * Q·diag(sign(diag R)) (Mezzadri 2007), which makes the distribution exactly Haar.
 */
export function haarOrthogonalFromGaussian(g: Float64Array, n: number): Float64Array {
  const r = Float64Array.from(g);
  const vs: Float64Array[] = [];
  const signs = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let norm = 0;
    for (let i = k; i < n; i++) norm += r[i * n + k] * r[i * n + k];
    norm = Math.sqrt(norm);
    const v = new Float64Array(n);
    const x0 = r[k * n + k];
    const alpha = x0 >= 0 ? -norm : norm; // R[k][k] = alpha
    for (let i = k; i < n; i++) v[i] = r[i * n + k];
    v[k] -= alpha;
    let vnorm2 = 0;
    for (let i = k; i < n; i++) vnorm2 += v[i] * v[i];
    if (vnorm2 > 0) {
      for (let j = k; j < n; j++) {
        let dot = 0;
        for (let i = k; i < n; i++) dot += v[i] * r[i * n + j];
        const f = (2 * dot) / vnorm2;
        for (let i = k; i < n; i++) r[i * n + j] -= f * v[i];
      }
    }
    vs.push(vnorm2 > 0 ? v : new Float64Array(n));
    signs[k] = r[k * n + k] < 0 ? -1 : 1;
  }
  // Q = H_0 H_1 ... H_{n-1}; build by applying reflectors to I in reverse order.
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let k = n - 1; k >= 0; k--) {
    const v = vs[k];
    let vnorm2 = 0;
    for (let i = k; i < n; i++) vnorm2 += v[i] * v[i];
    if (vnorm2 === 0) continue;
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let i = k; i < n; i++) dot += v[i] * q[i * n + j];
      const f = (2 * dot) / vnorm2;
      for (let i = k; i < n; i++) q[i * n + j] -= f * v[i];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) q[i * n + j] *= signs[j];
  return q;
}

/** Whether an integer matrix is invertible mod 2 (⇔ odd determinant ⇔ invertible mod 256). */
export function invertibleMod2(a: ArrayLike<number>, n: number): boolean {
  const w = new Uint8Array(n * n);
  for (let i = 0; i < n * n; i++) w[i] = a[i] & 1;
  for (let col = 0; col < n; col++) {
    let piv = -1;
    for (let r = col; r < n; r++) {
      if (w[r * n + col]) {
        piv = r;
        break;
      }
    }
    if (piv < 0) return false;
    if (piv !== col) {
      for (let j = 0; j < n; j++) {
        const t = w[col * n + j];
        w[col * n + j] = w[piv * n + j];
        w[piv * n + j] = t;
      }
    }
    for (let r = col + 1; r < n; r++) {
      if (!w[r * n + col]) continue;
      for (let j = col; j < n; j++) w[r * n + j] ^= w[col * n + j];
    }
  }
  return true;
}

/** Multiplicative inverse of an odd number modulo 256 (Newton iteration x ← x(2 − ax)). */
export function inverseOddMod256(a: number): number {
  if ((a & 1) === 0) throw new Error("inverseOddMod256: even number has no inverse");
  let x = a & 255; // correct to 3 bits for odd a
  for (let i = 0; i < 3; i++) x = (x * (2 - ((a * x) & 255))) & 255;
  return x & 255;
}

/**
 * Inverse modulo 256 of an integer n×n matrix by Gauss–Jordan over Z/256Z with odd (unit) pivots.
 * Returns null when the matrix is not invertible mod 256 (even determinant). Entries are reduced into [0, 255].
 */
export function invertMod256(a: ArrayLike<number>, n: number): Int32Array | null {
  const w = new Int32Array(n * n);
  for (let i = 0; i < n * n; i++) w[i] = ((a[i] % 256) + 256) & 255;
  const inv = new Int32Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let col = 0; col < n; col++) {
    let piv = -1;
    for (let r = col; r < n; r++) {
      if (w[r * n + col] & 1) {
        piv = r;
        break;
      }
    }
    if (piv < 0) return null;
    if (piv !== col) {
      for (let j = 0; j < n; j++) {
        let t = w[col * n + j];
        w[col * n + j] = w[piv * n + j];
        w[piv * n + j] = t;
        t = inv[col * n + j];
        inv[col * n + j] = inv[piv * n + j];
        inv[piv * n + j] = t;
      }
    }
    const d = inverseOddMod256(w[col * n + col]);
    const co = col * n;
    for (let j = 0; j < n; j++) {
      w[co + j] = (w[co + j] * d) & 255;
      inv[co + j] = (inv[co + j] * d) & 255;
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = w[r * n + col];
      if (f === 0) continue;
      const ro = r * n;
      for (let j = 0; j < n; j++) {
        w[ro + j] = (w[ro + j] - f * w[co + j]) & 255;
        inv[ro + j] = (inv[ro + j] - f * inv[co + j]) & 255;
      }
    }
  }
  return inv;
}

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major) by cyclic Jacobi rotations, in float64.
 * Returns the eigenvalues and the eigenvectors as the columns of `vectors` (A = V diag(values) Vᵀ).
 */
export function symmetricEigen(a0: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(a0);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i] ** 2;
      for (let j = i + 1; j < n; j++) off += a[i * n + j] ** 2;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          // rotate columns p, q of A and V
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
        for (let k = 0; k < n; k++) {
          // rotate rows p, q of A
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/** V·diag(f(λ))·Vᵀ for an eigendecomposition of a symmetric n×n matrix (e.g. S^{1/2}, S^{-1/2} from one `symmetricEigen`). */
export function symmetricFunction(
  eig: { values: Float64Array; vectors: Float64Array },
  n: number,
  f: (lambda: number) => number,
): Float64Array {
  const { values, vectors } = eig;
  const out = new Float64Array(n * n);
  for (let e = 0; e < n; e++) {
    const s = f(values[e]);
    for (let i = 0; i < n; i++) {
      const vi = vectors[i * n + e];
      for (let j = 0; j < n; j++) out[i * n + j] += s * (vi * vectors[j * n + e]);
    }
  }
  return out;
}

/** Aᵀ of a square n×n matrix. */
export function transposeSquare(a: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j];
  return t;
}

/**
 * Minimum-cost perfect matching of an n×n cost matrix (row-major): the Hungarian method with potentials, O(n³).
 * Returns match with match[row] = column.
 */
export function linearAssignment(cost: ArrayLike<number>, n: number): Int32Array {
  // 1-based potentials u (rows), v (columns); p[col] = row matched to col; way[col] = previous column on the path
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1);
  const way = new Int32Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(n + 1).fill(Number.POSITIVE_INFINITY);
    const used = new Uint8Array(n + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Number.POSITIVE_INFINITY;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  const match = new Int32Array(n);
  for (let j = 1; j <= n; j++) match[p[j] - 1] = j - 1;
  return match;
}

/** polar(): eigenvalues of AᵀA below this share of the largest are raised to it (a rank-deficient A stays finite). */
export const POLAR_FLOOR = 1e-12;

/** The orthogonal polar factor A (AᵀA)^{-1/2} with this file's Jacobi eigendecomposition (see Linalg.polar). */
export function polarOrthogonal(a: Float64Array, n: number): Float64Array {
  const eig = symmetricEigen(matmulSquare(transposeSquare(a, n), a, n), n);
  const top = Math.max(...eig.values);
  if (!(top > 0)) throw new Error("polar: AᵀA is zero");
  return matmulSquare(
    a,
    symmetricFunction(eig, n, (l) => 1 / Math.sqrt(Math.max(l, POLAR_FLOOR * top))),
    n,
  );
}
