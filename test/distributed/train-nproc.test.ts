// `ercnn train --nproc 2` end to end: one metrics file and one checkpoint set, the printed test accuracy equals
// `ercnn evaluate`'s on the checkpoint; another world size on --resume is refused; a rank killed with SIGKILL
// mid-run makes the other exit non-zero naming it, and --resume continues from the last checkpoint.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { generateKey } from "../../src/cipher/index.ts";
import { writeSyntheticStore } from "../train/synthetic.ts";
import { freePort, rankEnv, root, run } from "./helpers.ts";

const BIN = join(root, "bin", "ercnn.js");
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ercnn-ddp-"));
  const key = await generateKey({ blockSize: 4, seed: "ddp" });
  await writeSyntheticStore(join(dir, "train"), { n: 160, classes: 3, size: 16, key });
  await writeSyntheticStore(join(dir, "test"), { n: 45, classes: 3, size: 16, key, seed: 9 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const trainArgs = (out: string, epochs: number, extra: string[] = []) => [
  BIN,
  "train",
  join(dir, "train"),
  "-o",
  out,
  "--test",
  join(dir, "test"),
  "--epochs",
  String(epochs),
  "-b",
  "16",
  "--lr",
  "0.01",
  "--val-fraction",
  "0.2",
  "--workers",
  "1",
  "--threads",
  "1",
  "-q",
  ...extra,
];
const metrics = (out: string) =>
  readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

describe("ercnn train, data-parallel", () => {
  it("--nproc 2: one run directory, test accuracy equal to ercnn evaluate's; another world size refused on resume", async () => {
    const out = join(dir, "run2");
    const r = await run(process.execPath, trainArgs(out, 2, ["--nproc", "2"]), {}, 240_000).done;
    assert.equal(r.code, 0, r.stderr);
    const printed = r.stdout.match(/test accuracy ([\d.]+)%/g) ?? [];
    assert.equal(printed.length, 1, `one rank prints the result:\n${r.stdout}`);
    const rows = metrics(out);
    assert.deepEqual(rows.map((m) => `${m.epoch}:${m.split}`).slice(0, 4), ["1:train", "1:val", "2:train", "2:val"]);
    assert.equal(rows.at(-1).split, "test");
    // every image counted once: the ranks' shares were summed (32 validation images, 45 test images)
    const final = JSON.parse(readFileSync(join(out, "final.json"), "utf8"));
    assert.equal(final.testImages, 45);
    assert.deepEqual(
      readdirSync(out).filter((f) => f.endsWith(".jsonl")),
      ["metrics.jsonl"],
    );
    assert.ok(existsSync(join(out, "best")) && existsSync(join(out, "last")));
    const ev = await run(process.execPath, [BIN, "evaluate", out, join(dir, "test"), "--json", "--threads", "1"], {})
      .done;
    assert.equal(ev.code, 0, ev.stderr);
    const evaluated = JSON.parse(ev.stdout.trim().split("\n").at(-1)!);
    assert.equal(evaluated.accuracy, final.testAcc);
    assert.equal(printed[0], `test accuracy ${(100 * evaluated.accuracy).toFixed(2)}%`);

    const again = await run(process.execPath, [...trainArgs(out, 2), "--resume"], {}, 120_000).done;
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /trained by 2 ranks and is being resumed by 1.*--nproc 2/);
  });

  it("SIGKILL of rank 1 mid-run: rank 0 exits non-zero naming it; --resume continues from the last checkpoint", async () => {
    const out = join(dir, "killed");
    const port = await freePort();
    const env = (rank: number) => ({ ...rankEnv(port, rank, 2) });
    const args = trainArgs(out, 3, ["--dist-timeout", "60"]);
    const ranks = [run(process.execPath, args, env(0), 240_000), run(process.execPath, args, env(1), 240_000)];
    const t0 = Date.now();
    while (!existsSync(join(out, "last", "state.json"))) {
      assert.ok(Date.now() - t0 < 200_000, "no checkpoint appeared");
      assert.equal(ranks[0].child.exitCode, null, "rank 0 ended early");
      await new Promise((r) => setTimeout(r, 50));
    }
    ranks[1].child.kill("SIGKILL");
    const killedAt = Date.now();
    const r0 = await ranks[0].done;
    assert.notEqual(r0.code, 0, r0.stderr);
    assert.match(r0.stderr, /rank 1 stopped/, `exit ${r0.code} signal ${r0.signal}: ${r0.stderr}`);
    assert.ok(Date.now() - killedAt < 70_000);
    const doneEpochs = JSON.parse(readFileSync(join(out, "last", "state.json"), "utf8")).epoch;
    assert.ok(doneEpochs >= 1 && doneEpochs < 3, `stopped after epoch ${doneEpochs}`);

    const resumed = await run(process.execPath, [...trainArgs(out, 3), "--resume", "--nproc", "2"], {}, 240_000).done;
    assert.equal(resumed.code, 0, resumed.stderr);
    const rows = metrics(out).filter((m) => m.split === "train");
    assert.deepEqual(
      rows.map((m) => m.epoch),
      [1, 2, 3],
    );
  });
});
