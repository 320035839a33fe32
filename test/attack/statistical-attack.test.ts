// Block statistics against a brute-force float64 computation, and the ciphertext-only attack: from ciphertexts and
// OTHER plain images of the same kind, it recovers a decryption far better than chance, and it refuses mismatched
// statistics.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  attackObjectiveAtKey,
  BlockMoments,
  NEIGHBOUR_OFFSETS,
  psnr,
  statisticalAttack,
} from "../../src/attack/index.ts";
import { encrypt, generateKey } from "../../src/cipher/index.ts";
import { smoothImages } from "../audit/images.ts";

describe("BlockMoments", () => {
  test("covariances of every neighbour relation match a brute-force float64 loop (CHW and HWC)", () => {
    const [n, c, h, w, k] = [2, 2, 6, 8, 2];
    const x = Float32Array.from({ length: n * c * h * w }, (_, i) => Math.sin(i * 0.37) + ((i * 13) % 7) / 7);
    const m = new BlockMoments(k, c).add(x, { n, c, h, w, layout: "CHW" });
    // the same images in HWC give the same statistics
    const hwc = new Float32Array(x.length);
    for (let i = 0; i < n; i++)
      for (let ch = 0; ch < c; ch++)
        for (let p = 0; p < h * w; p++) hwc[(i * h * w + p) * c + ch] = x[(i * c + ch) * h * w + p];
    const m2 = new BlockMoments(k, c).add(hwc, { n, c, h, w, layout: "HWC" });
    const vec = (i: number, ch: number, by: number, bx: number) => {
      const v: number[] = [];
      for (let r = 0; r < k; r++)
        for (let s = 0; s < k; s++) v.push(x[((i * c + ch) * h + by * k + r) * w + bx * k + s]);
      return v;
    };
    const [bh, bw, d] = [h / k, w / k, k * k];
    for (let ch = 0; ch < c; ch++) {
      const all: number[][] = [];
      for (let i = 0; i < n; i++)
        for (let by = 0; by < bh; by++) for (let bx = 0; bx < bw; bx++) all.push(vec(i, ch, by, bx));
      const mu = Array.from({ length: d }, (_, j) => all.reduce((a, v) => a + v[j], 0) / all.length);
      for (const [rel, [dy, dx]] of NEIGHBOUR_OFFSETS.entries()) {
        const ref = new Float64Array(d * d);
        let cnt = 0;
        for (let i = 0; i < n; i++)
          for (let by = 0; by + dy < bh; by++)
            for (let bx = 0; bx < bw; bx++) {
              if (bx + dx < 0 || bx + dx >= bw) continue;
              const a = vec(i, ch, by, bx);
              const b = vec(i, ch, by + dy, bx + dx);
              for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) ref[p * d + q] += (a[p] - mu[p]) * (b[q] - mu[q]);
              cnt++;
            }
        const got = m.covariance(ch, rel);
        const got2 = m2.covariance(ch, rel);
        for (let t = 0; t < d * d; t++) {
          assert.ok(Math.abs(got[t] - ref[t] / cnt) < 1e-10, `ch ${ch} rel ${rel} [${t}]`);
          assert.ok(Math.abs(got2[t] - got[t]) < 1e-10);
        }
      }
    }
    // JSON round trip keeps everything
    const back = BlockMoments.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    assert.deepEqual(Array.from(back.covariance(1, 3)), Array.from(m.covariance(1, 3)));
  });
});

describe("statisticalAttack (ciphertext-only)", () => {
  for (const refine of [false, true])
    test(`recovers a decryption from ciphertexts plus statistics of other images (k = 2, refine ${refine})`, async () => {
      const [c, size, k] = [3, 16, 2];
      const dims = (n: number) => ({ n, c, h: size, w: size, layout: "CHW" as const });
      const reference = smoothImages(300, c, size, 1);
      const secret = smoothImages(300, c, size, 2);
      const key = await generateKey({ blockSize: k, seed: "stat-attack" });
      const cipher = encrypt(secret, dims(300), key);
      const r = statisticalAttack(
        new BlockMoments(k, c).add(cipher, dims(300)),
        new BlockMoments(k, c).add(reference, dims(300)),
        { restarts: 6, refine },
      );
      const guess = encrypt(cipher, dims(300), { ...key, values: r.inverse }).map((v) => Math.min(1, Math.max(0, v)));
      const attackPsnr = psnr(guess, secret);
      // chance level: the mean image of the reference set
      const mean = reference.reduce((a, v) => a + v, 0) / reference.length;
      const chance = psnr(new Float32Array(secret.length).fill(mean), secret);
      assert.ok(attackPsnr > 28, `attack PSNR ${attackPsnr.toFixed(2)} dB (chance ${chance.toFixed(2)} dB)`);
      assert.ok(attackPsnr > chance + 10);
      // the estimated key and its inverse are consistent: K·K⁻¹ ≈ I per channel
      const n2 = k * k;
      for (let ch = 0; ch < c; ch++)
        for (let i = 0; i < n2; i++)
          for (let j = 0; j < n2; j++) {
            let s = 0;
            for (let t = 0; t < n2; t++) s += r.key[ch * n2 * n2 + i * n2 + t] * r.inverse[ch * n2 * n2 + t * n2 + j];
            assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-8);
          }
    });

  test("attackObjectiveAtKey: with the secret images' own statistics the true key scores 0 and comes back", async () => {
    const [c, size, k] = [3, 16, 2];
    const dims = { n: 200, c, h: size, w: size, layout: "CHW" as const };
    const secret = smoothImages(200, c, size, 2);
    const key = await generateKey({ blockSize: k, seed: "objective-at-key" });
    const cipherStats = new BlockMoments(k, c).add(encrypt(secret, dims, key), dims);
    const exact = attackObjectiveAtKey(cipherStats, new BlockMoments(k, c).add(secret, dims), key.values);
    for (const v of exact.loss) assert.ok(v < 1e-8, `loss ${v} at the true key with exact statistics`);
    let err = 0;
    let norm = 0;
    for (let i = 0; i < key.values.length; i++) {
      err += (exact.key[i] - key.values[i]) ** 2;
      norm += key.values[i] ** 2;
    }
    assert.ok(Math.sqrt(err / norm) < 1e-5, `relative key error ${Math.sqrt(err / norm)}`);
    // with other images' statistics the true key no longer fits exactly
    const other = attackObjectiveAtKey(
      cipherStats,
      new BlockMoments(k, c).add(smoothImages(200, c, size, 1), dims),
      key.values,
    );
    for (const v of other.loss) assert.ok(v > 1e-6, `loss ${v} with another image set's statistics`);
    assert.throws(() => attackObjectiveAtKey(cipherStats, cipherStats, key.values.subarray(1)), /expected 3×4×4/);
  });

  test("onProgress: one call per descent, counting up by one, the plan never below what ran and met at the end", async () => {
    const [c, size, k, count] = [3, 16, 2, 200];
    const dims = { n: count, c, h: size, w: size, layout: "CHW" as const };
    const key = await generateKey({ blockSize: k, seed: "attack-progress" });
    const cipher = new BlockMoments(k, c).add(encrypt(smoothImages(count, c, size, 2), dims, key), dims);
    const reference = new BlockMoments(k, c).add(smoothImages(count, c, size, 1), dims);
    const calls: [number, number][] = [];
    statisticalAttack(cipher, reference, {
      restarts: 3,
      iterations: 50,
      retries: 1,
      onProgress: (d, p) => calls.push([d, p]),
    });
    assert.deepEqual(
      calls[0],
      [0, 3 * 3 + 3 * 2],
      "first: nothing done, 3 starts per channel and one exchange sweep planned",
    );
    // a last call may repeat the count with the plan cut down to it (exchange descents planned but not needed)
    const [last, plan] = calls[calls.length - 1];
    const steps = calls.length > 1 && calls[calls.length - 2][0] === last ? calls.slice(0, -1) : calls;
    for (const [i, [d, p]] of steps.entries()) {
      assert.equal(d, i, `call ${i} reports ${d} descents`);
      assert.ok(p >= d, `call ${i}: plan ${p} below ${d} done`);
    }
    assert.equal(last, plan, "the plan is met at the end");
    assert.ok(last >= 9 + 6, `${last} descents: at least the starts and one exchange sweep`);
  });

  test("refuses statistics of different block sizes", () => {
    assert.throws(() => statisticalAttack(new BlockMoments(2, 3), new BlockMoments(4, 3)), /k=2.*k=4/);
  });
});
