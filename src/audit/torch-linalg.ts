/**
 * The ciphertext-only attack's linear algebra on libtorch (float64 BLAS/LAPACK through the op binding): the same
 * interface as the JS default in src/core/linalg.ts, so `statisticalAttack(c, p, { linalg: torchLinalg })` runs the
 * same search with products, eigendecompositions and polar factors in native code. It lives Node-side (src/cipher
 * stays pure TypeScript for the browser) and is what makes k = 16 (n = 256) practical; bench/attack-linalg.ts times
 * the two side by side.
 */
import { type Linalg, POLAR_FLOOR } from "../core/linalg.ts";
import { aten, fromTypedArray, type Tensor, tidy } from "../torch/index.ts";

const eigh = aten<[Tensor, Tensor]>("aten::linalg_eigh");
const invEx = aten<[Tensor, Tensor]>("aten::linalg_inv_ex");

function square(a: Float64Array, n: number, what: string): Tensor {
  if (a.length !== n * n) throw new Error(`torchLinalg.${what}: expected ${n}×${n} = ${n * n} values, got ${a.length}`);
  return fromTypedArray(a, [n, n]);
}

/** Copies matrices into one [count, n, n] float64 tensor. */
function stacked(ms: readonly Float64Array[], n: number, what: string): Tensor {
  const nn = n * n;
  const buf = new Float64Array(ms.length * nn);
  for (const [i, m] of ms.entries()) {
    if (m.length !== nn) throw new Error(`torchLinalg.${what}: matrix ${i} has ${m.length} values, expected ${nn}`);
    buf.set(m, i * nn);
  }
  return fromTypedArray(buf, [ms.length, n, n]);
}

function out(t: Tensor): Float64Array {
  return t.contiguous().copyTo(new Float64Array(t.numel()));
}

export const torchLinalg: Linalg = {
  name: "torch",
  matmuls(a, b, n) {
    if (a.length !== b.length) throw new Error(`torchLinalg.matmuls: ${a.length} left factors, ${b.length} right`);
    if (a.length === 0) return [];
    const all = tidy(() => out(stacked(a, n, "matmuls").bmm(stacked(b, n, "matmuls"))));
    return a.map((_, i) => all.subarray(i * n * n, (i + 1) * n * n));
  },
  symmetricEigen(a, n) {
    return tidy(() => {
      const [values, vectors] = eigh(square(a, n, "symmetricEigen"), "L");
      return { values: out(values), vectors: out(vectors) };
    });
  },
  invert(a, n) {
    return tidy(() => {
      const [inverse, info] = invEx(square(a, n, "invert"), false);
      if (info.item() !== 0) return null;
      const x = out(inverse);
      for (const v of x) if (!Number.isFinite(v)) return null;
      return x;
    });
  },
  polar(a, n) {
    return tidy(() => {
      const A = square(a, n, "polar");
      const [values, V] = eigh(A.t().mm(A), "L");
      const top = values.max().item();
      if (!(top > 0)) throw new Error("polar: AᵀA is zero");
      // A · V diag(λ^{-1/2}) Vᵀ
      const scaled = V.mul(
        values
          .clamp(POLAR_FLOOR * top, null)
          .rsqrt()
          .unsqueeze(0),
      );
      return out(A.mm(scaled.mm(V.t())));
    });
  },
};
