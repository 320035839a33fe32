// `ercnn train --sync-bn`: with --nproc 2 the ranks train with SyncBatchNorm (recorded in config.json, one run
// directory, a test accuracy printed once); in a single process the flag is ignored with a note.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { train } from "../../src/train/index.ts";
import { writeSyntheticStore } from "../train/synthetic.ts";
import { root, run } from "./helpers.ts";

let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ercnn-syncbn-"));
  await writeSyntheticStore(join(dir, "train"), { n: 64, classes: 3, size: 16, key: null });
  await writeSyntheticStore(join(dir, "test"), { n: 18, classes: 3, size: 16, key: null, seed: 9 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const common = ["--epochs", "1", "-b", "8", "--val-fraction", "0.25", "--workers", "1", "--threads", "1", "--sync-bn"];

describe("ercnn train --sync-bn", () => {
  it("--nproc 2: trains with synchronised BatchNorm and finishes with one result", async () => {
    const out = join(dir, "ddp");
    const args = [join(root, "bin/ercnn.js"), "train", join(dir, "train"), "-o", out, "--test", join(dir, "test")];
    const r = await run(process.execPath, [...args, ...common, "--nproc", "2", "-q"], {}, 240_000).done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal((r.stdout.match(/test accuracy ([\d.]+)%/g) ?? []).length, 1, r.stdout);
    assert.equal(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).syncBn, true);
  });

  it("one process: ignored, with a note", async () => {
    const lines: string[] = [];
    const out = join(dir, "single");
    await train(
      { train: join(dir, "train"), out, epochs: 1, batchSize: 8, valFraction: 0.25, workers: 1, syncBn: true },
      { quiet: true, log: (l) => lines.push(l) },
    );
    assert.ok(
      lines.some((l) => /^--sync-bn: one process.*ignored$/.test(l)),
      `no note in:\n${lines.join("\n")}`,
    );
  });
});
