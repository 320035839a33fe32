// flipCrop: every output sample is a zero-padded, possibly mirrored window of its own input sample; over many draws
// both mirror states and several offsets occur; gradients flow back to the input.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildModel, flipCrop } from "../../src/models/index.ts";
import { fromTypedArray, manualSeed, noGrad, tidy } from "../../src/torch/index.ts";

test("flipCrop outputs padded, possibly mirrored windows of each sample, and passes gradients", () => {
  const [b, c, h, w, pad] = [6, 2, 5, 7, 2];
  const x = Float32Array.from({ length: b * c * h * w }, (_, i) => 1 + i);
  manualSeed(7);
  const seen = new Set<string>();
  for (let rep = 0; rep < 4; rep++) {
    const y = tidy(() => flipCrop(fromTypedArray(x, [b, c, h, w]), pad).toFloat32Array());
    for (let i = 0; i < b; i++) {
      let match: string | null = null;
      for (const mirror of [false, true])
        for (let dy = 0; dy <= 2 * pad && !match; dy++)
          for (let dx = 0; dx <= 2 * pad && !match; dx++) {
            let ok = true;
            for (let ch = 0; ch < c && ok; ch++)
              for (let r = 0; r < h && ok; r++)
                for (let s = 0; s < w && ok; s++) {
                  // window (dy, dx) of the padded (then maybe mirrored) image
                  const pr = r + dy - pad;
                  let ps = s + dx - pad;
                  if (mirror) ps = w - 1 - (s + dx - pad);
                  const want = pr < 0 || pr >= h || ps < 0 || ps >= w ? 0 : x[((i * c + ch) * h + pr) * w + ps];
                  ok = y[((i * c + ch) * h + r) * w + s] === want;
                }
            if (ok) match = `${mirror}:${dy}:${dx}`;
          }
      assert.ok(match, `sample ${i} is not a window of its input`);
      seen.add(match);
    }
  }
  assert.ok([...seen].some((m) => m.startsWith("true")) && [...seen].some((m) => m.startsWith("false")));
  assert.ok(seen.size > 6, `only ${seen.size} distinct draws`);
  const g = tidy(() => {
    const t = fromTypedArray(x, [b, c, h, w]).requiresGrad_();
    flipCrop(t, pad).sum().backward();
    return t.grad!.sum().item();
  });
  assert.ok(g > 0 && g <= b * c * h * w, `gradient mass ${g}`);
});

test("tta flip in eval mode averages the logits of the adaptation output and its mirror; training ignores it", () => {
  manualSeed(3);
  const m = buildModel({ backbone: "resnet20", blockSize: 4, classes: 5 });
  m.eval();
  const x = Float32Array.from({ length: 2 * 3 * 16 * 16 }, (_, i) => Math.sin(0.37 * i) + 0.1 * ((i * 7) % 5));
  const [plain, mirrored] = tidy(() =>
    noGrad(() => {
      const a = m.adaptOutput(fromTypedArray(x, [2, 3, 16, 16]));
      const v = a.toFloat32Array();
      const r = v.map((_, i) => v[i - (i % 16) + 15 - (i % 16)]); // each 16-wide row reversed, by hand
      return [m.backbone.forward(a).toFloat32Array(), m.backbone.forward(fromTypedArray(r, a.shape)).toFloat32Array()];
    }),
  );
  m.tta = "flip";
  const got = tidy(() => noGrad(() => m.forward(fromTypedArray(x, [2, 3, 16, 16])).toFloat32Array()));
  assert.equal(got.length, 10);
  let gap = 0;
  for (let i = 0; i < got.length; i++) {
    assert.ok(Math.abs(got[i] - (plain[i] + mirrored[i]) / 2) < 1e-5, `logit ${i}: ${got[i]}`);
    gap = Math.max(gap, Math.abs(plain[i] - mirrored[i]));
  }
  assert.ok(gap > 1e-4, "the mirror must change the logits, or this test shows nothing");
  m.train();
  const shape = tidy(() => m.forward(fromTypedArray(x, [2, 3, 16, 16])).shape);
  assert.deepEqual(shape, [2, 5]);
});
