// Regression: a single-process `ercnn train` that fails mid-epoch printed nothing and exited with code 13 (an
// unsettled top-level await): closing the loader's worker pool unref'd the busy workers as their in-flight batches
// drained, so the event loop emptied before terminate() settled. The error must be printed and the exit code be 1.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { writeSyntheticStore } from "./synthetic.ts";

const here = dirname(fileURLToPath(import.meta.url));
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ercnn-fail-"));
  await writeSyntheticStore(join(dir, "train"), { n: 96, classes: 3, size: 16, key: null });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("ercnn train: an error mid-epoch is printed and exits with code 1 (not 13, silently)", () => {
  const args = ["train", join(dir, "train"), "-o", join(dir, "run"), "--epochs", "2", "-b", "8", "--workers", "1"];
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", join(here, "fail-mid-epoch-main.ts"), "3", ...args, "--threads", "1", "--val-fraction", "0.2"],
    { encoding: "utf8", timeout: 120_000, cwd: join(here, "..", "..") },
  );
  assert.match(r.stderr, /ercnn: injected failure in backward call 3/, `stderr:\n${r.stderr}`);
  assert.equal(r.status, 1, `exit code ${r.status}, stderr:\n${r.stderr}`);
});
