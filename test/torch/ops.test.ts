// Every op and its gradients against PyTorch: test/fixtures/gen_torch_ops.py writes inputs, outputs and
// gradients (of sum(out · proj)) with an independent safetensors writer; ercnn reads them back with
// loadSafetensors, reruns the ops and compares.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { cat, dispose, F, loadSafetensors, stack, type Tensor, tidy } from "../../src/torch/index.ts";
import { assertClose, runPython, tempDir } from "./helpers.ts";

type In = Record<string, Tensor>;
const OPS: Record<string, (i: In) => Tensor> = {
  conv2d_basic: ({ x, w, b }) => F.conv2d(x, w, b, 1, 1),
  conv2d_sdg: ({ x, w, b }) => F.conv2d(x, w, b, 2, [1, 2], 2, 2),
  conv2d_nobias_f64: ({ x, w }) => F.conv2d(x, w, null, [1, 2], 1),
  conv_t2d: ({ x, w, b }) => F.convTranspose2d(x, w, b, 2, 1, 1),
  conv_t2d_groups: ({ x, w }) => F.convTranspose2d(x, w, null, 1, 0, 0, 2, 2),
  linear: ({ x, w, b }) => F.linear(x, w, b),
  linear_f64: ({ x, w, b }) => F.linear(x, w, b),
  matmul_bcast: ({ a, b }) => a.matmul(b),
  bmm: ({ a, b }) => a.bmm(b),
  bn_train: ({ x, running_mean, running_var, w, b }) =>
    F.batchNorm(x, running_mean, running_var, w, b, true, 0.1, 1e-5),
  bn_train_f64: ({ x, running_mean, running_var, w, b }) =>
    F.batchNorm(x, running_mean, running_var, w, b, true, 0.3, 1e-3),
  bn_eval: ({ x, running_mean, running_var, w, b }) =>
    F.batchNorm(x, running_mean, running_var, w, b, false, 0.1, 1e-5),
  layer_norm: ({ x, w, b }) => F.layerNorm(x, [8], w, b, 1e-5),
  layer_norm2_f64: ({ x, w, b }) => F.layerNorm(x, [3, 4], w, b, 1e-6),
  relu: ({ x }) => F.relu(x),
  gelu: ({ x }) => F.gelu(x),
  gelu_tanh: ({ x }) => F.gelu(x, "tanh"),
  silu: ({ x }) => F.silu(x),
  sigmoid: ({ x }) => x.sigmoid(),
  tanh_f64: ({ x }) => x.tanh(),
  max_pool: ({ x }) => F.maxPool2d(x, 3, 2, 1),
  max_pool_ceil: ({ x }) => F.maxPool2d(x, 2, 2, 0, 1, true),
  avg_pool: ({ x }) => F.avgPool2d(x, 2),
  avg_pool_pad: ({ x }) => F.avgPool2d(x, 3, 2, 1),
  adaptive_avg: ({ x }) => F.adaptiveAvgPool2d(x, [3, 3]),
  adaptive_avg_1: ({ x }) => F.adaptiveAvgPool2d(x, 1),
  pixel_shuffle: ({ x }) => F.pixelShuffle(x, 2),
  pixel_unshuffle: ({ x }) => F.pixelUnshuffle(x, 2),
  softmax: ({ x }) => F.softmax(x, 1),
  log_softmax: ({ x }) => F.logSoftmax(x, -1),
  ce: ({ x, t }) => F.crossEntropy(x, t),
  ce_smooth: ({ x, t }) => F.crossEntropy(x, t, { labelSmoothing: 0.1 }),
  ce_smooth_w_sum_f64: ({ x, t, wt }) => F.crossEntropy(x, t, { weight: wt, reduction: "sum", labelSmoothing: 0.2 }),
  ce_none: ({ x, t }) => F.crossEntropy(x, t, { reduction: "none", labelSmoothing: 0.05 }),
  mse: ({ a, b }) => F.mseLoss(a, b),
  mse_sum: ({ a, b }) => F.mseLoss(a, b, "sum"),
  arith_bcast: ({ a, b, c, e }) =>
    a
      .add(b)
      .mul(c)
      .sub(a.div(e.mul(e).add(1)))
      .add(b.sub(2.5).mul(0.5)),
  arith_pow_f64: ({ a, b }) => a.pow(2.5).add(a.pow(b).exp().log()).add(a.sqrt().mul(a.rsqrt())),
  reshape_permute: ({ x }) => x.permute(2, 0, 1).reshape(4, 6),
  transpose_flatten: ({ x }) => x.transpose(1, 3).flatten(1),
  cat: ({ a, b }) => cat([a, b], 0),
  cat1: ({ a, b }) => cat([a, b], 1),
  stack: ({ a, b }) => stack([a, b], 1),
  slice: ({ x }) => x.slice(0, 1, 5, 2).slice(1, 2),
  narrow_select: ({ x }) => x.narrow(1, 2, 3).select(2, 1),
  index_select: ({ x, i }) => x.indexSelect(0, i),
  sum_dims: ({ x }) => x.sum([0, 2], true),
  sum_all: ({ x }) => x.sum(),
  mean_dim: ({ x }) => x.mean(1),
  mean_all_f64: ({ x }) => x.mean(),
  max_dim: ({ x }) => x.max(1)[0],
  max_dim_idx: ({ x }) => x.max(1, true)[1],
  max_all: ({ x }) => x.max(),
  argmax: ({ x }) => x.argmax(1),
  var: ({ x }) => x.var(1),
};

describe("ops against PyTorch (gen_torch_ops.py)", () => {
  const tmp = tempDir();
  let all: Map<string, Tensor>;
  let metadata: Record<string, string>;

  before(async () => {
    runPython("gen_torch_ops.py", [tmp.dir]);
    ({ tensors: all, metadata } = await loadSafetensors(`${tmp.dir}/ops.safetensors`));
  });
  after(() => {
    dispose(all);
    tmp.cleanup();
  });

  test("the fixture has every case and its metadata", () => {
    assert.equal(metadata.generator, "gen_torch_ops.py");
    const cases = new Set([...all.keys()].filter((k) => k.includes(".in.")).map((k) => k.split(".")[0]));
    assert.deepEqual([...cases].sort(), Object.keys(OPS).sort());
  });

  for (const [name, op] of Object.entries(OPS)) {
    test(name, () => {
      tidy(() => {
        const get = (k: string) => all.get(`${name}.${k}`);
        const inputs: In = {};
        const grads: string[] = [];
        for (const [k, t] of all) {
          const m = k.startsWith(`${name}.in.`) ? k.slice(name.length + 4) : null;
          if (m === null) continue;
          inputs[m] = t.clone();
          if (get(`grad.${m}`)) {
            inputs[m].requiresGrad = true;
            grads.push(m);
          }
        }
        const y = op(inputs);
        const ref = get("out");
        assert.ok(ref, `${name}: no reference output`);
        assert.equal(y.dtype, ref.dtype, `${name}: dtype`);
        assertClose(y, ref, `${name} output`);
        for (const [k, t] of all)
          if (k.startsWith(`${name}.after.`))
            assertClose(inputs[k.slice(name.length + 7)], t, `${name} ${k} (in place)`);
        const proj = get("proj");
        if (proj) {
          y.mul(proj).sum().backward();
          for (const k of grads) {
            const g = inputs[k].grad;
            assert.ok(g, `${name}: no gradient for ${k}`);
            assertClose(
              g,
              get(`grad.${k}`) as Tensor,
              `${name} d/d${k}`,
              undefined,
              y.dtype === "float64" ? 1e-10 : 2e-5,
            );
          }
        }
      });
    });
  }

  test("safetensors reader: every dtype written by the independent writer", () => {
    const d = (k: string) => all.get(`dtype.${k}`) as Tensor;
    const f64 = d("F64");
    assert.equal(f64.dtype, "float64");
    assert.deepEqual(f64.shape, [2, 3]);
    assert.deepEqual(f64.toArray(), [0, -1.5, 2.25, 1e-3, 65504, -0]);
    assert.equal(d("F32").dtype, "float32");
    assertClose(d("F32"), f64, "F32", 1e-7, 0);
    assert.equal(d("F16").dtype, "float16");
    tidy(() => assertClose(d("F16").to("float64"), f64, "F16", 1e-3, 0));
    assert.equal(d("BF16").dtype, "bfloat16");
    tidy(() => assertClose(d("BF16").to("float32"), d("BF16_as_F32"), "BF16", 0, 0));
    assert.equal(d("I64").dtype, "int64");
    assert.deepEqual(d("I64").toArray(), [-(2 ** 40), 0, 7, 1, -1, 2 ** 52]);
    assert.deepEqual(d("I32").toArray(), [-(2 ** 31), 0, 2 ** 31 - 1]);
    assert.equal(d("U8").dtype, "uint8");
    assert.deepEqual(d("U8").toArray(), [0, 1, 255]);
    assert.equal(d("BOOL").dtype, "bool");
    assert.deepEqual(d("BOOL").toArray(), [1, 0, 1]);
    assert.deepEqual(d("scalar").shape, []);
    assert.equal(d("scalar").item(), 3.5);
    assert.deepEqual(d("empty").shape, [0, 3]);
  });
});
