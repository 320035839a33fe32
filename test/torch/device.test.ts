// Devices: names parsed as PyTorch does, the CUDA error when the linked libtorch has none, module moves that keep
// parameter identity (Variable::set_data), and, where CUDA exists, the GPU path itself (skipped visibly elsewhere).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cudaUnavailableReason, deviceForRank, moduleTo, parseDevice, toDevice } from "../../src/torch/device.ts";
import { cuda, manualSeed, nn, noGrad, randn, tensor } from "../../src/torch/index.ts";
import { native } from "../../src/torch/native.ts";

const hasCuda = cuda.isAvailable();

describe("device names", () => {
  it("cpu is always accepted; malformed names are refused naming the flag", () => {
    assert.equal(parseDevice("cpu"), "cpu");
    assert.equal(parseDevice(" CPU "), "cpu");
    assert.equal(deviceForRank("cpu", 3), "cpu");
    for (const bad of ["gpu", "cuda:", "cuda:-1", "cuda:x", "mps", ""])
      assert.throws(() => parseDevice(bad, "--device"), /--device: '.*' is not a device \(cpu, cuda or cuda:N\)/);
  });

  it("cuda without a CUDA libtorch: a clear error saying how to get one", {
    skip: hasCuda ? "CUDA is available here" : false,
  }, () => {
    assert.match(cudaUnavailableReason()!, /without CUDA/);
    for (const name of ["cuda", "cuda:0", "cuda:1"])
      assert.throws(
        () => parseDevice(name),
        (e: Error) => {
          assert.match(e.message, new RegExp(`^--device ${name}: CUDA is not available`));
          assert.match(e.message, /LIBTORCH=/);
          assert.match(e.message, /--device cpu/);
          return true;
        },
      );
  });
});

describe("moduleTo keeps parameter identity (set_data)", () => {
  it("a parameter's data replaced in place stays the same leaf with requiresGrad, and gradients flow to it", () => {
    manualSeed(1);
    const lin = new nn.Linear(3, 2);
    const w = lin.weight;
    const fresh = tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { dtype: "float32" },
    );
    native.setData(w.native, fresh.native);
    assert.equal(lin.weight, w);
    assert.deepEqual(w.toArray(), [1, 2, 3, 4, 5, 6]);
    assert.ok(w.requiresGrad && w.isLeaf);
    // d/dW of sum(x·Wᵀ + b) is x in every row.
    lin
      .forward(tensor([[1, 0, 1]], { dtype: "float32" }))
      .sum()
      .backward();
    assert.deepEqual(w.grad!.toArray(), [1, 0, 1, 1, 0, 1]);
  });

  it("moduleTo('cpu') on a CPU module is a no-op that keeps values", () => {
    manualSeed(2);
    const m = new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.BatchNorm2d(4));
    const tensors = [...m.parameters(), ...m.buffers()];
    const before = noGrad(() => tensors.map((p) => p.toArray()));
    assert.equal(moduleTo(m, "cpu"), m);
    assert.deepEqual([...m.parameters(), ...m.buffers()], tensors);
    assert.deepEqual(
      noGrad(() => tensors.map((p) => p.toArray())),
      before,
    );
  });
});

describe("CUDA", {
  skip: hasCuda ? false : "no CUDA in the linked libtorch (skipped: this libtorch is CPU-only)",
}, () => {
  it("a module moved to cuda gives the CPU logits; host batches arrive through pinned memory", () => {
    manualSeed(3);
    const m = new nn.Sequential(new nn.Linear(8, 16), new nn.ReLU(), new nn.Linear(16, 4));
    const x = randn([5, 8]);
    const cpu = noGrad(() => m.forward(x).toArray());
    moduleTo(m, "cuda:0");
    for (const p of m.parameters()) assert.equal(p.device, "cuda:0");
    const xg = toDevice(x, "cuda:0");
    assert.equal(xg.device, "cuda:0");
    const gpu = noGrad(() => m.forward(xg).toArray());
    for (const [i, v] of gpu.entries()) assert.ok(Math.abs(v - cpu[i]) < 1e-4);
  });
});

describe("ercnn train --device", () => {
  it("--device cuda on a CPU-only libtorch: exit 1 with the message, nothing written", {
    skip: hasCuda ? "CUDA is available here" : false,
  }, async () => {
    const { spawnSync } = await import("node:child_process");
    const { existsSync, mkdtempSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "ercnn-dev-"));
    try {
      const bin = join(import.meta.dirname, "..", "..", "bin", "ercnn.js");
      const r = spawnSync(
        process.execPath,
        [bin, "train", join(dir, "nostore"), "-o", join(dir, "run"), "--device", "cuda"],
        {
          encoding: "utf8",
        },
      );
      assert.equal(r.status, 1);
      assert.match(r.stderr, /--device cuda: CUDA is not available: .*without CUDA/);
      assert.equal(existsSync(join(dir, "run")), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
