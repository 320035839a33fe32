import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { decrypt, decryptionConvWeight, encrypt, generateKey, inverseKey } from "../../src/cipher/index.ts";
import {
  affineFit,
  composedAdaptationMap,
  decryptionQuality,
  gaussianWindow,
  keyMapError,
  psnr,
  ssim,
  ssimWindowSize,
} from "../../src/report/metrics.ts";

const PYTHON = "/usr/bin/python3";
const SSIM_FIXTURE = join(import.meta.dirname, "..", "fixtures", "gen_ssim.py");
const hasNumpy = () =>
  existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import numpy"], { encoding: "utf8" }).status === 0;

/** Deterministic LCG in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function smoothImage(c: number, h: number, w: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    const fx = 0.1 + r() * 0.4;
    const fy = 0.1 + r() * 0.4;
    const ph = r() * 6;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        out[(ch * h + y) * w + x] = 0.5 + 0.35 * Math.sin(fx * x + ph) * Math.cos(fy * y) + 0.1 * (r() - 0.5);
      }
    }
  }
  return out;
}

describe("psnr", () => {
  it("is 10·log10(peak²/MSE) for a known MSE", () => {
    const a = new Float32Array([0, 0, 0, 0]);
    const b = new Float32Array([0.1, -0.1, 0.1, -0.1]); // MSE = 0.01 (float32-rounded)
    assert.ok(Math.abs(psnr(a, b) - 20) < 1e-5);
    assert.ok(Math.abs(psnr(a, b, 255) - 10 * Math.log10((255 * 255) / 0.01)) < 1e-4);
    assert.equal(psnr(a, a), Number.POSITIVE_INFINITY);
    assert.throws(() => psnr(a, new Float32Array(3)), /length mismatch/);
  });
});

describe("ssim", () => {
  it("uses the 11-tap σ=1.5 window, shrunk for small images", () => {
    const g = gaussianWindow(11, 1.5);
    assert.ok(Math.abs(g.reduce((s, x) => s + x, 0) - 1) < 1e-12);
    assert.ok(Math.abs(g[5] / g[4] - Math.exp(1 / 4.5)) < 1e-12);
    assert.equal(ssimWindowSize(32, 32), 11);
    assert.equal(ssimWindowSize(8, 32), 7);
    assert.equal(ssimWindowSize(1, 1), 1);
  });

  it("is 1 for identical images", () => {
    const a = smoothImage(3, 16, 20, 1);
    assert.ok(Math.abs(ssim(a, a, { c: 3, h: 16, w: 20 }) - 1) < 1e-12);
  });

  it("hand-worked: constant images reduce to the luminance term", () => {
    // 1×1 (window 1) and 12×12 constant: variances and covariance are 0, so
    // SSIM = (2·μx·μy + C1)/(μx² + μy² + C1) · (C2/C2) with C1 = 1e-4.
    const expected = (2 * 0.5 * 0.25 + 1e-4) / (0.25 + 0.0625 + 1e-4);
    assert.ok(Math.abs(ssim([0.5], [0.25], { c: 1, h: 1, w: 1 }) - expected) < 1e-12);
    const a = new Float32Array(2 * 144).fill(0.5);
    const b = new Float32Array(2 * 144).fill(0.25);
    assert.ok(Math.abs(ssim(a, b, { c: 2, h: 12, w: 12 }) - expected) < 1e-9);
  });

  it("hand-worked: 1×2 image, window 1 ⇒ mean of per-pixel luminance terms", () => {
    const l = (x: number, y: number) => (2 * x * y + 1e-4) / (x * x + y * y + 1e-4);
    const v = ssim([0.2, 0.8], [0.4, 0.8], { c: 1, h: 1, w: 2 });
    assert.ok(Math.abs(v - (l(0.2, 0.4) + l(0.8, 0.8)) / 2) < 1e-7);
  });

  it("averages over a batch", () => {
    const a = smoothImage(3, 12, 12, 2);
    const b = smoothImage(3, 12, 12, 3);
    const both = ssim([...a, ...a], [...a, ...b], { n: 2, c: 3, h: 12, w: 12 });
    assert.ok(Math.abs(both - (1 + ssim(a, b, { c: 3, h: 12, w: 12 })) / 2) < 1e-12);
  });

  describe("matches the numpy re-implementation of skimage", {
    skip: !hasNumpy() && "no /usr/bin/python3 + numpy",
  }, () => {
    const cases: [string, number, number, number, number][] = [
      ["32×32 RGB", 3, 32, 32, 11],
      ["non-square 17×23", 2, 17, 23, 12],
      ["small 8×9 (window 7)", 3, 8, 9, 13],
    ];
    for (const [name, c, h, w, seed] of cases) {
      it(name, () => {
        const dir = mkdtempSync(join(tmpdir(), "ercnn-ssim-"));
        try {
          const a = smoothImage(c, h, w, seed);
          const r = rng(seed + 100);
          const b = a.map((x) => Math.min(1, Math.max(0, 0.8 * x + 0.1 + 0.15 * (r() - 0.5))));
          writeFileSync(join(dir, "case.json"), JSON.stringify({ c, h, w, peak: 1 }));
          writeFileSync(join(dir, "a.f32"), Buffer.from(a.buffer));
          writeFileSync(join(dir, "b.f32"), Buffer.from(b.buffer));
          const res = spawnSync(PYTHON, [SSIM_FIXTURE, dir], { encoding: "utf8" });
          assert.equal(res.status, 0, res.stderr);
          const ref = JSON.parse(res.stdout) as { ssim: number; win: number };
          assert.equal(ref.win, ssimWindowSize(h, w));
          const ours = ssim(a, b, { c, h, w });
          assert.ok(ref.ssim > 0.2 && ref.ssim < 0.99, `non-trivial case (${ref.ssim})`);
          assert.ok(Math.abs(ours - ref.ssim) < 1e-9, `ours ${ours} vs numpy ${ref.ssim}`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  });
});

describe("affineFit / decryptionQuality", () => {
  it("recovers a known per-channel a, b", () => {
    const dims = { c: 2, h: 4, w: 5 };
    const pred = smoothImage(2, 4, 5, 4);
    const target = new Float32Array(pred.length);
    for (let i = 0; i < 20; i++) target[i] = 2.5 * pred[i] - 0.75;
    for (let i = 20; i < 40; i++) target[i] = -0.5 * pred[i] + 0.3;
    const f = affineFit(pred, target, dims);
    assert.ok(Math.abs(f.scale[0] - 2.5) < 1e-5 && Math.abs(f.offset[0] + 0.75) < 1e-5);
    assert.ok(Math.abs(f.scale[1] + 0.5) < 1e-5 && Math.abs(f.offset[1] - 0.3) < 1e-5);
    for (let i = 0; i < 40; i++) assert.ok(Math.abs(f.fitted[i] - target[i]) < 1e-5);
    const flat = affineFit(new Float32Array(20).fill(3), target.subarray(0, 20), { c: 1, h: 4, w: 5 });
    assert.equal(flat.scale[0], 0);
  });

  it("scores a rescaled plaintext as perfect and reports the raw PSNR", () => {
    const dims = { n: 2, c: 3, h: 12, w: 12 };
    const plain = new Float32Array([...smoothImage(3, 12, 12, 5), ...smoothImage(3, 12, 12, 6)]).map((x) =>
      Math.min(1, Math.max(0, x)),
    );
    const out = plain.map((x) => 3 * x - 1);
    const q = decryptionQuality(out, plain, dims);
    assert.equal(q.n, 2);
    assert.ok(q.psnr > 80, `psnr ${q.psnr}`);
    assert.ok(Math.abs(q.ssim - 1) < 1e-6);
    assert.ok(q.rawPsnr < 20);
    assert.ok(
      Math.abs(
        q.rawPsnr -
          (psnr(out.subarray(0, 432), plain.subarray(0, 432)) + psnr(out.subarray(432), plain.subarray(432))) / 2,
      ) < 1e-9,
    );
    assert.ok(Number.isFinite(decryptionQuality(plain, plain, dims).psnr));
  });
});

describe("composedAdaptationMap / keyMapError", () => {
  it("composes hand-made weights into the known matrix (y = x·M + offset)", () => {
    // C = 1, k = 2, size 4: conv A = given, deconv = identity unflatten, biases
    const k = 2;
    const A = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]; // A[o][u]
    const B = [2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, -1]; // B[o][v] diag(2, 1, 1, -1)
    const m = composedAdaptationMap(new Float32Array(A), [1, 0, 0, 2], new Float32Array(B), [0.5], k);
    assert.equal(m.size, 4);
    assert.equal(m.channels, 1);
    for (let u = 0; u < 4; u++) {
      for (let v = 0; v < 4; v++) assert.equal(m.M[u * 4 + v], A[v * 4 + u] * B[v * 4 + v]);
    }
    assert.deepEqual([...m.offset], [2 + 0.5, 0.5, 0.5, -2 + 0.5]);
    assert.throws(() => composedAdaptationMap(new Float32Array(15), null, new Float32Array(16), null, 2));
  });

  it("a key-folded conv weight gives M = diag(K⁻¹) and decrypts real ciphertexts", async () => {
    const k = 2;
    const key = await generateKey({ blockSize: k, seed: 7 });
    const inv = inverseKey(key);
    const w = decryptionConvWeight(key, { dense: true }); // [3k², 3, k, k] with K⁻¹
    const size = 3 * k * k;
    const deconv = new Float32Array(size * size); // depth-to-space
    for (let o = 0; o < size; o++) deconv[o * size + o] = 1;
    const { M, offset } = composedAdaptationMap(w.weight, null, deconv, null, k);
    const err = keyMapError(M, inv, 3, k);
    assert.ok(err.relError < 1e-6, `relError ${err.relError}`);
    assert.equal(err.offDiagonalFraction, 0);
    for (const s of err.scales) assert.ok(Math.abs(s - 1) < 1e-6);
    assert.ok(offset.every((x) => x === 0));
    // Convention check on real data: encrypt a 2×2 image, gather the block (channel-major, row-major), apply x·M.
    const plain = new Float32Array(3 * 4).map((_, i) => ((i * 7) % 11) / 10);
    const dims = { c: 3, h: 2, w: 2, layout: "CHW" as const };
    const cipher = encrypt(plain, dims, key);
    for (let v = 0; v < size; v++) {
      let y = 0;
      for (let u = 0; u < size; u++) y += cipher[u] * M[u * size + v];
      assert.ok(Math.abs(y - plain[v]) < 1e-4, `pixel ${v}: ${y} vs ${plain[v]}`);
    }
    assert.ok(Math.abs(decrypt(cipher, dims, key)[5] - plain[5]) < 1e-5);
    // The transpose (the wrong convention) is far from the ideal map.
    const Mt = new Float64Array(size * size);
    for (let u = 0; u < size; u++) for (let v = 0; v < size; v++) Mt[u * size + v] = M[v * size + u];
    assert.ok(keyMapError(Mt, inv, 3, k).relError > 0.3);
  });

  it("fits one scale per output channel and measures cross-channel energy", async () => {
    const k = 2;
    const key = await generateKey({ blockSize: k, seed: 9 });
    const inv = inverseKey(key);
    const kk = k * k;
    const size = 3 * kk;
    const M = new Float64Array(size * size);
    const sc = [2, -0.5, 3];
    for (let ch = 0; ch < 3; ch++) {
      for (let i = 0; i < kk; i++) {
        for (let j = 0; j < kk; j++) M[(ch * kk + i) * size + ch * kk + j] = sc[ch] * inv[(ch * kk + i) * kk + j];
      }
    }
    const e0 = keyMapError(M, inv, 3, k);
    assert.ok(e0.relError < 1e-12);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(e0.scales[i] - sc[i]) < 1e-12);
    let total = 0;
    for (const x of M) total += x * x;
    // add a cross-channel entry of known energy: relError² = offDiag fraction = e²/(total + e²)
    const e = Math.sqrt(total);
    M[0 * size + (kk + 1)] = e; // input channel 0 → output channel 1
    const e1 = keyMapError(M, inv, 3, k);
    assert.ok(Math.abs(e1.offDiagonalFraction - 0.5) < 1e-12);
    assert.ok(Math.abs(e1.relError - Math.sqrt(0.5)) < 1e-12);
  });
});
