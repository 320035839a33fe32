// The ER model, registry, CIFAR backbones, freezing, backbone swapping, key-folded end to end, checkpoints.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { encrypt, generateKey } from "../../src/cipher/index.ts";
import {
  BACKBONES,
  buildModel,
  createBackbone,
  freshBackbone,
  IMAGENET_NORMALIZATION,
  listBackbones,
  loadCheckpoint,
  loadCheckpointInto,
  saveCheckpoint,
} from "../../src/models/index.ts";
import { F, fromTypedArray, manualSeed, nn, noGrad, randint, randn, tidy } from "../../src/torch/index.ts";
import { SGD } from "../../src/torch/optim/index.ts";
import { relErr } from "./helpers.ts";

describe("registry", () => {
  test("names", () => {
    assert.deepEqual(listBackbones(), [
      "resnet18",
      "resnet34",
      "resnet50",
      "resnext50_32x4d",
      "densenet121",
      "convnext_tiny",
      "convnext_small",
      "convnext_base",
      "convnext_large",
      "resnet20",
      "resnet56",
      "resnet9",
      "airbench94",
      "airbench94_muon",
      "airbench95",
      "blockresnet_s",
      "blockresnet_m",
      "vit_block_tiny",
    ]);
    assert.throws(() => createBackbone("vgg16"), /unknown backbone 'vgg16'.*resnet18/);
  });

  test("CPU-sized backbones: parameter counts (He et al.: resnet20 0.27M, resnet56 0.85M) and 32×32 / 64×64 inputs", () => {
    for (const name of ["resnet20", "resnet56", "resnet9", "blockresnet_s", "blockresnet_m"]) {
      const m = createBackbone(name);
      assert.equal(m.numParameters(), BACKBONES.get(name)!.params, name);
      for (const s of [32, 64]) {
        const y = tidy(() => noGrad(() => m.forward(randn([2, 3, s, s]))));
        assert.deepEqual(y.shape, [2, 10], `${name} at ${s}px`);
        y.dispose();
      }
      m.dispose();
    }
    assert.equal(BACKBONES.get("resnet20")!.params, 269_722);
    assert.equal(BACKBONES.get("resnet56")!.params, 853_018);
  });

  test("ImageNet backbones accept 32×32 and 64×64 (and resize to 224 on request)", () => {
    for (const name of ["resnet18", "densenet121", "convnext_tiny"]) {
      const m = buildModel({ backbone: name, blockSize: 4, classes: 5 });
      m.eval();
      for (const s of [32, 64]) {
        const y = tidy(() => noGrad(() => m.forward(randn([1, 3, s, s]))));
        assert.deepEqual(y.shape, [1, 5], `${name} at ${s}px`);
        y.dispose();
      }
      m.dispose();
    }
    const r = buildModel({ backbone: "resnet18", blockSize: 4, classes: 3, resize: 224 });
    let seen: number[] = [];
    const orig = r.backbone.forward.bind(r.backbone);
    r.backbone.forward = (x) => {
      seen = x.shape;
      return orig(x);
    };
    const y = tidy(() => noGrad(() => r.forward(randn([1, 3, 32, 32]))));
    assert.deepEqual(seen, [1, 3, 224, 224]);
    assert.deepEqual(y.shape, [1, 3]);
    y.dispose();
    r.dispose();
  });
});

describe("ER model", () => {
  test("structure: children adapt + backbone, head new and inside the backbone at torchvision's position", () => {
    const m = buildModel({ backbone: "convnext_tiny", adapt: "aligned", blockSize: 4, classes: 10 });
    assert.deepEqual(
      m.children().map((c) => c.constructor.name),
      ["Adaptation", "ConvNeXt"],
    );
    const keys = [...m.stateDict().keys()];
    assert.equal(keys[0], "adapt.conv.weight");
    assert.ok(keys.includes("backbone.features.1.0.layer_scale"));
    assert.ok(keys.includes("backbone.classifier.2.weight"));
    assert.deepEqual(m.head().weight.shape, [10, 768]);
    assert.equal(m.adapt.numParameters(), 48 * 3 * 16 + 48 + 48 * 3 * 16 + 3);
    m.dispose();
  });

  test("freeze/unfreeze parts; gradients only reach trainable parts", () => {
    const m = buildModel({ backbone: "resnet20", blockSize: 4, classes: 10 });
    m.freeze("backbone");
    assert.ok(m.isFrozen("backbone"));
    assert.ok(!m.isFrozen("head"));
    assert.ok(!m.isFrozen("adapt"));
    tidy(() => {
      const loss = F.crossEntropy(m.forward(randn([4, 3, 32, 32])), randint(0, 10, [4]));
      loss.backward();
    });
    assert.ok(m.adapt.conv!.weight.grad !== null);
    assert.ok(m.head().weight.grad !== null);
    assert.equal(m.backbone.stateDict().get("conv1.weight")!.grad, null);
    m.zeroGrad();
    m.unfreeze("backbone").freeze("adapt").freeze("head");
    assert.ok(m.isFrozen("adapt") && m.isFrozen("head") && !m.isFrozen("backbone"));
    m.dispose();
  });

  test("replaceBackbone keeps the adaptation network (multi-round training)", () => {
    manualSeed(1);
    const m = buildModel({ backbone: "resnet20", blockSize: 4, classes: 10 });
    const adaptBefore = m.adapt.conv!.weight.clone();
    const old = m.backbone.stateDict().get("conv1.weight")!.clone();
    const fresh = freshBackbone(m);
    m.replaceBackbone(fresh);
    assert.equal(m.backbone, fresh);
    assert.ok(m.adapt.conv!.weight.allclose(adaptBefore));
    assert.ok(!m.backbone.stateDict().get("conv1.weight")!.allclose(old));
    assert.throws(() => m.replaceBackbone(createBackbone("resnet20", { numClasses: 3 })), /3 outputs, expected 10/);
    for (const t of [adaptBefore, old]) t.dispose();
    m.dispose();
  });

  test("eval mode runs the backbone in pieces of evalChunk images with the same logits (six-view TTA included)", () => {
    manualSeed(3);
    const m = buildModel({ backbone: "airbench94", blockSize: 4, classes: 10 });
    m.eval();
    m.tta = "six-view";
    const x = randn([5, 3, 32, 32]);
    const sizes: number[] = [];
    const forward = m.backbone.forward.bind(m.backbone);
    m.backbone.forward = (t) => {
      sizes.push(t.shape[0]);
      return forward(t);
    };
    const whole = tidy(() => noGrad(() => m.forward(x)));
    assert.deepEqual(sizes, [30]);
    m.evalChunk = 4; // 30 backbone inputs in 8 pieces, the last one short
    const pieces = tidy(() => noGrad(() => m.forward(x)));
    assert.deepEqual(sizes.slice(1), [4, 4, 4, 4, 4, 4, 4, 2]);
    assert.deepEqual(pieces.shape, [5, 10]);
    assert.ok(relErr(pieces, whole) < 1e-5, `pieces differ from the whole batch: ${relErr(pieces, whole)}`);
    // and each image's logits are those of the image alone
    const alone = tidy(() => noGrad(() => m.forward(x.narrow(0, 3, 1))));
    const row = pieces.narrow(0, 3, 1);
    assert.ok(relErr(row, alone) < 1e-5);
    for (const t of [x, whole, pieces, alone, row]) t.dispose();
    m.dispose();
  });

  test("key-folded ER model on ciphertext = the backbone on plaintext (loader normalisation included)", async () => {
    const key = await generateKey({ blockSize: 4, seed: "er" });
    const m = buildModel({ backbone: "resnet20", blockSize: 4, classes: 10, keyFolded: key });
    m.eval();
    const [n, c, h, w] = [2, 3, 32, 32];
    const p = new Float32Array(n * c * h * w).map((_, i) => ((i * 7919) % 1000) / 1000);
    const ciph = encrypt(p, { n, c, h, w, layout: "CHW" }, key);
    const { mean, std } = IMAGENET_NORMALIZATION;
    const norm = (x: Float32Array) =>
      x.map((v, i) => (v - mean[Math.floor(i / (h * w)) % c]) / std[Math.floor(i / (h * w)) % c]);
    const cn = fromTypedArray(norm(ciph), [n, c, h, w]);
    const pn = fromTypedArray(norm(p), [n, c, h, w]);
    const a = noGrad(() => m.adaptOutput(cn));
    assert.ok(relErr(a, pn) < 1e-4);
    const y1 = tidy(() => noGrad(() => m.forward(cn)));
    const y2 = tidy(() => noGrad(() => m.backbone.forward(pn)));
    assert.ok(relErr(y1, y2) < 1e-4);
    for (const t of [cn, pn, a, y1, y2]) t.dispose();
    m.dispose();
  });
});

describe("checkpoints", () => {
  test("round trip: weights, JSON metadata, optimizer state", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ercnn-ckpt-"));
    try {
      const m = buildModel({ backbone: "resnet20", adapt: "seed", blockSize: 4, classes: 10 });
      const opt = new SGD(m.parameters(), { lr: 0.01, momentum: 0.9 });
      tidy(() => F.crossEntropy(m.forward(randn([4, 3, 32, 32])), randint(0, 10, [4])).backward());
      opt.step();
      const meta = await saveCheckpoint(dir, m, {
        classNames: ["a", "b"],
        keyFingerprint: "abc123",
        epoch: 4,
        metrics: { valAcc: 0.5 },
        optimizer: opt,
      });
      assert.equal(meta.model.adapt, "seed");
      const json = JSON.parse(readFileSync(join(dir, "checkpoint.json"), "utf8"));
      assert.deepEqual(json.classNames, ["a", "b"]);
      assert.equal(json.keyFingerprint, "abc123");
      assert.equal(json.epoch, 4);
      const { model: m2, meta: meta2 } = await loadCheckpoint(dir);
      assert.equal(meta2.metrics.valAcc, 0.5);
      assert.equal(m2.adapt.kind, "seed");
      for (const [k, t] of m.stateDict()) assert.ok(t.allclose(m2.stateDict().get(k)!), k);
      const opt2 = new SGD(m2.parameters(), { lr: 0.01, momentum: 0.9 });
      await loadCheckpointInto(dir, m2, opt2);
      const s1 = opt.stateDict();
      const s2 = opt2.stateDict();
      assert.equal(s2.state.size, s1.state.size);
      assert.ok(s2.state.get(0)!.tensors.momentum_buffer.allclose(s1.state.get(0)!.tensors.momentum_buffer));
      // a checkpoint of another architecture: the error names the file and the tensors
      const other = buildModel({ backbone: "resnet56", blockSize: 4, classes: 10 });
      await assert.rejects(loadCheckpointInto(dir, other), (e: Error) => {
        assert.ok(e instanceof nn.StateDictError);
        assert.match(e.message, /model\.safetensors/);
        assert.match(e.message, /missing keys: .*backbone\.layer1\.3\.conv1\.weight/);
        return true;
      });
      const wrongHead = buildModel({ backbone: "resnet20", blockSize: 4, classes: 7 });
      await assert.rejects(
        loadCheckpointInto(dir, wrongHead),
        /backbone\.fc\.weight expects \[7,64\] but got \[10,64\]/,
      );
      for (const x of [m, m2, other, wrongHead]) x.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
