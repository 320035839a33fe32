// The ciphertext-only attack's variance weighting (StatisticalAttackOptions.weight): at weight 1 the objective is the
// pixel-space mismatch of the decrypted statistics (checked here against a direct float64 computation from the raw
// covariances, an independent route), it tends to the unweighted objective as the weight goes to 0, and a search
// under it recovers the key from exact statistics (which needs a correct gradient).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  attackObjectiveAtKey,
  BlockMoments,
  encrypt,
  generateKey,
  NEIGHBOUR_OFFSETS,
  statisticalAttack,
} from "../../src/cipher/index.ts";
import { defaultShrink, defaultWeight, objectiveAndGradient } from "../../src/cipher/statistical-attack.ts";
import { smoothImages } from "../audit/images.ts";

const [c, size, k] = [1, 16, 2];
const n = k * k;
const dims = (m: number) => ({ n: m, c, h: size, w: size, layout: "CHW" as const });

function mm(a: Float64Array, b: Float64Array, t = false): Float64Array {
  // a·b, or aᵀ·b with t
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < n; l++) s += (t ? a[l * n + i] : a[i * n + l]) * b[l * n + j];
      out[i * n + j] = s;
    }
  return out;
}

function invert(a: Float64Array): Float64Array {
  // Gauss-Jordan with partial pivoting, float64
  const m = Array.from({ length: n }, (_, i) => [
    ...Array.from(a.subarray(i * n, (i + 1) * n)),
    ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)),
  ]);
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[p][col])) p = r;
    [m[col], m[p]] = [m[p], m[col]];
    const d = m[col][col];
    for (let j = 0; j < 2 * n; j++) m[col][j] /= d;
    for (let r = 0; r < n; r++)
      if (r !== col) {
        const f = m[r][col];
        for (let j = 0; j < 2 * n; j++) m[r][j] -= f * m[col][j];
      }
  }
  return Float64Array.from(m.flatMap((row) => row.slice(n)));
}

async function setup() {
  const reference = new BlockMoments(k, c).add(smoothImages(200, c, size, 1), dims(200));
  const key = await generateKey({ blockSize: k, seed: "weight-test", channels: c });
  const secret = smoothImages(200, c, size, 2);
  const cipher = new BlockMoments(k, c).add(encrypt(secret, dims(200), key), dims(200));
  return { reference, cipher, key, secret };
}

describe("statisticalAttack variance weighting", () => {
  test("weight 1 is the pixel-space mismatch Σ_r ‖K̂⁻ᵀ C_c(r) K̂⁻¹ − C_p(r)‖² / m² + ‖μ_c K̂⁻¹ − μ_p‖² / m", async () => {
    const { reference, cipher, key } = await setup();
    // the objective at the key's basin, and the estimate K̂ that basin gives
    const at = attackObjectiveAtKey(cipher, reference, key.values, undefined, 1);
    const Kinv = invert(at.key);
    // m = mean eigenvalue of Σ_p = tr(Σ_p) / n
    const Sp = reference.covariance(0, 0);
    let m = 0;
    for (let i = 0; i < n; i++) m += Sp[i * n + i] / n;
    let want = 0;
    for (let r = 1; r < NEIGHBOUR_OFFSETS.length; r++) {
      const D = mm(Kinv, mm(cipher.covariance(0, r), Kinv), true);
      const Cp = reference.covariance(0, r);
      for (let i = 0; i < n * n; i++) want += (D[i] - Cp[i]) ** 2 / (m * m);
    }
    const mc = cipher.mean(0);
    const mp = reference.mean(0);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += mc[i] * Kinv[i * n + j];
      want += (s - mp[j]) ** 2 / m;
    }
    assert.ok(want > 1e-8, "a mismatch to compare");
    assert.ok(Math.abs(at.loss[0] - want) < 1e-9 * want, `weighted ${at.loss[0]} vs pixel-space ${want}`);
    // and it is not the unweighted objective
    const plain = attackObjectiveAtKey(cipher, reference, key.values, undefined, 0);
    assert.ok(Math.abs(plain.loss[0] - want) > 1e-3 * want);
  });

  test("tends to the unweighted objective as the weight goes to 0", async () => {
    const { reference, cipher, key } = await setup();
    const zero = attackObjectiveAtKey(cipher, reference, key.values, undefined, 0).loss[0];
    const tiny = attackObjectiveAtKey(cipher, reference, key.values, undefined, 1e-9).loss[0];
    assert.ok(Math.abs(zero - tiny) < 1e-6 * zero, `${zero} vs ${tiny}`);
  });

  test("a weighted search recovers the key from exact statistics (its gradient descends to 0)", async () => {
    const { key, secret } = await setup();
    // the reference IS the secret set: the key's basin has objective 0
    const plain = new BlockMoments(k, c).add(secret, dims(200));
    const cipher = new BlockMoments(k, c).add(encrypt(secret, dims(200), key), dims(200));
    const r = statisticalAttack(cipher, plain, { weight: 0.5, restarts: 4, iterations: 3000 });
    const I = mm(key.values, r.inverse);
    let err = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) err = Math.max(err, Math.abs(I[i * n + j] - (i === j ? 1 : 0)));
    assert.ok(err < 1e-3, `K·K̂⁻¹ differs from I by ${err}`);
  });

  for (const weighted of [true, false])
    test(`gradient matches central finite differences (${weighted ? "weighted" : "unweighted"}, any M)`, () => {
      let seed = 7;
      const rnd = () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed / 2147483648 - 0.5;
      };
      const mat = () => Float64Array.from({ length: n * n }, rnd);
      const B = mat();
      // W = BᵀB + I: symmetric positive definite
      const W = mm(B, B, true);
      for (let i = 0; i < n; i++) W[i * n + i] += 1;
      const s = {
        Lp: [mat(), mat(), mat()],
        Lc: [mat(), mat(), mat()],
        mp: Float64Array.from({ length: n }, rnd),
        mc: Float64Array.from({ length: n }, rnd),
        W: weighted ? W : null,
      };
      const M = mat();
      const { gradient } = objectiveAndGradient(M, s, n);
      const h = 1e-6;
      for (let t = 0; t < n * n; t++) {
        const up = M.slice();
        const down = M.slice();
        up[t] += h;
        down[t] -= h;
        const fd = (objectiveAndGradient(up, s, n).value - objectiveAndGradient(down, s, n).value) / (2 * h);
        assert.ok(Math.abs(fd - gradient[t]) < 1e-6 * (1 + Math.abs(fd)), `[${t}] ${gradient[t]} vs ${fd}`);
      }
    });

  test("shrinking the singular values keeps exact statistics exact (it commutes with L ↦ Mᵀ L M)", async () => {
    const { key, secret } = await setup();
    const plain = new BlockMoments(k, c).add(secret, dims(200));
    const cipher = new BlockMoments(k, c).add(encrypt(secret, dims(200), key), dims(200));
    for (const shrink of [1, 3]) {
      const at = attackObjectiveAtKey(cipher, plain, key.values, undefined, 0.5, shrink);
      assert.ok(at.loss[0] < 1e-10, `shrink ${shrink}: objective ${at.loss[0]} at the true key`);
      for (let i = 0; i < n * n; i++) assert.ok(Math.abs(at.key[i] - key.values[i]) < 1e-6, `key[${i}]`);
    }
    // with other images' statistics the shrinkage changes the objective (it is not a no-op)
    const { reference } = await setup();
    const off = attackObjectiveAtKey(cipher, reference, key.values, undefined, 0, 0).loss[0];
    const on = attackObjectiveAtKey(cipher, reference, key.values, undefined, 0, 3).loss[0];
    assert.ok(Math.abs(on - off) > 1e-3 * off, `${off} vs ${on}`);
  });

  test("off by default at every block size (earlier estimates unchanged)", () => {
    for (const m of [4, 16, 64, 256]) {
      assert.equal(defaultWeight(m), 0);
      assert.equal(defaultShrink(m), 0);
    }
  });
});
