// The recipe as data (train/recipes.ts) and the trainer options it sets: the table reaches the resolved config and
// config.json, a flag overrides it, --help lists the recipes, the per-1024 units and parameter groups (hand-worked),
// Lookahead, alternating flip, six-view TTA, and a short seeded airbench94 run on encrypted synthetic data that learns.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Command } from "commander";
import { generateKey } from "../../src/cipher/index.ts";
import { addTrainOptions, configFromFlags } from "../../src/cli/commands/train.ts";
import type { Batch } from "../../src/data/index.ts";
import { saveKey } from "../../src/data/keyfile.ts";
import { buildModel, flipTranslate, sixViewMean, sixViews } from "../../src/models/index.ts";
import { fromTypedArray, nn, tensor } from "../../src/torch/index.ts";
import { resolveConfig, train } from "../../src/train/index.ts";
import { Lookahead } from "../../src/train/lookahead.ts";
import { sgdGroups, sgdUnits, whitenBias } from "../../src/train/param-groups.ts";
import { RecipeHooks } from "../../src/train/recipe-hooks.ts";
import { RECIPE_NAMES, RECIPES } from "../../src/train/recipes.ts";
import { writeSyntheticStore } from "./synthetic.ts";

const paths = { train: "/nonexistent/train", out: "/nonexistent/out" };

describe("recipes as data", () => {
  test("--recipe airbench94 sets its table; a flag or config field overrides one value, the rest stay", () => {
    const c = resolveConfig({ ...paths, recipe: "airbench94" });
    for (const [k, v] of Object.entries(RECIPES.airbench94.values))
      assert.deepEqual((c as unknown as Record<string, unknown>)[k], v, `${k} from the recipe`);
    assert.equal(c.lr, 11.5);
    assert.equal(c.biasLrScale, 64);
    assert.equal(c.tta, "six-view");
    const o = resolveConfig({ ...paths, recipe: "airbench94", lr: 5, tta: "flip" });
    assert.equal(o.lr, 5);
    assert.equal(o.tta, "flip");
    assert.equal(o.weightDecay, 0.0153);
    assert.equal(resolveConfig(paths).lr, 0.002, "no recipe: the study's defaults");
    assert.throws(() => resolveConfig({ ...paths, recipe: "airbench99" as "airbench94" }), /recipe must be one of/);
  });

  test("the command line: --recipe with an overriding flag, and --help lists every recipe", () => {
    const cmd = addTrainOptions(new Command("train").argument("<store>").exitOverride());
    cmd.parse(["node", "train", "/s", "--recipe", "airbench94-muon", "--muon-lr", "0.1", "-o", "/o"]);
    const c = resolveConfig(configFromFlags("/s", cmd.opts()));
    assert.equal(c.optimizer, "muon");
    assert.equal(c.muonLr, 0.1, "the flag wins");
    assert.equal(c.batchSize, 2000, "the table's batch size");
    const help = cmd.helpInformation().replace(/\s+/g, " ");
    for (const n of RECIPE_NAMES) assert.ok(help.includes(n), `--help names ${n}`);
  });

  test("per-1024 units: SGD lr and decay, BatchNorm biases at 64× the lr with the same decay per step", () => {
    const c = resolveConfig({ ...paths, recipe: "airbench94", batchSize: 512 });
    // hand-worked: 1024·(1 + 1/0.15) = 7850.67; lr = 11.5·512/7850.67 = 0.75, decay = 0.0153·512/7850.67
    const u = sgdUnits(c);
    assert.ok(Math.abs(u.lr - 0.75) < 1e-12, `lr ${u.lr}`);
    assert.ok(Math.abs(u.decayPerStep - 0.000997826087) < 1e-12, `decay ${u.decayPerStep}`);
    const m = buildModel({ backbone: "airbench94", blockSize: 4, classes: 10, adapt: "none" });
    try {
      const groups = sgdGroups(c, m);
      assert.equal(groups.length, 2);
      const [bias, rest] = groups as { params: unknown[]; lr: number; weightDecay: number }[];
      assert.equal(bias.params.length, 6, "six BatchNorm biases (their scales are frozen)");
      assert.ok(Math.abs(bias.lr / rest.lr - 64) < 1e-12);
      assert.ok(Math.abs(bias.lr * bias.weightDecay - rest.lr * rest.weightDecay) < 1e-15, "same decay per step");
      const muon = sgdGroups(resolveConfig({ ...paths, recipe: "airbench94-muon" }), m) as any[];
      assert.equal(muon[0].muon, true);
      assert.equal(muon[0].params.length, 6, "the six 3×3 conv filters (the whitening conv is frozen)");
    } finally {
      m.dispose();
    }
  });

  test("--adapt-lr-scale, --adapt-decay-scale: the adaptation in its own group at those fractions of lr and decay", () => {
    const m = buildModel({ backbone: "airbench94", blockSize: 4, classes: 10, adapt: "aligned" });
    try {
      const plain = sgdGroups(resolveConfig({ ...paths, recipe: "airbench94" }), m);
      assert.equal(plain.length, 2, "scale 1: the adaptation trains with the rest");
      const groups = sgdGroups(resolveConfig({ ...paths, recipe: "airbench94", adaptLrScale: 0.01 }), m) as {
        params: unknown[];
        lr: number;
        weightDecay: number;
      }[];
      assert.equal(groups.length, 3);
      const [, adapt, rest] = groups;
      assert.deepEqual(new Set(adapt.params), new Set(m.adapt.parameters()), "conv and deconv weights and biases");
      assert.ok(!rest.params.some((p) => adapt.params.includes(p)));
      assert.ok(Math.abs(adapt.lr / rest.lr - 0.01) < 1e-12);
      assert.ok(Math.abs(adapt.lr * adapt.weightDecay - rest.lr * rest.weightDecay) < 1e-15, "same decay per step");
      const [, noDecay, rest0] = sgdGroups(
        resolveConfig({ ...paths, recipe: "airbench94", adaptLrScale: 0.01, adaptDecayScale: 0 }),
        m,
      ) as { params: unknown[]; lr: number; weightDecay: number }[];
      assert.deepEqual(new Set(noDecay.params), new Set(m.adapt.parameters()));
      assert.equal(noDecay.weightDecay, 0, "--adapt-decay-scale 0: no decay on the adaptation");
      assert.ok(rest0.weightDecay > 0, "the rest keeps its decay");
      const [, half] = sgdGroups(resolveConfig({ ...paths, recipe: "airbench94", adaptDecayScale: 0.5 }), m) as {
        params: unknown[];
        lr: number;
        weightDecay: number;
      }[];
      assert.equal(half.lr, rest.lr, "a decay scale alone keeps the lr");
      assert.ok(Math.abs(half.lr * half.weightDecay - 0.5 * rest.lr * rest.weightDecay) < 1e-15, "half the decay");
    } finally {
      m.dispose();
    }
    assert.throws(
      () => resolveConfig({ ...paths, optimizer: "adam", adaptLrScale: 0.1 }),
      /adaptLrScale other than 1 needs --optimizer sgd or muon/,
    );
    assert.throws(
      () => resolveConfig({ ...paths, optimizer: "adamw", adaptDecayScale: 0 }),
      /adaptDecayScale other than 1 needs --optimizer sgd or muon/,
    );
  });
});

describe("recipe trainer options", () => {
  test("Lookahead.update: ema ← d·ema + (1 − d)·w, then w ← ema", () => {
    const lin = new nn.Linear(1, 1, { bias: false });
    lin.weight.requiresGrad = false;
    lin.weight.copy_(tensor([[2]]));
    const la = new Lookahead(lin, 5, 100);
    try {
      assert.ok(Math.abs(la.decayAt(50) - 0.95 ** 5 * 0.125) < 1e-15, "0.95^5·(50/100)³");
      lin.weight.copy_(tensor([[10]]));
      la.update(0.75);
      assert.ok(Math.abs(lin.weight.item() - 4) < 1e-6, "0.75·2 + 0.25·10");
      lin.weight.copy_(tensor([[-3]]));
      la.finish();
      assert.ok(Math.abs(lin.weight.item() - 4) < 1e-6, "finish puts the EMA back unchanged");
      la.afterStep(4);
      assert.ok(Math.abs(lin.weight.item() - 4) < 1e-6, "only every 5th step meets the EMA");
    } finally {
      la.dispose();
      lin.dispose();
    }
  });

  test("alternating flip: each image is mirrored in exactly one of two consecutive epochs, half of them first", () => {
    const cfg = resolveConfig({ ...paths, recipe: "airbench94" });
    const m = buildModel({ backbone: "airbench94", blockSize: 4, classes: 10, adapt: "none" });
    m.adaptAugment = "flip-translate";
    const hooks = new RecipeHooks(cfg, m, 10);
    const ids = Int32Array.from({ length: 2000 }, (_, i) => i);
    const batch = { x: new Float32Array(0), y: new Int32Array(0), n: 2000, shape: [2000, 3, 32, 32], index: 0, ids };
    try {
      hooks.beforeEpoch(1);
      hooks.onBatch(batch as Batch);
      const first = m.mirrorBits!;
      hooks.beforeEpoch(2);
      hooks.onBatch(batch as Batch);
      const second = m.mirrorBits!;
      for (let i = 0; i < 2000; i++) assert.notEqual(first[i], second[i], `image ${i}`);
      const n = first.filter(Boolean).length;
      assert.ok(n > 900 && n < 1100, `${n} of 2000 mirrored in the first epoch`);
      hooks.beforeEpoch(3);
      hooks.onBatch(batch as Batch);
      assert.deepEqual(m.mirrorBits, first, "epoch 3 repeats epoch 1");
    } finally {
      hooks.dispose();
      m.dispose();
    }
  });

  test("--whiten-bias-epochs: the whitening bias trains in the first n epochs only; --freeze backbone keeps it frozen", () => {
    const m = buildModel({ backbone: "airbench94", blockSize: 4, classes: 10, adapt: "none" });
    const bias = whitenBias(m)!;
    try {
      const hooks = new RecipeHooks(resolveConfig({ ...paths, recipe: "airbench94" }), m, 10);
      const trains = [1, 2, 3, 4, 5].map((e) => {
        hooks.beforeEpoch(e);
        return bias.requiresGrad;
      });
      assert.deepEqual(trains, [true, true, true, false, false]);
      bias.requiresGrad = false;
      const frozen = new RecipeHooks(resolveConfig({ ...paths, recipe: "airbench94", freeze: ["backbone"] }), m, 10);
      frozen.beforeEpoch(1);
      assert.equal(bias.requiresGrad, false);
    } finally {
      m.dispose();
    }
  });

  test("flip-translate mirrors where asked and moves by at most 2 pixels; six views weight ½ and ¼", () => {
    const h = 6;
    const x = fromTypedArray(
      Float32Array.from({ length: 2 * h * h }, (_, i) => i),
      [2, 1, h, h],
    );
    const y = flipTranslate(x, [true, false], 0);
    const a = y.toFloat32Array();
    assert.equal(a[0], h - 1, "sample 0 mirrored");
    assert.equal(a[h * h], h * h, "sample 1 as is");
    const v = sixViews(x).toFloat32Array();
    const B = 2 * h * h;
    // up-left view of sample 0 at (2, 3) is x(1, 2); down-right at (2, 3) is x(3, 4)
    assert.equal(v[2 * B + 2 * h + 3], 1 * h + 2);
    assert.equal(v[4 * B + 2 * h + 3], 3 * h + 4);
    const logits = fromTypedArray(Float32Array.from([8, 0, 4, 4, 4, 0]), [6, 1]);
    assert.equal(sixViewMean(logits).item(), 0.25 * 8 + 0.25 * 0 + 0.125 * 12);
    for (const t of [x, y, logits]) t.dispose();
  });
});

describe("a short airbench94 recipe run", () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "ercnn-recipe-"));
    const key = await generateKey({ blockSize: 4, seed: "recipe-tests" });
    await saveKey(join(dir, "key.json"), key);
    await writeSyntheticStore(join(dir, "train"), { n: 256, classes: 4, size: 32, key, seed: 1 });
    await writeSyntheticStore(join(dir, "test"), { n: 96, classes: 4, size: 32, key, seed: 2 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("learns behind the key-folded adaptation, with the table recorded in config.json", async () => {
    const out = join(dir, "run");
    const r = await train(
      {
        train: join(dir, "train"),
        test: join(dir, "test"),
        out,
        recipe: "airbench94",
        keyFolded: join(dir, "key.json"),
        batchSize: 64,
        epochs: 3,
        warmupEpochs: 1,
        valFraction: 0.25,
        normalize: "store",
        workers: 1,
        threads: 2,
        decryptSamples: 2,
        seed: 3,
      },
      { quiet: true, log: (l) => process.env.RECIPE_LOG && process.stderr.write(`${l}\n`) },
    );
    const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    assert.equal(cfg.recipe, "airbench94");
    assert.equal(cfg.lr, 11.5);
    assert.equal(cfg.lookaheadEvery, 5);
    assert.equal(cfg.batchSize, 64, "the flag, not the table's 1024");
    assert.ok(r.testAcc !== null && r.testAcc > 0.6, `test acc ${r.testAcc} (chance 0.25)`);
  });
});
