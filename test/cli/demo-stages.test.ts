// The demo's stage timings: wall and CPU time per step, skipped steps marked, a table with a total.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { formatStages, StageClock } from "../../src/cli/demo-stages.ts";

test("a stage records its wall time, and its CPU time separately from waiting", async () => {
  const clock = new StageClock();
  await clock.time("wait", () => sleep(200));
  // spin until this process has used 0.1 s of CPU by its own count (however long a loaded machine makes that take)
  const spin = await clock.time("spin", async () => {
    const c0 = process.cpuUsage();
    let x = 0;
    for (let c = process.cpuUsage(c0); (c.user + c.system) / 1e6 < 0.1; c = process.cpuUsage(c0)) {
      for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + 1);
    }
    return x;
  });
  assert.ok(spin > 0);
  const [wait, busy] = clock.stages;
  assert.equal(wait.name, "wait");
  assert.ok(wait.wall! >= 0.19 && wait.wall! < 2, `waited ${wait.wall} s`);
  assert.ok(wait.cpu! < 0.08, `waiting used ${wait.cpu} s of CPU`);
  assert.ok(busy.cpu! >= 0.1 && busy.cpu! < 1, `spinning used ${busy.cpu} s of CPU`);
  assert.ok(busy.wall! >= 0.05, `spun ${busy.wall} s`);
});

test("a step the result says was skipped is recorded without times", async () => {
  const clock = new StageClock();
  const r = await clock.time(
    "train",
    async () => false,
    (trained) => !trained,
  );
  assert.equal(r, false);
  assert.deepEqual(clock.stages, [{ name: "train" }]);
});

test("the table aligns the stages, marks skipped ones and totals the ones run", () => {
  const table = formatStages([
    { name: "1 key", wall: 0.04, cpu: 0.02 },
    { name: "2 encrypt" },
    { name: "3 train", wall: 100.5, cpu: 190.25 },
  ]);
  assert.equal(
    table,
    [
      "  1 key           0.0 s       0.0 s CPU",
      "  2 encrypt  done before",
      "  3 train    1 min 41 s  3 min 10 s CPU",
      "  total      1 min 41 s  3 min 10 s CPU",
    ].join("\n"),
  );
});
