// Errors and labels that tell the truth: each names the path or flag it is about (issue: "errors without a path or
// flag"), and an accuracy is called what it is.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readCheckpointMeta } from "../../src/models/index.ts";
import { train, writingTo } from "../../src/train/index.ts";
import { writeSyntheticStore } from "./synthetic.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const quiet = { quiet: true, log: () => {} };
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ercnn-messages-"));
  await writeSyntheticStore(join(dir, "train"), { n: 48, classes: 3, size: 16, key: null });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const base = (out: string) => ({
  train: join(dir, "train"),
  out,
  backbone: "resnet20",
  batchSize: 16,
  epochs: 1,
  workers: 1,
  threads: 1,
  decryptSamples: 2,
});

test("a write that fails without a path (ENOSPC from /dev/full) is reported naming the file", async () => {
  const target = join(dir, "run", "metrics.jsonl");
  await assert.rejects(
    writingTo(target, "the metrics", () => writeFile("/dev/full", "x".repeat(1 << 16))),
    (e: Error) => e.message.startsWith(`${target}: cannot write the metrics (the disk is full): ENOSPC`),
  );
  // an error that already names its path is passed on unchanged
  const named = Object.assign(new Error(`EACCES: permission denied, open '${target}'`), { code: "EACCES" });
  await assert.rejects(
    writingTo(target, "x", () => Promise.reject(named)),
    (e) => e === named,
  );
});

test("a damaged checkpoint.json is named, not a bare JSON error", async () => {
  const ck = join(dir, "broken-checkpoint");
  mkdirSync(ck, { recursive: true });
  writeFileSync(join(ck, "checkpoint.json"), '{"format": "ercnn-checkpoint", "vers');
  await assert.rejects(
    readCheckpointMeta(ck),
    new RegExp(`^Error: ${join(ck, "checkpoint.json")}: unreadable checkpoint description: .*JSON`),
  );
});

test("--freeze of every part is refused naming the flag, not 'SGD: got an empty parameter list'", async () => {
  const out = join(dir, "frozen");
  await assert.rejects(
    train({ ...base(out), freeze: ["adapt", "backbone", "head"] }, quiet),
    /nothing left to train: --freeze adapt,backbone,head froze every parameter of the model/,
  );
});

test("--val-fraction 0: the best accuracy is called the training accuracy it is", async () => {
  const out = join(dir, "no-val");
  const lines: string[] = [];
  const r = await train({ ...base(out), valFraction: 0 }, { quiet: true, log: (l) => lines.push(l) });
  assert.equal(r.bestOn, "train");
  assert.equal(r.valImages, 0);
  assert.match(lines.join("\n"), /best training acc \(no validation split\) \d/);
  assert.doesNotMatch(lines.join("\n"), /best val acc/);
});

test("ercnn report on a missing or non-run directory exits 1 naming it and writes no page", () => {
  const page = join(dir, "r.html");
  for (const [runDir, re] of [
    [join(dir, "MISSING"), /MISSING: no such run directory/],
    [join(dir, "train"), /train: not a run directory/],
  ] as const) {
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "report", runDir, "-o", page], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, re);
    assert.ok(!existsSync(page));
  }
});
