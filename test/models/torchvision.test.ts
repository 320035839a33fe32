// Backbones against torchvision 0.14.1 (Debian's python3-torchvision): parameter counts, state-dict names and
// shapes for every backbone, and eval-mode logits for seeded random weights (all but ConvNeXt-Large, which is
// checked by structure only: its 800 MB of weights are never written).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { createBackbone, loadBackboneWeights } from "../../src/models/index.ts";
import { noGrad, tidy } from "../../src/torch/index.ts";
import { loadSafetensors } from "../../src/torch/safetensors.ts";
import { hasTorchvision, relErr, runFixture } from "./helpers.ts";

const NAMES = [
  "resnet18",
  "resnet34",
  "resnet50",
  "resnext50_32x4d",
  "densenet121",
  "convnext_tiny",
  "convnext_small",
  "convnext_base",
  "convnext_large",
];
const LOGITS = new Set(NAMES.filter((n) => n !== "convnext_large"));

const skip = hasTorchvision() ? false : "needs /usr/bin/python3 with torch + torchvision";

describe("torchvision backbones", { skip }, () => {
  let fx: { dir: string; cleanup: () => void };
  let structure: Record<string, { params: number; state: [string, number[]][] }>;
  before(() => {
    fx = runFixture("gen_torchvision.py");
    structure = JSON.parse(readFileSync(`${fx.dir}/structure.json`, "utf8"));
  });
  after(() => fx?.cleanup());

  for (const name of NAMES) {
    test(`${name}: parameter count, names and shapes${LOGITS.has(name) ? ", logits" : ""}`, async () => {
      const model = createBackbone(name);
      try {
        const want = structure[name];
        assert.equal(model.numParameters(), want.params, "parameter count");
        const ours = [...model.stateDict()].map(([k, t]) => [k, t.shape]);
        assert.deepEqual(ours, want.state, "state-dict names/shapes/order");
        if (!LOGITS.has(name)) return;
        const { tensors } = await loadSafetensors(`${fx.dir}/${name}.safetensors`);
        loadBackboneWeights(model, tensors);
        for (const t of tensors.values()) t.dispose();
        const io = await loadSafetensors(`${fx.dir}/${name}.io.safetensors`);
        model.eval();
        const y = tidy(() => noGrad(() => model.forward(io.tensors.get("input")!)));
        const err = relErr(y, io.tensors.get("logits")!);
        y.dispose();
        for (const t of io.tensors.values()) t.dispose();
        assert.ok(err < 1e-4, `${name}: logits differ from torchvision's by ${err.toExponential(2)} (relative)`);
      } finally {
        model.dispose();
      }
    });
  }
});
