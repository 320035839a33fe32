// Issue 15 item 0: the loader's host batches reach a CUDA device through pinned memory with non-blocking copies
// (torch/device.ts's toDevice, called by train/epoch.ts for every batch), and the CPU path makes no such copy.
// The CUDA half runs where the linked libtorch has CUDA and is skipped visibly elsewhere.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Loader } from "../../src/data/index.ts";
import { buildModel } from "../../src/models/index.ts";
import { hostCopies, isPinned, moduleTo, pinMemory } from "../../src/torch/device.ts";
import { cuda, manualSeed, randn } from "../../src/torch/index.ts";
import { evaluate } from "../../src/train/index.ts";
import { writeSyntheticStore } from "./synthetic.ts";

const hasCuda = cuda.isAvailable();
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ercnn-copies-"));
  await writeSyntheticStore(join(dir, "s"), { n: 20, classes: 3, size: 16, key: null });
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function pass(device: "cpu" | "cuda:0") {
  manualSeed(2);
  const model = buildModel({ backbone: "resnet20", adapt: "none", blockSize: 4, classes: 3, channels: 3 });
  moduleTo(model, device);
  const loader = await Loader.fromStore(join(dir, "s"), {
    batchSize: 8,
    shuffle: false,
    workers: 1,
    normalize: "store",
  });
  const before = hostCopies.pinnedNonBlocking;
  try {
    const r = await evaluate(model, loader, 0, device);
    return { r, copies: hostCopies.pinnedNonBlocking - before };
  } finally {
    await loader.close();
    model.dispose();
  }
}

describe("host batches to the device", () => {
  it("cpu: batches are used where they are (no pinned copies)", async () => {
    const { r, copies } = await pass("cpu");
    assert.equal(r.images, 20);
    assert.equal(copies, 0);
  });

  it("cuda: every batch (images and labels) goes through pinned memory, non-blocking; results equal the CPU pass", {
    skip: hasCuda ? false : "no CUDA in the linked libtorch (skipped: this libtorch is CPU-only)",
  }, async () => {
    const x = randn([4, 3]);
    assert.equal(isPinned(x), false);
    assert.equal(isPinned(pinMemory(x)), true);
    const cpu = await pass("cpu");
    const gpu = await pass("cuda:0");
    assert.equal(gpu.copies, 2 * 3, "3 batches × (x, y)");
    assert.equal(gpu.r.images, 20);
    assert.equal(gpu.r.acc, cpu.r.acc);
    assert.ok(Math.abs(gpu.r.loss - cpu.r.loss) < 1e-4 * Math.max(1, cpu.r.loss));
  });
});
