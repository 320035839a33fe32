// The tiny50 recipes (train/recipes.ts) and the net they name: the tables resolve and every value stays overridable,
// the values fit together (warm-up inside the round, per-1024 units hand-worked), the ER model they build takes a
// 64×64 k = 8 batch to one logit per class with airbench's parameter names, the 64→32 downscale is an exact 2×2
// average (float64 reference), a 150-class pretrained backbone loads under a 50-class head, the tiny50 preset
// encrypts with a k = 16 key (the k16 variant), and the record script's table reads run directories.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Command } from "commander";
import { recordTable } from "../../bench/experiments/tiny50-table.ts";
import { generateKey } from "../../src/cipher/index.ts";
import { runEncrypt } from "../../src/cli/commands/encrypt.ts";
import { addTrainOptions, configFromFlags } from "../../src/cli/commands/train.ts";
import { findDataFile, PRESETS, Store } from "../../src/data/index.ts";
import { saveKey } from "../../src/data/keyfile.ts";
import { buildModel, createModel } from "../../src/models/index.ts";
import { fromTypedArray, noGrad, saveSafetensors, type Tensor } from "../../src/torch/index.ts";
import { resolveConfig } from "../../src/train/index.ts";
import { sgdUnits } from "../../src/train/param-groups.ts";
import { RECIPES } from "../../src/train/recipes.ts";

const paths = { train: "/nonexistent/train", out: "/nonexistent/out" };
const tmp = mkdtempSync(join(tmpdir(), "tiny50-recipe-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A seeded pseudo-random float32 array in [0, 1) (xorshift32). */
function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  });
}

describe("the tiny50 recipes as data", () => {
  for (const name of ["tiny50-pretrain", "tiny50"] as const) {
    test(`--recipe ${name} sets its whole table; a flag overrides one value and the rest stay`, () => {
      const c = resolveConfig({ ...paths, recipe: name });
      for (const [k, v] of Object.entries(RECIPES[name].values))
        assert.deepEqual((c as unknown as Record<string, unknown>)[k], v, `${k} from the recipe`);
      assert.equal(c.backbone, "airbench94");
      assert.equal(c.resize, 32);
      assert.equal(c.normalize, "imagenet");
      assert.ok(c.warmupEpochs < c.epochs, "the warm-up ends inside the round");
      const o = resolveConfig({ ...paths, recipe: name, epochs: 3, resize: null, lr: 2 });
      assert.equal(o.epochs, 3);
      assert.equal(o.resize, null);
      assert.equal(o.lr, 2);
      assert.equal(o.batchSize, RECIPES[name].values.batchSize, "the table's batch size stays");
    });
  }

  test("the command line: --recipe tiny50 with --whiten-init and a 1-epoch smoke round", () => {
    const cmd = addTrainOptions(new Command("train").argument("<store>").exitOverride());
    cmd.parse(["node", "train", "/s", "--recipe", "tiny50", "--whiten-init", "--epochs", "1", "-o", "/o"]);
    assert.throws(() => resolveConfig(configFromFlags("/s", cmd.opts())), /warmupEpochs must be fewer/);
    cmd.parse([
      "node",
      "train",
      "/s",
      "--recipe",
      "tiny50",
      "--whiten-init",
      "-e",
      "1",
      "--warmup-epochs",
      "0.5",
      "-o",
      "/o",
    ]);
    const c = resolveConfig(configFromFlags("/s", cmd.opts()));
    assert.equal(c.whitenInit, true, "the flag wins over the table's false");
    assert.equal(c.epochs, 1);
    assert.equal(c.valFraction, 0);
    assert.equal(c.tta, "six-view");
    assert.equal(resolveConfig({ ...paths, recipe: "tiny50" }).whitenInit, false, "a pretrained start keeps its own");
  });

  test("per-1024 units at the ER batch: lr 11.5·512/(1024·(1 + 1/0.15)) (hand-worked 0.75)", () => {
    const u = sgdUnits(resolveConfig({ ...paths, recipe: "tiny50" }));
    assert.ok(Math.abs(u.lr - 0.75) < 1e-12, `lr ${u.lr}`);
    const p = sgdUnits(resolveConfig({ ...paths, recipe: "tiny50-pretrain" }));
    assert.ok(Math.abs(p.lr - 1.5) < 1e-12, `pretraining lr at batch 1024: ${p.lr}`);
  });
});

describe("the tiny50 net", () => {
  test("the ER model of the tiny50 recipe: 64×64 k = 8 ciphertexts → 50 logits, airbench's names", () => {
    const c = resolveConfig({ ...paths, recipe: "tiny50" });
    const m = buildModel({ backbone: c.backbone, adapt: "aligned", blockSize: 8, classes: 50, resize: c.resize });
    try {
      m.eval();
      const x = fromTypedArray(seeded(4 * 3 * 64 * 64, 7), [4, 3, 64, 64]);
      const y = noGrad(() => m.forward(x));
      assert.deepEqual(y.shape, [4, 50]);
      const v = y.toTypedArray() as Float32Array;
      assert.ok(v.every(Number.isFinite));
      assert.ok(Math.max(...v) - Math.min(...v) > 0, "not a constant output");
      for (const t of [x, y]) t.dispose();
      const names = new Map([...m.namedParameters()].map(([n, t]: [string, Tensor]) => [n, t.shape]));
      assert.deepEqual(names.get("backbone.whiten.weight"), [24, 3, 2, 2]);
      assert.deepEqual(names.get("backbone.layers.1.conv1.weight"), [64, 24, 3, 3]);
      assert.deepEqual(names.get("backbone.layers.3.conv2.weight"), [256, 256, 3, 3]);
      assert.deepEqual(names.get("backbone.head.weight"), [50, 256]);
      assert.deepEqual(names.get("adapt.conv.weight"), [192, 3, 8, 8]);
    } finally {
      m.dispose();
    }
  });

  test("without the downscale airbench94 refuses 64 px (why the recipe resizes)", () => {
    const m = buildModel({ backbone: "airbench94", adapt: "none", blockSize: 8, classes: 50 });
    try {
      m.eval();
      const x = fromTypedArray(seeded(2 * 3 * 64 * 64, 3), [2, 3, 64, 64]);
      assert.throws(() => noGrad(() => m.forward(x)));
      x.dispose();
    } finally {
      m.dispose();
    }
  });

  test("the 64→32 bilinear downscale is the 2×2 block average (float64 reference)", () => {
    const m = buildModel({ backbone: "airbench94", adapt: "none", blockSize: 8, classes: 5, resize: 32 });
    try {
      const src = seeded(2 * 3 * 64 * 64, 11);
      const x = fromTypedArray(src, [2, 3, 64, 64]);
      // the backbone's input, captured by swapping its forward for one that records it
      let seen: Float32Array | null = null;
      const bb = m.backbone as unknown as { forward: (t: Tensor) => Tensor };
      const orig = bb.forward.bind(bb);
      bb.forward = (t: Tensor) => {
        seen = Float32Array.from(t.toTypedArray() as Float32Array);
        return orig(t);
      };
      m.eval();
      noGrad(() => m.forward(x)).dispose();
      x.dispose();
      assert.ok(seen, "the backbone was called");
      const got = seen as Float32Array;
      assert.equal(got.length, 2 * 3 * 32 * 32);
      let worst = 0;
      for (let p = 0; p < 6; p++)
        for (let i = 0; i < 32; i++)
          for (let j = 0; j < 32; j++) {
            const at = (r: number, s: number) => src[p * 4096 + r * 64 + s];
            const ref = (at(2 * i, 2 * j) + at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j) + at(2 * i + 1, 2 * j + 1)) / 4;
            worst = Math.max(worst, Math.abs(got[p * 1024 + i * 32 + j] - ref));
          }
      assert.ok(worst < 1e-6, `largest difference ${worst}`);
    } finally {
      m.dispose();
    }
  });

  test("a 150-class pretrained backbone loads under the 50-class head: every other weight equal", async () => {
    const pre = buildModel({ backbone: "airbench94", adapt: "none", blockSize: 8, classes: 150, resize: 32 });
    const file = join(tmp, "backbone.safetensors");
    const tensors = new Map<string, Tensor>(pre.backbone.namedParameters());
    for (const [n, t] of pre.backbone.namedBuffers()) tensors.set(n, t);
    await saveSafetensors(file, tensors, { format: "pt" });
    const er = await createModel({ backbone: "airbench94", blockSize: 8, classes: 50, resize: 32, pretrained: file });
    try {
      const mine = new Map<string, Tensor>(er.backbone.namedParameters());
      assert.deepEqual(mine.get("head.weight")?.shape, [50, 256]);
      for (const [n, t] of pre.backbone.namedParameters()) {
        if (n === "head.weight") continue;
        const a = t.toTypedArray() as Float32Array;
        const b = mine.get(n)!.toTypedArray() as Float32Array;
        assert.deepEqual(b, a, `${n} loaded`);
      }
    } finally {
      pre.dispose();
      er.dispose();
    }
  });
});

describe("the k = 16 variant's stores", () => {
  const archive = findDataFile(PRESETS.tiny50.archive);
  test("the tiny50 preset encrypts with a k = 16 key; k = 24 does not tile 64 px", { skip: !archive }, async () => {
    for (const k of [16, 24]) {
      const keyFile = join(tmp, `key${k}.json`);
      await saveKey(keyFile, await generateKey({ blockSize: k, seed: `t50-${k}` }));
      const out = join(tmp, `enc${k}`);
      const run = runEncrypt(undefined, { preset: "tiny50", split: "test", key: keyFile, limit: 4, out, json: true });
      if (k === 24) {
        await assert.rejects(run, /not divisible by block size 24/);
        continue;
      }
      await run;
      const s = Store.open(out);
      assert.equal(s.count, 4);
      assert.deepEqual(s.shape, [3, 64, 64]);
      assert.equal((s.meta.key as { blockSize: number }).blockSize, 16);
    }
  });
});

describe("the record script's table", () => {
  test("one row per finished variant, its plain control, PSNR and minutes; unfinished variants left out", () => {
    const out = join(tmp, "record");
    const run = (dir: string, final: object, seconds: number, config: object = { rounds: 1 }) => {
      mkdirSync(join(out, dir), { recursive: true });
      writeFileSync(join(out, dir, "final.json"), JSON.stringify(final));
      writeFileSync(join(out, dir, "config.json"), JSON.stringify(config));
      writeFileSync(join(out, dir, "wall-seconds"), `${seconds}\n`);
    };
    mkdirSync(join(out, "pretrain"), { recursive: true });
    writeFileSync(join(out, "pretrain", "wall-seconds"), "3300\n");
    run("k8/record", { testAcc: 0.6512, psnr: 35.123 }, 2700);
    run("plain", { testAcc: 0.6588 }, 2400);
    run("k8/rounds3", { testAcc: 0.5, psnr: 30 }, 2760, { rounds: 3 });
    run("k8/rounds3-adapt-lr-0.01", { testAcc: 0.6, psnr: 40 }, 2880, { rounds: 3, adaptLrScale: 0.01 });
    run("k8/rounds3-adapt-lr-0.01-decay-0", { testAcc: 0.62, psnr: 41 }, 2940, {
      rounds: 3,
      adaptLrScale: 0.01,
      adaptDecayScale: 0,
    });
    run("k8/rounds3-init-default-adapt-lr-0.01", { testAcc: 0.55, psnr: 9 }, 2400, {
      rounds: 3,
      adaptInit: "default",
      adaptLrScale: 0.01,
    });
    run("k8/rounds3-partial-s16", { testAcc: 0.1, psnr: 13 }, 60, { rounds: 3 }); // a kept partial run: not a row
    mkdirSync(join(out, "k8", "rounds3-partial"), { recursive: true }); // an interrupted run's folder: not a row
    const rows = recordTable(out).split("\n");
    assert.equal(rows.length, 9, rows.join("\n"));
    assert.equal(rows[8], "plain control training minutes: pretrained 40.0");
    assert.equal(
      rows[2],
      "| approach one (pretrained, attack estimate fixed) | 8 | 65.12% | 65.88% | 35.12 dB | 55.0 | 45.0 |",
    );
    assert.equal(
      rows[3],
      "| multi-round (3 rounds, adaptation trained) | 8 | 50.00% | 65.88% | 30.00 dB | 55.0 | 46.0 |",
    );
    assert.equal(
      rows[4],
      "| multi-round (3 rounds, adaptation trained at 0.01× the lr) | 8 | 60.00% | 65.88% | 40.00 dB | 55.0 | 48.0 |",
    );
    assert.equal(
      rows[5],
      "| multi-round (3 rounds, adaptation trained at 0.01× the lr, no weight decay) | 8 | 62.00% | 65.88% | 41.00 dB | 55.0 | 49.0 |",
    );
    assert.equal(
      rows[6],
      "| multi-round (3 rounds, adaptation trained from PyTorch's default init at 0.01× the lr) | 8 | 55.00% | 65.88% | 9.00 dB | 55.0 | 40.0 |",
    );
  });
});
