import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateKey, KeyError, MAX_BLOCK_SIZE, makeKey } from "../../src/cipher/key.ts";
import { conditionEstimate } from "../../src/core/condition.ts";
import { conditionNumber, haarOrthogonalFromGaussian } from "../../src/core/linalg.ts";

/** Deterministic uniform values in [-1, 1). */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  };
}

describe("conditionEstimate (LU + power iterations)", () => {
  it("agrees with the exact Jacobi SVD to 0.5% on random matrices", () => {
    for (const [n, seed] of [
      [9, 1],
      [16, 2],
      [64, 3],
      [144, 4],
    ]) {
      const r = lcg(seed);
      const a = Float64Array.from({ length: n * n }, r);
      const exact = conditionNumber(a, n);
      const est = conditionEstimate(a, n);
      assert.ok(Math.abs(est / exact - 1) < 5e-3, `n=${n}: estimate ${est} vs exact ${exact}`);
      assert.ok(est <= exact * (1 + 1e-9), "power iterations approach from below");
    }
  });

  it("recovers a hand-made condition number Q·diag(s)·Qᵀ and flags singular matrices", () => {
    const n = 100;
    const r = lcg(7);
    const q = haarOrthogonalFromGaussian(
      Float64Array.from({ length: n * n }, () => r() * 1.7),
      n,
    );
    // singular values 1e-7 .. 1 (cond 1e7), log-spaced
    const s = Array.from({ length: n }, (_, i) => 10 ** (-7 * (i / (n - 1))));
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let v = 0;
        for (let k = 0; k < n; k++) v += q[i * n + k] * s[k] * q[j * n + k];
        a[i * n + j] = v;
      }
    const est = conditionEstimate(a, n);
    assert.ok(Math.abs(est / 1e7 - 1) < 0.02, `cond ${est}, expected 1e7`);
    const sing = Float64Array.from({ length: 16 }, (_, i) => (i % 4) + 1); // all rows equal
    assert.equal(conditionEstimate(sing, 4), Number.POSITIVE_INFINITY);
    assert.equal(conditionEstimate(Float64Array.from([1, Number.NaN, 0, 1]), 2), Number.POSITIVE_INFINITY);
  });
});

describe("large block keys", () => {
  it("a k=32 key is drawn and validated in seconds, with per-channel progress", async () => {
    const t0 = performance.now();
    const seen: number[] = [];
    const key = await generateKey({ blockSize: 32, seed: "k32", onChannel: (d) => seen.push(d) });
    const s1 = (performance.now() - t0) / 1000;
    assert.deepEqual(seen, [1, 2, 3]);
    // Before: the O(n³)-per-sweep Jacobi SVD on 1024×1024 ran for minutes. Loading re-checks the condition number.
    const again = await makeKey({ mode: "uniform", blockSize: 32, channels: 3, values: key.values });
    const s2 = (performance.now() - t0) / 1000;
    assert.equal(again.fingerprint, key.fingerprint);
    assert.ok(s2 < 60, `k=32 keygen + validation took ${s1.toFixed(1)} + ${(s2 - s1).toFixed(1)} s`);
  });

  it(`block sizes above ${MAX_BLOCK_SIZE} are refused with the reason`, async () => {
    await assert.rejects(generateKey({ blockSize: 64 }), (e: Error) => {
      assert.ok(e instanceof KeyError);
      assert.match(e.message, /\[1, 32\], got 64 \(a k=64 key is 4096×4096 values per channel, 384 MB/);
      return true;
    });
  });
});
