// The ciphertext-only attack's linear algebra, JS loops (src/core/linalg.ts, the browser-safe default) vs libtorch
// (src/attack/torch-linalg.ts), side by side in one run on the same inputs, at n = k² = 16, 64, 256 (k = 4, 8, 16).
//   step:  one iteration of the attack's gradient descent (statistical-attack.ts, descend(): M − lr·G, its polar
//          factor, the objective's 8 products in one call and the gradient's 8 in another), the search's inner loop
//          (400 per start at k > 4);
//   start: one random start's linear algebra (two symmetric eigendecompositions and the 16 products that put the
//          problem in the two eigenbases; the sign/swap search after it is O(n) per move in JS either way).
//   resident step (n ≥ 64): the same step with the 13 relations the attack has at k ≥ 8 (4 neighbours + 9 energy-weighted),
//          on libtorch through matmuls() vs torchRelationObjective (the relations held as tensors, one GEMM per half).
// Times are the best of --rounds (10× as many below n = 256, where one call takes milliseconds; the minimum filters
// out other processes on a shared machine); ratio = js / torch.
//   node --import tsx bench/attack-linalg.ts [--rounds 3] [--sizes 16,64,256]
import { parseArgs } from "node:util";
import { jsLinalg, type Linalg } from "../src/attack/linalg.ts";
import { torchLinalg, torchRelationObjective } from "../src/attack/torch-linalg.ts";
import { transposeSquare } from "../src/core/linalg.ts";
import { mulberry32 } from "../src/core/rng.ts";
import { getNumThreads } from "../src/torch/index.ts";

const { values: a } = parseArgs({
  options: { rounds: { type: "string", default: "3" }, sizes: { type: "string", default: "16,64,256" } },
});
const rounds = Number(a.rounds);
/** The attack's neighbour relations per channel (moments.ts: right, lower, lower-right, lower-left). */
const RELATIONS = 4;

function problem(n: number, relations = RELATIONS) {
  const rng = mulberry32(n);
  const m = () => Float64Array.from({ length: n * n }, () => 2 * rng() - 1);
  const sym = () => {
    const x = m();
    return x.map((_, i) => (x[i] + x[(i % n) * n + Math.floor(i / n)]) / 2);
  };
  const Lp = Array.from({ length: relations }, m);
  const Lc = Array.from({ length: relations }, m);
  return {
    Lp,
    Lc,
    LpT: Lp.map((x) => transposeSquare(x, n)),
    LcT: Lc.map((x) => transposeSquare(x, n)),
    mp: Float64Array.from({ length: n }, () => rng()),
    mc: Float64Array.from({ length: n }, () => rng()),
    M: jsLinalg.polar(m(), n),
    G: m(),
    S: [sym(), sym()],
  };
}
type Problem = ReturnType<typeof problem>;

function step(la: Linalg, p: Problem, n: number): number {
  const M2 = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) M2[i] = p.M[i] - 0.01 * p.G[i];
  const P = la.polar(M2, n);
  const R = p.Lp.length;
  const Ps = Array<Float64Array>(R).fill(P);
  const prods = la.matmuls([...Ps, ...p.Lp], [...p.Lc, ...Ps], n);
  const res = prods.slice(0, R).map((x, r) => x.map((v, i) => v - prods[R + r][i]));
  const grad = la.matmuls([...res, ...p.LpT], [...p.LcT, ...res], n);
  return grad[0][0];
}

function start(la: Linalg, p: Problem, n: number): number {
  const [ep, ec] = p.S.map((s) => la.symmetricEigen(s, n).vectors);
  const half = la.matmuls([...p.Lp, ...p.Lc], [...Array(RELATIONS).fill(ep), ...Array(RELATIONS).fill(ec)], n);
  const epT = transposeSquare(ep, n);
  const ecT = transposeSquare(ec, n);
  return la.matmuls([...Array(RELATIONS).fill(epT), ...Array(RELATIONS).fill(ecT)], half, n)[0][0];
}

function best(fn: () => number, n: number): number {
  let t = Number.POSITIVE_INFINITY;
  for (let r = 0; r < (n < 256 ? 10 * rounds : rounds); r++) {
    const t0 = performance.now();
    fn();
    t = Math.min(t, performance.now() - t0);
  }
  return t;
}

console.log(`libtorch threads ${getNumThreads()}; best of ${rounds} rounds (n < 256: ${10 * rounds}); times in ms`);
console.log("n     what    js          torch       js/torch");
for (const n of a.sizes.split(",").map(Number)) {
  const p = problem(n);
  step(torchLinalg, p, n); // warm-up: libtorch's first calls load kernels
  for (const [what, fn] of [
    ["step", step],
    ["start", start],
  ] as const) {
    const js = best(() => fn(jsLinalg, p, n), n);
    const torch = best(() => fn(torchLinalg, p, n), n);
    console.log(
      `${String(n).padEnd(6)}${what.padEnd(8)}${js.toFixed(2).padEnd(12)}${torch.toFixed(2).padEnd(12)}${(js / torch).toFixed(1)}×`,
    );
  }
}

/** The attack's relations at k ≥ 8: 4 neighbour covariances + 9 energy-weighted ones. */
const ATTACK_RELATIONS = 13;
console.log(
  `\nresident step, ${ATTACK_RELATIONS} relations, libtorch: matmuls() vs torchRelationObjective; times in ms`,
);
console.log("n     matmuls     resident    matmuls/resident");
for (const n of a.sizes
  .split(",")
  .map(Number)
  .filter((n) => n >= 64)) {
  const p = problem(n, ATTACK_RELATIONS);
  const f = torchRelationObjective(p, n);
  // the first table's step (polar factor, objective, gradient), with the objective held as tensors
  const resident = () => {
    const M2 = p.M.map((x, i) => x - 0.01 * p.G[i]);
    f.value(torchLinalg.polar(M2, n));
    return f.gradient()[0];
  };
  const tm = best(() => step(torchLinalg, p, n), n);
  const tr = best(resident, n);
  f.dispose();
  console.log(`${String(n).padEnd(6)}${tm.toFixed(2).padEnd(12)}${tr.toFixed(2).padEnd(12)}${(tm / tr).toFixed(1)}×`);
}
