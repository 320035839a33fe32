// The .pth reader (against files written by python3-torch's torch.save), timm name mapping, strict loading errors.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import {
  createBackbone,
  createModel,
  decodePth,
  denseNetLegacyName,
  loadBackboneWeights,
  loadBackboneWeightsFile,
  loadPth,
  loadWeightsFile,
  timmConvNeXtName,
  toStateDict,
} from "../../src/models/index.ts";
import { nn, noGrad, tidy } from "../../src/torch/index.ts";
import { loadSafetensors } from "../../src/torch/safetensors.ts";
import { hasTorchvision, relErr, runFixture } from "./helpers.ts";

const skip = hasTorchvision() ? false : "needs /usr/bin/python3 with torch + torchvision";

describe(".pth files from torch.save", { skip }, () => {
  let fx: { dir: string; cleanup: () => void };
  before(() => {
    fx = runFixture("gen_pth.py");
  });
  after(() => fx?.cleanup());

  test("dtypes, views, shared storage, non-contiguous, scalar, Parameter, empty, wrapper dict", async () => {
    const exp = JSON.parse(readFileSync(`${fx.dir}/misc.json`, "utf8")) as Record<
      string,
      { shape: number[]; dtype: string; values: number[] }
    >;
    const obj = decodePth(readFileSync(`${fx.dir}/misc.pth`), "misc.pth") as Map<string, unknown>;
    assert.equal(obj.get("epoch"), 3);
    assert.equal(obj.get("note"), "ercnn");
    const sd = toStateDict(obj);
    assert.deepEqual([...sd.keys()], Object.keys(exp));
    const dtypeName: Record<string, string> = {
      float: "float32",
      double: "float64",
      half: "float16",
      long: "int64",
      int: "int32",
      uint8: "uint8",
      bool: "bool",
    };
    for (const [k, e] of Object.entries(exp)) {
      const t = sd.get(k)!;
      assert.deepEqual(t.shape, e.shape, k);
      assert.equal(t.dtype, dtypeName[e.dtype] ?? e.dtype.replace("float32", "float32"), k);
      const d = t.to("float64");
      assert.deepEqual(Array.from(d.toTypedArray() as Float64Array), e.values, k);
      d.dispose();
      t.dispose();
    }
  });

  test("a torchvision state dict reads identically to its safetensors copy", async () => {
    const a = await loadPth(`${fx.dir}/resnet18.pth`);
    const b = (await loadSafetensors(`${fx.dir}/resnet18.safetensors`)).tensors;
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [k, t] of a) {
      assert.deepEqual(t.shape, b.get(k)!.shape, k);
      assert.equal(t.dtype, b.get(k)!.dtype, k);
      assert.ok(
        t
          .eq(b.get(k)!)
          .toArray()
          .every((v) => v === 1),
        k,
      );
    }
    for (const t of [...a.values(), ...b.values()]) t.dispose();
  });

  test("loadWeightsFile dispatches on content; .pth loads into resnet18 strictly", async () => {
    const m = createBackbone("resnet18");
    const r = await loadBackboneWeightsFile(m, `${fx.dir}/resnet18.pth`);
    assert.deepEqual(r, { missing: [], unexpected: [], mismatched: [] });
    const sd = await loadWeightsFile(`${fx.dir}/resnet18.safetensors`);
    assert.equal(sd.get("fc.weight")!.allclose(m.head().weight), true);
    for (const t of sd.values()) t.dispose();
    m.dispose();
  });

  test("timm ConvNeXt names (stem/stages/gamma/head.fc) map onto torchvision's: same logits", async () => {
    const m = createBackbone("convnext_tiny");
    await loadBackboneWeightsFile(m, `${fx.dir}/timm_convnext_tiny.pth`);
    const io = await loadSafetensors(`${fx.dir}/convnext_tiny.io.safetensors`);
    m.eval();
    const y = tidy(() => noGrad(() => m.forward(io.tensors.get("input")!)));
    assert.ok(relErr(y, io.tensors.get("logits")!) < 1e-4);
    y.dispose();
    for (const t of io.tensors.values()) t.dispose();
    m.dispose();
  });

  test("a wrong checkpoint names every missing, unexpected and mis-shaped tensor", async () => {
    const m34 = createBackbone("resnet34");
    await assert.rejects(loadBackboneWeightsFile(m34, `${fx.dir}/resnet18.pth`), (e: Error) => {
      assert.ok(e instanceof nn.StateDictError);
      assert.match(e.message, /resnet18\.pth/);
      assert.match(e.message, /missing keys: .*layer1\.2\.conv1\.weight/);
      assert.deepEqual(e.result.unexpected, []);
      assert.ok(e.result.missing.includes("layer4.2.bn2.running_var"));
      return true;
    });
    m34.dispose();

    const sd = await loadPth(`${fx.dir}/resnet18.pth`);
    const bad = new Map(sd);
    bad.delete("layer2.0.downsample.1.running_mean");
    bad.set("layer3.0.conv1.weight", sd.get("layer2.0.conv2.weight")!);
    bad.set("extra.weight", sd.get("fc.bias")!);
    const m = createBackbone("resnet18", { numClasses: 10 });
    assert.throws(
      () => loadBackboneWeights(m, bad),
      (e: nn.StateDictError) => {
        assert.deepEqual(e.result.missing, ["layer2.0.downsample.1.running_mean"]);
        assert.deepEqual(e.result.unexpected, ["extra.weight"]);
        assert.deepEqual(
          e.result.mismatched.map((x) => x.key),
          ["layer3.0.conv1.weight", "fc.weight", "fc.bias"],
        );
        assert.match(e.message, /layer3\.0\.conv1\.weight expects \[256,128,3,3\] but got \[128,128,3,3\]/);
        return true;
      },
    );
    // the head being replaced: the 1000-class fc is skipped, the rest loads strictly
    const r = loadBackboneWeights(m, sd, { replaceHead: true });
    assert.deepEqual(r, { missing: [], unexpected: [], mismatched: [] });
    assert.equal(m.head().outFeatures, 10);
    assert.equal(m.stateDict().get("layer1.0.conv1.weight")!.allclose(sd.get("layer1.0.conv1.weight")!), true);
    for (const t of sd.values()) t.dispose();
    m.dispose();
  });

  test("createModel({pretrained}) loads the backbone and keeps a new head", async () => {
    const model = await createModel({
      backbone: "resnet18",
      adapt: "aligned",
      blockSize: 4,
      classes: 7,
      pretrained: `${fx.dir}/resnet18.pth`,
    });
    const sd = await loadPth(`${fx.dir}/resnet18.pth`);
    assert.equal(
      model.stateDict().get("backbone.layer4.1.bn2.running_var")!.allclose(sd.get("layer4.1.bn2.running_var")!),
      true,
    );
    assert.deepEqual(model.head().weight.shape, [7, 512]);
    for (const t of sd.values()) t.dispose();
    model.dispose();
  });
});

test("name mappings", () => {
  assert.equal(timmConvNeXtName("stem.0.weight"), "features.0.0.weight");
  assert.equal(timmConvNeXtName("stages.2.downsample.1.bias"), "features.4.1.bias");
  assert.equal(timmConvNeXtName("stages.3.blocks.1.mlp.fc2.weight"), "features.7.1.block.5.weight");
  assert.equal(timmConvNeXtName("stages.0.blocks.0.gamma"), "features.1.0.layer_scale");
  assert.equal(timmConvNeXtName("head.fc.bias"), "classifier.2.bias");
  assert.equal(timmConvNeXtName("head.norm.weight"), "classifier.0.weight");
  assert.equal(
    denseNetLegacyName("features.denseblock1.denselayer1.norm.1.running_mean"),
    "features.denseblock1.denselayer1.norm1.running_mean",
  );
  assert.equal(denseNetLegacyName("features.transition1.norm.weight"), "features.transition1.norm.weight");
});
