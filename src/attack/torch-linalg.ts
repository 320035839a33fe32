/**
 * The ciphertext-only attack's linear algebra on libtorch (float64 BLAS/LAPACK through the op binding): the same
 * interface as the JS default in linalg.ts, so `statisticalAttack(c, p, { linalg: torchLinalg })` runs the
 * same search with products, eigendecompositions and polar factors in native code. It lives Node-side (the JS
 * backend stays pure TypeScript for the browser) and is what makes k = 16 (n = 256) practical; bench/attack-linalg.ts times
 * the two side by side.
 */
import { POLAR_FLOOR } from "../core/linalg.ts";
import { aten, dispose, fromTypedArray, keep, type Tensor, tidy } from "../torch/index.ts";
import { jsLinalg, type Linalg, type RelationObjective, type RelationStatistics } from "./linalg.ts";

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

/**
 * The indices in `pending` whose factor (by identity) occurs more than once there, grouped by factor; removes them
 * from `pending`.
 */
function groups(factors: readonly Float64Array[], pending: Set<number>): Map<Float64Array, number[]> {
  const by = new Map<Float64Array, number[]>();
  for (const i of pending) {
    const g = by.get(factors[i]);
    if (g) g.push(i);
    else by.set(factors[i], [i]);
  }
  for (const [f, idx] of by)
    if (idx.length < 2) by.delete(f);
    else for (const i of idx) pending.delete(i);
  return by;
}

/**
 * The attack's matching objective with the relations held as libtorch tensors, laid out so that each half of the
 * objective and of its gradient is one GEMM over all R relations (inner dimension R·n): a step copies only M in and
 * the gradient out, where matmuls() would copy every relation in and every product out (about 2× faster at n = 256).
 */
export function torchRelationObjective(s: RelationStatistics, n: number): RelationObjective {
  const R = s.Lp.length;
  if (s.Lc.length !== R) throw new Error(`torchRelationObjective: ${R} plaintext relations, ${s.Lc.length} ciphertext`);
  for (const [what, m] of [
    ["mp", s.mp],
    ["mc", s.mc],
  ] as const)
    if (m.length !== n) throw new Error(`torchRelationObjective: ${what} has ${m.length} values, expected ${n}`);
  const held = tidy(() => {
    const Lp = stacked(s.Lp, n, "relationObjective");
    const Lc = stacked(s.Lc, n, "relationObjective");
    return {
      /** [Lc(1) … Lc(R)], n × R·n: M·LcCat holds every M·Lc(r). */
      LcCat: Lc.permute(1, 0, 2)
        .reshape([n, R * n])
        .contiguous(),
      /** [Lp(1); …; Lp(R)], R·n × n: LpStack·M holds every Lp(r)·M. */
      LpStack: Lp.reshape([R * n, n]),
      /** [Lc(1)ᵀ; …; Lc(R)ᵀ], R·n × n. */
      LcTStack: Lc.transpose(1, 2)
        .reshape([R * n, n])
        .contiguous(),
      /** [Lp(1)ᵀ … Lp(R)ᵀ], n × R·n. */
      LpTCat: Lp.transpose(1, 2)
        .permute(1, 0, 2)
        .reshape([n, R * n])
        .contiguous(),
      mp: fromTypedArray(s.mp, [1, n]),
      mc: fromTypedArray(s.mc, [1, n]),
    };
  });
  for (const t of Object.values(held)) keep(t);
  /** At the last value()'s M: E(r) = M·Lc(r) − Lp(r)·M as [n, R, n] (E[i, r, j] = E(r)[i, j]), and mc − mp·M. */
  let last: { E: Tensor; e: Tensor } | null = null;
  const forget = () => {
    if (last) dispose(last);
    last = null;
  };
  return {
    value(M) {
      forget();
      const { E, e, value } = tidy(() => {
        const Mt = square(M, n, "relationObjective");
        const E = Mt.mm(held.LcCat)
          .reshape([n, R, n])
          .sub(held.LpStack.mm(Mt).reshape([R, n, n]).permute(1, 0, 2));
        const e = held.mc.sub(held.mp.mm(Mt));
        return { E, e, value: E.mul(E).sum().item() + e.mul(e).sum().item() };
      });
      last = { E: keep(E), e: keep(e) };
      return value;
    },
    gradient() {
      if (!last) throw new Error("torchRelationObjective: gradient() before value()");
      const { E, e } = last;
      return tidy(() => {
        const ELcT = E.reshape([n, R * n]).mm(held.LcTStack);
        const LpTE = held.LpTCat.mm(E.permute(1, 0, 2).reshape([R * n, n]));
        return out(ELcT.sub(LpTE).mul(2).sub(held.mp.t().mm(e).mul(2)));
      });
    },
    dispose() {
      forget();
      dispose(held);
    },
  };
}

export const torchLinalg: Linalg = {
  name: "torch",
  matmuls(a, b, n) {
    if (a.length !== b.length) throw new Error(`torchLinalg.matmuls: ${a.length} left factors, ${b.length} right`);
    const nn = n * n;
    const result: Float64Array[] = new Array(a.length);
    /** Hands out the g-th n×n block of a result buffer to product i (blocks of one buffer never overlap). */
    const give = (i: number, got: Float64Array, g: number) => {
      result[i] = got.subarray(g * nn, (g + 1) * nn);
    };
    tidy(() => {
      // products that share a factor (the attack passes the same array, e.g. M·L(r) for every relation r) become
      // one large GEMM, which BLAS runs far faster than a batch of small ones: [A_1; …; A_g]·B, then A·[B_1 … B_g]
      const pending = new Set<number>(a.keys());
      for (const [B, idx] of groups(b, pending)) {
        const y = stacked(
          idx.map((i) => a[i]),
          n,
          "matmuls",
        )
          .reshape([idx.length * n, n])
          .mm(square(B, n, "matmuls"));
        const got = out(y);
        for (const [g, i] of idx.entries()) give(i, got, g);
      }
      for (const [A, idx] of groups(a, pending)) {
        // A·[B_1 … B_g] on the [n, g·n] concatenation, split back into g blocks
        const Bcat = stacked(
          idx.map((i) => b[i]),
          n,
          "matmuls",
        )
          .permute(1, 0, 2)
          .reshape([n, idx.length * n]);
        const y = square(A, n, "matmuls").mm(Bcat).reshape([n, idx.length, n]).permute(1, 0, 2);
        const got = out(y);
        for (const [g, i] of idx.entries()) give(i, got, g);
      }
      const rest = [...pending];
      if (rest.length > 0) {
        const got = out(
          stacked(
            rest.map((i) => a[i]),
            n,
            "matmuls",
          ).bmm(
            stacked(
              rest.map((i) => b[i]),
              n,
              "matmuls",
            ),
          ),
        );
        for (const [g, i] of rest.entries()) give(i, got, g);
      }
    });
    return result;
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
  relationObjective: torchRelationObjective,
};

/**
 * Matrices smaller than this (n = k², so below k = 8) stay on the JS loops in `attackLinalg`: at n = 16 one search
 * step takes 0.2 ms in JS and 0.3 ms through libtorch (the per-call copies and dispatch dominate); at n = 64 libtorch
 * is 3× faster and at n = 256 30–45× (BENCHMARKS.md, bench/attack-linalg.ts).
 */
export const TORCH_MIN_N = 64;

/** The backend the Node-side attack uses: JS below TORCH_MIN_N (k ≤ 7, bit for bit the browser's), libtorch above. */
export const attackLinalg: Linalg = {
  name: "auto",
  matmuls: (a, b, n) => (n < TORCH_MIN_N ? jsLinalg : torchLinalg).matmuls(a, b, n),
  symmetricEigen: (a, n) => (n < TORCH_MIN_N ? jsLinalg : torchLinalg).symmetricEigen(a, n),
  invert: (a, n) => (n < TORCH_MIN_N ? jsLinalg : torchLinalg).invert(a, n),
  polar: (a, n) => (n < TORCH_MIN_N ? jsLinalg : torchLinalg).polar(a, n),
  relationObjective: (s, n) => (n < TORCH_MIN_N ? null : torchRelationObjective(s, n)),
};
