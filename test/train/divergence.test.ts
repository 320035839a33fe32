// A diverging run stops: a loss that is not a number ends training with an error naming the epoch (and step) and
// what to lower, exits non-zero from the CLI, and leaves the last good epoch's checkpoint as it was.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { noGrad } from "../../src/torch/index.ts";
import { train } from "../../src/train/index.ts";
import { LOCK_FILE } from "../../src/train/run-lock.ts";
import { writeSyntheticStore } from "./synthetic.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ercnn-diverge-"));
  await writeSyntheticStore(join(dir, "train"), { n: 64, classes: 3, size: 16, key: null });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const base = (out: string) => ({
  train: join(dir, "train"),
  out,
  backbone: "resnet20",
  batchSize: 16,
  epochs: 1,
  rounds: 2,
  workers: 1,
  threads: 1,
  decryptSamples: 2,
});

/** The run kept round 1's checkpoint and metrics and wrote nothing of round 2 (nor final.json, nor a lock). */
function assertKeptRoundOne(out: string): void {
  const state = JSON.parse(readFileSync(join(out, "last", "state.json"), "utf8"));
  assert.deepEqual([state.round, state.epoch], [1, 1]);
  const rows = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.ok(rows.length > 0 && rows.every((r) => r.round === 1 && Number.isFinite(r.loss)), JSON.stringify(rows));
  assert.ok(!existsSync(join(out, "final.json")), "no final.json for a diverged run");
  assert.ok(!existsSync(join(out, LOCK_FILE)), "the lock is released");
}

test("a validation loss that is not a number (training loss still finite) stops the run in that epoch", async () => {
  const out = join(dir, "val-nan");
  // BatchNorm's running variance only matters in eval mode: training stays finite, validation does not.
  const poison = (model: { buffers(): { dtype: string; fill_(v: number): unknown }[] }, round: number) => {
    if (round !== 2) return;
    noGrad(() => {
      for (const b of model.buffers()) if (b.dtype === "float32") b.fill_(Number.NaN);
    });
  };
  await assert.rejects(
    train(
      { ...base(out), valFraction: 0.25, lr: 0.01, momentum: 0.9 },
      { quiet: true, log: () => {}, onRoundStart: poison },
    ),
    (e: Error) =>
      e.name === "DivergedError" &&
      /the validation loss is NaN at the validation after round 2\/2 epoch 1\/1/.test(e.message) &&
      e.message.includes("lower --lr (0.01) or --momentum (0.9)") &&
      e.message.includes("keeps the last good epoch's checkpoint"),
  );
  assertKeptRoundOne(out);
});

test("a training loss that is not a number stops the run at its step", async () => {
  const out = join(dir, "train-nan");
  const poison = (model: { parameters(): { fill_(v: number): unknown }[] }, round: number) => {
    if (round === 2) noGrad(() => model.parameters()[0].fill_(Number.NaN));
  };
  await assert.rejects(
    train(
      { ...base(out), valFraction: 0, optimizer: "adam", lr: 0.002 },
      { quiet: true, log: () => {}, onRoundStart: poison },
    ),
    (e: Error) =>
      e.name === "DivergedError" &&
      /the training loss is NaN at round 2\/2 epoch 1\/1, step 1 of 4; lower --lr \(0\.002\)\./.test(e.message),
  );
  assertKeptRoundOne(out);
});

test("ercnn train --momentum 5 exits 1 with the divergence, not 'best val acc'", () => {
  const out = join(dir, "momentum-5");
  const args = ["src/cli/main.ts", "train", join(dir, "train"), "-o", out, "--epochs", "4", "-b", "16"];
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", ...args, "--momentum", "5", "--workers", "1", "--threads", "1", "--val-fraction", "0.25"],
    { cwd: root, encoding: "utf8", timeout: 120_000 },
  );
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    /ercnn: training diverged: the (training|mean training|validation) loss is (NaN|-?Infinity) at /,
  );
  assert.match(r.stderr, /or --momentum \(5; at 1 or more the steps grow without bound\)/);
  assert.doesNotMatch(r.stderr, /best val acc/);
  assert.ok(!existsSync(join(out, "final.json")));
});
