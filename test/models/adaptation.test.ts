// The adaptation network: key folding inverts a real key exactly (end to end from [0,1] plaintext through the
// cipher and the loader's normalisation), the conv form agrees with the cipher's, and the study's padding=1
// variant is offset by one pixel from the cipher blocks.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decryptionConvWeight, encrypt, generateKey, pixelShuffleConvTransposeWeight } from "../../src/cipher/index.ts";
import { Adaptation, IMAGENET_NORMALIZATION, keyFoldedWeights, type Normalization } from "../../src/models/index.ts";
import { F, fromTypedArray, noGrad, type Tensor, tidy, zeros } from "../../src/torch/index.ts";
import { relErr } from "./helpers.ts";

function plaintext(n: number, c: number, h: number, w: number, seed: number): Float32Array {
  const x = new Float32Array(n * c * h * w);
  let s = seed >>> 0;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 32;
  }
  return x;
}

function normalise(x: Float32Array, n: number, c: number, hw: number, norm: Normalization): Float32Array {
  const y = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < hw; i++) {
        const o = (b * c + ch) * hw + i;
        y[o] = (x[o] - norm.mean[ch]) / norm.std[ch];
      }
  return y;
}

describe("key-folded adaptation", () => {
  for (const k of [4, 8]) {
    test(`inverts a real key exactly (k=${k}): [0,1] plaintext → cipher → loader normalisation → adaptation = normalised plaintext`, async () => {
      const key = await generateKey({ blockSize: k, seed: `adapt-${k}` });
      const [n, c, h, w] = [2, 3, 32, 32];
      const p = plaintext(n, c, h, w, k);
      const cipher = encrypt(p, { n, c, h, w, layout: "CHW" }, key);
      const cn = fromTypedArray(normalise(cipher, n, c, h * w, IMAGENET_NORMALIZATION), [n, c, h, w]);
      const pn = normalise(p, n, c, h * w, IMAGENET_NORMALIZATION);
      const a = Adaptation.keyFolded(key);
      const out = tidy(() => noGrad(() => a.forward(cn)));
      assert.deepEqual(out.shape, [n, c, h, w]);
      const o = out.toFloat32Array();
      let maxErr = 0;
      for (let i = 0; i < o.length; i++) maxErr = Math.max(maxErr, Math.abs(o[i] - pn[i]));
      assert.ok(maxErr < 1e-4, `max |adapt(c) − p| = ${maxErr}`);
      // and the ciphertext itself is far from the plaintext
      assert.ok(relErr(cn, new Float32Array(pn)) > 0.5);
      for (const t of [out, cn]) t.dispose();
      a.dispose();
    });
  }

  test("without normalisation (null) the layer is plain decryption", async () => {
    const key = await generateKey({ blockSize: 4, seed: "plain" });
    const p = plaintext(1, 3, 16, 16, 9);
    const cipher = encrypt(p, { n: 1, c: 3, h: 16, w: 16, layout: "CHW" }, key);
    const a = Adaptation.keyFolded(key, null);
    const x = fromTypedArray(cipher, [1, 3, 16, 16]);
    const y = noGrad(() => a.forward(x));
    const o = y.toFloat32Array();
    for (let i = 0; i < o.length; i++) assert.ok(Math.abs(o[i] - p[i]) < 1e-4);
    for (const t of [x, y]) t.dispose();
    assert.deepEqual(Array.from(a.conv!.bias!.toFloat32Array()), new Array(48).fill(0));
    a.dispose();
  });

  test("its weights are the cipher's conv form (K⁻¹ dense conv + pixel-shuffle transpose conv)", async () => {
    const key = await generateKey({ blockSize: 4, seed: "conv-form" });
    const ours = keyFoldedWeights(key, null);
    const dec = decryptionConvWeight(key, { dense: true });
    const ps = pixelShuffleConvTransposeWeight(3, 4);
    assert.deepEqual(ours.convShape, dec.shape);
    assert.deepEqual(ours.deconvShape, ps.shape);
    for (let i = 0; i < dec.weight.length; i++)
      assert.ok(Math.abs(ours.convWeight[i] - dec.weight[i]) <= 1e-6 * Math.max(1, Math.abs(dec.weight[i])));
    assert.deepEqual(Array.from(ours.deconvWeight), Array.from(ps.weight));
  });

  test("refuses mod256 keys, the seed variant, and a mismatched block size", async () => {
    const key = await generateKey({ blockSize: 4, seed: "m", mode: "mod256" });
    assert.throws(() => Adaptation.keyFolded(key), /mod256/);
    const real = await generateKey({ blockSize: 4, seed: "r" });
    const seed = new Adaptation("seed", 4);
    assert.throws(() => seed.setFromKey(real), /aligned/);
    const a8 = new Adaptation("aligned", 8);
    assert.throws(() => a8.setFromKey(real), /k=4/);
    seed.dispose();
    a8.dispose();
  });
});

describe("adaptation variants", () => {
  test("shapes: aligned/seed have conv 3→3k² (k, stride k) and deconv 3k²→3; none has no parameters", () => {
    for (const k of [2, 4, 8]) {
      for (const kind of ["aligned", "seed"] as const) {
        const a = new Adaptation(kind, k);
        assert.deepEqual(a.conv!.weight.shape, [3 * k * k, 3, k, k]);
        assert.deepEqual(a.conv!.padding, kind === "seed" ? [1, 1] : [0, 0]);
        assert.deepEqual(a.conv!.stride, [k, k]);
        assert.deepEqual(a.deconv!.weight.shape, [3 * k * k, 3, k, k]);
        for (const s of [32, 64]) {
          const y = tidy(() => noGrad(() => a.forward(zeros([1, 3, s, s]))));
          assert.deepEqual(y.shape, [1, 3, s, s], `${kind} k=${k} ${s}px`);
          y.dispose();
        }
        a.dispose();
      }
    }
    const none = new Adaptation("none", 4);
    assert.equal(none.numParameters(), 0);
    const x = zeros([1, 3, 8, 8]);
    assert.equal(none.forward(x), x);
    x.dispose();
  });

  test("seed (padding=1) windows are offset one pixel up-left of the cipher blocks", () => {
    const k = 4;
    const impulse = (r: number, c: number): Tensor => {
      const d = new Float32Array(16 * 16);
      d[r * 16 + c] = 1;
      return fromTypedArray(d, [1, 1, 16, 16]).expand(1, 3, 16, 16).contiguous();
    };
    // which conv output positions (block row, block col) does a pixel reach?
    const reach = (a: Adaptation, r: number, c: number): string[] => {
      const x = impulse(r, c);
      const w = a.conv!.weight;
      const z = noGrad(() => F.conv2d(x, w.abs().add(1), null, k, a.conv!.padding));
      const s = z.sum(1);
      const v = s.toFloat32Array();
      const side = s.shape[2];
      const out: string[] = [];
      for (let i = 0; i < v.length; i++) if (v[i] !== 0) out.push(`${Math.floor(i / side)},${i % side}`);
      for (const t of [x, z, s]) t.dispose();
      return out;
    };
    const aligned = new Adaptation("aligned", k);
    const seed = new Adaptation("seed", k);
    // pixel (0,0) starts cipher block (0,0); pixel (3,3) ends it; pixel (4,4) starts block (1,1)
    assert.deepEqual(reach(aligned, 0, 0), ["0,0"]);
    assert.deepEqual(reach(aligned, 3, 3), ["0,0"]);
    assert.deepEqual(reach(aligned, 4, 4), ["1,1"]);
    assert.deepEqual(reach(seed, 0, 0), ["0,0"]);
    assert.deepEqual(reach(seed, 2, 2), ["0,0"]);
    assert.deepEqual(reach(seed, 3, 3), ["1,1"], "the last pixel of block (0,0) falls in seed window (1,1)");
    assert.deepEqual(reach(seed, 3, 0), ["1,0"]);
    // seed window (i,j) covers rows/cols 4i−1 .. 4i+2: exactly the aligned conv on the input shifted by one pixel
    const x = fromTypedArray(plaintext(1, 3, 16, 16, 5), [1, 3, 16, 16]);
    const shifted = F.pad(x, [1, -1, 1, -1]);
    const viaSeed = noGrad(() => F.conv2d(x, seed.conv!.weight, seed.conv!.bias, k, 1));
    const viaAligned = noGrad(() => F.conv2d(shifted, seed.conv!.weight, seed.conv!.bias, k, 0));
    assert.ok(relErr(viaSeed, viaAligned) < 1e-6);
    for (const t of [x, shifted, viaSeed, viaAligned]) t.dispose();
    aligned.dispose();
    seed.dispose();
  });

  test("the seed variant cannot invert the key: key-folded weights in it leave a large error", async () => {
    const key = await generateKey({ blockSize: 4, seed: "offset" });
    const p = plaintext(1, 3, 32, 32, 3);
    const cipher = encrypt(p, { n: 1, c: 3, h: 32, w: 32, layout: "CHW" }, key);
    const folded = Adaptation.keyFolded(key, null);
    const seed = new Adaptation("seed", 4);
    seed.loadStateDict(folded.stateDict());
    const x = fromTypedArray(cipher, [1, 3, 32, 32]);
    const good = noGrad(() => folded.forward(x));
    const bad = noGrad(() => seed.forward(x));
    assert.ok(relErr(good, p) < 1e-4);
    assert.ok(relErr(bad, p) > 0.1, `seed variant error ${relErr(bad, p)}`);
    for (const t of [x, good, bad]) t.dispose();
    folded.dispose();
    seed.dispose();
  });
});
