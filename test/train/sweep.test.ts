import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runSweep, type SweepSpec, sweepCells } from "../../src/train/index.ts";
import { writeSyntheticStore } from "./synthetic.ts";

let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ercnn-sweep-"));
  await writeSyntheticStore(join(dir, "plain"), { n: 96, classes: 3, size: 16, key: null });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("grid cells are the cartesian product, named by their values", () => {
  const cells = sweepCells({ base: { train: "x" }, grid: { lr: [0.1, 0.01], adapt: ["aligned", "none"] } }, "/s");
  assert.deepEqual(
    cells.map((c) => c.name),
    ["lr=0.1,adapt=aligned", "lr=0.1,adapt=none", "lr=0.01,adapt=aligned", "lr=0.01,adapt=none"],
  );
  assert.equal(cells[3].dir, "/s/cells/lr=0.01,adapt=none");
});

test("a spec is checked like train --config: unknown fields, empty or non-list axes and bad cells are refused", async () => {
  const out = join(dir, "refused");
  const refused = async (spec: unknown, re: RegExp) => {
    await assert.rejects(runSweep(spec as SweepSpec, out, { quiet: true, log: () => {} }), re);
    assert.ok(!existsSync(out), "nothing written for a refused spec");
  };
  const train = join(dir, "plain");
  await refused({ base: { train, learningRate: 0.1 }, grid: { lr: [0.1] } }, /unknown base field\(s\) learningRate/);
  await refused({ base: { train }, grid: { lrs: [0.1, 0.2] } }, /unknown grid field\(s\) lrs/);
  await refused({ base: { train }, grid: { lr: [] } }, /grid\.lr must be a non-empty list of values \(got \[\]\)/);
  await refused({ base: { train }, grid: { lr: 0.1 } }, /grid\.lr must be a non-empty list/);
  await refused({ base: { train }, grid: {}, extra: 1 }, /unknown field\(s\) extra/);
  await refused({ base: { train, out: "x" }, grid: {} }, /base\.out is not allowed/);
  await refused({ base: { train }, grid: { lr: [0.1, -1] } }, /sweep cell lr=-1: train config: lr must be/);
});

test("a sweep resumes without redoing finished cells and writes tables, plots and a report", async () => {
  const out = join(dir, "sweep");
  const spec: SweepSpec = {
    base: {
      train: join(dir, "plain"),
      backbone: "resnet20",
      epochs: 1,
      batchSize: 16,
      valFraction: 0.25,
      workers: 1,
      threads: 1,
      optimizer: "adam",
      lr: 0.002,
    },
    grid: { adapt: ["aligned", "none"] },
  };
  const quiet = { quiet: true, log: () => {} };
  const first = await runSweep(spec, out, { ...quiet, maxCells: 1 });
  assert.deepEqual(first.ran, ["adapt=aligned"]);
  assert.equal(first.rows.find((r) => r.cell === "adapt=none")?.status, "pending");
  const finalA = join(out, "cells", "adapt=aligned", "final.json");
  const mtime = statSync(finalA).mtimeMs;

  const second = await runSweep(spec, out, quiet);
  assert.deepEqual(second.skipped, ["adapt=aligned"]);
  assert.deepEqual(second.ran, ["adapt=none"]);
  assert.equal(statSync(finalA).mtimeMs, mtime, "the finished cell was not retrained");

  const third = await runSweep(spec, out, quiet);
  assert.deepEqual(third.ran, []);
  assert.deepEqual(third.skipped.sort(), ["adapt=aligned", "adapt=none"]);

  const csv = readFileSync(join(out, "results.csv"), "utf8");
  assert.match(csv, /adapt=aligned/);
  assert.equal(csv.trim().split(/\r?\n/).length, 3, "header + one row per cell");
  assert.ok(third.rows.every((r) => r.status === "done" && typeof r.bestValAcc === "number"));
  for (const f of ["results.md", "accuracy.svg", "accuracy.png", "test-accuracy.png", "report.html"])
    assert.ok(existsSync(join(out, f)), `${f} written`);
});

test("a bad cell config is refused before any training", async () => {
  await assert.rejects(
    runSweep({ base: { train: join(dir, "plain") }, grid: { optimizer: ["sgd", "lion"] } }, join(dir, "bad"), {
      quiet: true,
      log: () => {},
    }),
    /optimizer must be one of sgd, adam, adamw/,
  );
  assert.ok(!existsSync(join(dir, "bad", "cells")));
});
