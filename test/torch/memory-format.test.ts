// Memory formats (src/torch/memory-format.ts) and the ER model's channels_last backbone: the layout is ATen's own
// (strides checked against the hand-worked NHWC strides), re-laying keeps parameter identity and values, and an
// airbench94 ER model computes the same logits and gradients in either layout (train mode: batch statistics).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildModel } from "../../src/models/index.ts";
import {
  aten,
  F,
  fromTypedArray,
  isMemoryFormat,
  manualSeed,
  moduleToMemoryFormat,
  randint,
  randn,
  type Tensor,
  tidy,
  toMemoryFormat,
} from "../../src/torch/index.ts";
import { maxRelErr } from "../cipher/helpers.ts";

const stride = aten<number>("aten::stride", "int");
const strides = (t: Tensor) => t.shape.map((_, d) => stride(t, d));

describe("memory formats", () => {
  test("channels_last has NHWC strides and the same values; contiguous undoes it", () => {
    const x = fromTypedArray(
      Float32Array.from({ length: 120 }, (_, i) => i),
      [2, 3, 4, 5],
    );
    assert.deepEqual(strides(x), [60, 20, 5, 1]);
    const cl = toMemoryFormat(x, "channels_last");
    // N: H·W·C = 60, C: 1, H: W·C = 15, W: C = 3
    assert.deepEqual(strides(cl), [60, 1, 15, 3]);
    assert.equal(isMemoryFormat(cl, "channels_last"), true);
    assert.equal(isMemoryFormat(cl, "contiguous"), false);
    assert.deepEqual(Array.from(cl.toFloat32Array()), Array.from(x.toFloat32Array()));
    const back = toMemoryFormat(cl, "contiguous");
    assert.deepEqual(strides(back), [60, 20, 5, 1]);
    assert.throws(() => toMemoryFormat(fromTypedArray(new Float32Array(6), [2, 3]), "channels_last"), /4-D tensor/);
    for (const t of [x, cl, back]) t.dispose();
  });

  test("an airbench94 ER model gives the same logits and gradients with a channels_last backbone", () => {
    const make = () => {
      manualSeed(7);
      return buildModel({ backbone: "airbench94", blockSize: 4, classes: 10, adapt: "aligned" });
    };
    const nchw = make();
    const nhwc = make();
    nhwc.backboneFormat = "channels_last";
    const params = nhwc.parameters();
    manualSeed(3);
    const x = randn([8, 3, 32, 32]);
    const y = randint(0, 10, [8]);
    const run = (m: typeof nchw) =>
      tidy(() => {
        m.train();
        m.zeroGrad();
        const logits = m.forward(x);
        F.crossEntropy(logits, y, { labelSmoothing: 0.2 }).backward();
        return logits.toFloat32Array();
      });
    const a = run(nchw);
    const b = run(nhwc);
    assert.ok(maxRelErr(b, a) < 1e-4, `logits differ by ${maxRelErr(b, a)}`);
    // re-laid in place: the same Tensor objects (the optimizer's), every 4-D weight of the backbone now NHWC
    assert.deepEqual(nhwc.parameters(), params);
    const convs = nhwc.backbone.parameters().filter((p) => p.shape.length === 4);
    assert.ok(convs.length >= 7);
    for (const p of convs) assert.equal(isMemoryFormat(p, "channels_last"), true);
    assert.equal(isMemoryFormat(nchw.backbone.parameters().find((p) => p.shape.length === 4)!, "channels_last"), false);
    // gradients of every trainable parameter agree
    const ga = nchw.parameters().filter((p) => p.grad);
    const gb = nhwc.parameters().filter((p) => p.grad);
    assert.equal(ga.length, gb.length);
    assert.ok(ga.length > 10);
    for (let i = 0; i < ga.length; i++) {
      const d = maxRelErr(gb[i].grad!.toFloat32Array(), ga[i].grad!.toFloat32Array());
      assert.ok(d < 1e-3, `gradient ${i} (shape ${ga[i].shape}) differs by ${d}`);
    }
    // and eval mode (pieces of evalChunk) too
    nchw.eval();
    nhwc.eval();
    nchw.evalChunk = 3;
    nhwc.evalChunk = 3;
    const ea = tidy(() => nchw.forward(x).toFloat32Array());
    const eb = tidy(() => nhwc.forward(x).toFloat32Array());
    assert.ok(maxRelErr(eb, ea) < 1e-4);
    for (const t of [x, y]) t.dispose();
    nchw.dispose();
    nhwc.dispose();
  });
});

test("moduleToMemoryFormat leaves 1-D and 2-D tensors alone and keeps values", () => {
  manualSeed(1);
  const m = buildModel({ backbone: "airbench94", blockSize: 4, classes: 10 });
  const before = m.backbone.stateDict();
  const values = new Map([...before].map(([k, t]) => [k, Array.from(t.toFloat32Array())]));
  moduleToMemoryFormat(m.backbone, "channels_last");
  for (const [k, t] of m.backbone.stateDict()) {
    assert.deepEqual(Array.from(t.toFloat32Array()), values.get(k), k);
    if (t.shape.length !== 4) assert.equal(isMemoryFormat(t, "contiguous"), true, k);
  }
  m.dispose();
});
