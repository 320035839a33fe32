/**
 * A fast 2-norm condition number for large square matrices: one LU factorisation with partial pivoting
 * ((2/3)n³ flops, once) and power iterations for σ_max (on AᵀA) and 1/σ_min (on A⁻¹A⁻ᵀ, through the LU; O(n²) each).
 * For n = 1024 (a k = 32 block key) it takes about a second where the one-sided Jacobi SVD takes minutes.
 *
 * Power iteration approaches each extreme singular value from inside, so the estimate is a lower bound of cond₂;
 * iterations stop when both estimates change by less than `tol` (relative), which in practice puts the estimate
 * within a few percent of the exact value (see test/cipher/condition.test.ts).
 */

/** LU with partial pivoting of a row-major n×n matrix: PA = LU in one array (L unit-lower), or null if singular. */
export function luFactor(a: ArrayLike<number>, n: number): { lu: Float64Array; perm: Int32Array } | null {
  const lu = Float64Array.from(a);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let col = 0; col < n; col++) {
    let piv = col;
    let best = Math.abs(lu[col * n + col]);
    for (let r = col + 1; r < n; r++) {
      const v = Math.abs(lu[r * n + col]);
      if (v > best) {
        best = v;
        piv = r;
      }
    }
    if (best === 0 || !Number.isFinite(best)) return null;
    if (piv !== col) {
      const a0 = col * n;
      const b0 = piv * n;
      for (let j = 0; j < n; j++) {
        const t = lu[a0 + j];
        lu[a0 + j] = lu[b0 + j];
        lu[b0 + j] = t;
      }
      const t = perm[col];
      perm[col] = perm[piv];
      perm[piv] = t;
    }
    const d = lu[col * n + col];
    const co = col * n;
    for (let r = col + 1; r < n; r++) {
      const ro = r * n;
      const f = lu[ro + col] / d;
      lu[ro + col] = f;
      if (f === 0) continue;
      for (let j = col + 1; j < n; j++) lu[ro + j] -= f * lu[co + j];
    }
  }
  return { lu, perm };
}

/** Solves A x = b given PA = LU. */
function solve(lu: Float64Array, perm: Int32Array, n: number, b: Float64Array): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = b[perm[i]];
  for (let i = 0; i < n; i++) {
    let s = x[i];
    const ro = i * n;
    for (let j = 0; j < i; j++) s -= lu[ro + j] * x[j];
    x[i] = s;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    const ro = i * n;
    for (let j = i + 1; j < n; j++) s -= lu[ro + j] * x[j];
    x[i] = s / lu[ro + i];
  }
  return x;
}

/** Solves Aᵀ x = b given PA = LU (Aᵀ = UᵀLᵀP). */
function solveTransposed(lu: Float64Array, perm: Int32Array, n: number, b: Float64Array): Float64Array {
  const s = Float64Array.from(b);
  // Uᵀ s' = b (forward, column access of U)
  for (let i = 0; i < n; i++) {
    const v = s[i] / lu[i * n + i];
    s[i] = v;
    for (let r = i + 1; r < n; r++) s[r] -= lu[i * n + r] * v;
  }
  // Lᵀ t = s' (backward, unit diagonal)
  for (let i = n - 1; i >= 0; i--) {
    const v = s[i];
    for (let r = 0; r < i; r++) s[r] -= lu[i * n + r] * v;
  }
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[perm[i]] = s[i];
  return x;
}

function norm(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

function scale(v: Float64Array, f: number): void {
  for (let i = 0; i < v.length; i++) v[i] *= f;
}

/** √λ_max of the symmetric positive operator `apply` by power iteration from a fixed, dense start vector. */
function powerNorm(n: number, apply: (v: Float64Array) => Float64Array, tol: number, maxIter: number): number {
  let v: Float64Array = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = 1 + ((i * 7919) % 13) / 13; // deterministic, not orthogonal to anything special
  scale(v, 1 / norm(v));
  let est = 0;
  for (let it = 0; it < maxIter; it++) {
    const w = apply(v);
    const lambda = norm(w);
    if (!(lambda > 0) || !Number.isFinite(lambda)) return lambda;
    const next = Math.sqrt(lambda);
    scale(w, 1 / lambda);
    v = w;
    if (it > 2 && Math.abs(next - est) <= tol * next) return next;
    est = next;
  }
  return est;
}

/** Estimated 2-norm condition number σ_max/σ_min (Infinity when singular or non-finite); see the file comment. */
export function conditionEstimate(
  a: ArrayLike<number>,
  n: number,
  opts: { tol?: number; maxIter?: number } = {},
): number {
  for (let i = 0; i < n * n; i++) if (!Number.isFinite(a[i])) return Number.POSITIVE_INFINITY;
  const f = luFactor(a, n);
  if (!f) return Number.POSITIVE_INFINITY;
  const tol = opts.tol ?? 1e-4;
  const maxIter = opts.maxIter ?? 300;
  const mulA = (v: Float64Array) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      const ro = i * n;
      for (let j = 0; j < n; j++) s += a[ro + j] * v[j];
      out[i] = s;
    }
    return out;
  };
  const mulAt = (v: Float64Array) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const vi = v[i];
      const ro = i * n;
      for (let j = 0; j < n; j++) out[j] += a[ro + j] * vi;
    }
    return out;
  };
  const sMax = powerNorm(n, (v) => mulAt(mulA(v)), tol, maxIter);
  const invMin = powerNorm(n, (v) => solve(f.lu, f.perm, n, solveTransposed(f.lu, f.perm, n, v)), tol, maxIter);
  const c = sMax * invMin;
  return Number.isFinite(c) ? c : Number.POSITIVE_INFINITY;
}
