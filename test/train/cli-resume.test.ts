// The real thing: `ercnn train` killed with SIGKILL mid-run, then `--resume`, equals an uninterrupted run.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { generateKey } from "../../src/cipher/index.ts";
import { writeSyntheticStore } from "./synthetic.ts";

const BIN = join(import.meta.dirname, "..", "..", "bin", "ercnn.js");
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ercnn-kill-"));
  const key = await generateKey({ blockSize: 4, seed: "kill" });
  await writeSyntheticStore(join(dir, "train"), { n: 192, classes: 3, size: 16, key });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const args = (out: string) => [
  BIN,
  "train",
  join(dir, "train"),
  "-o",
  out,
  "--backbone",
  "resnet20",
  "--epochs",
  "3",
  "-b",
  "16",
  "--optimizer",
  "adam",
  "--lr",
  "0.002",
  "--val-fraction",
  "0.25",
  "--workers",
  "1",
  "--threads",
  "1",
  "-q",
];
const metrics = (out: string) =>
  readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

function waitFor(cond: () => boolean, child: ChildProcess, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (cond()) return resolve();
      if (child.exitCode !== null) return reject(new Error("train exited before the checkpoint appeared"));
      if (Date.now() - t0 > ms) return reject(new Error("timed out waiting for the first checkpoint"));
      setTimeout(tick, 50);
    };
    tick();
  });
}

test("kill -9 after an epoch, then --resume: same metrics as an uninterrupted run", async () => {
  const a = join(dir, "straight");
  const b = join(dir, "killed");
  const r = spawnSync(process.execPath, args(a), { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);

  const child = spawn(process.execPath, args(b), { stdio: "ignore" });
  await waitFor(() => existsSync(join(b, "metrics.jsonl")), child, 120_000);
  child.kill("SIGKILL");
  await new Promise((res) => child.once("exit", res));
  const before = metrics(b).length;
  assert.ok(before >= 2 && before < 6, `killed mid-run (${before} metric rows)`);

  const again = spawnSync(process.execPath, [...args(b), "--resume"], { encoding: "utf8" });
  assert.equal(again.status, 0, again.stderr);
  const ma = metrics(a);
  const mb = metrics(b);
  assert.equal(mb.length, ma.length);
  ma.forEach((m, i) => {
    assert.equal(mb[i].split, m.split);
    assert.equal(mb[i].acc, m.acc, `row ${i} accuracy`);
    assert.ok(Math.abs(mb[i].loss - m.loss) < 1e-5, `row ${i}: loss ${mb[i].loss} vs ${m.loss}`);
  });
});
