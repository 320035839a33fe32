// 1,000 training steps must not leak: native memory is freed deterministically by tidy().
import assert from "node:assert/strict";
import { test } from "node:test";
import * as torch from "../../src/torch/index.ts";

const { F, nn, tidy } = torch;

class Net extends nn.Module {
  body = this.registerModule(
    "body",
    new nn.Sequential(
      new nn.Conv2d(3, 16, 3, { padding: 1, bias: false }),
      new nn.BatchNorm2d(16),
      new nn.ReLU(),
      new nn.Conv2d(16, 16, 3, { padding: 1, stride: 2 }),
      new nn.ReLU(),
      new nn.AdaptiveAvgPool2d(1),
      new nn.Flatten(),
      new nn.Linear(16, 10),
    ),
  );
  forward(x: torch.Tensor): torch.Tensor {
    return this.body.forward(x);
  }
}

// Bound: after a 200-step warm-up (allocator and V8 settle), RSS may grow by at most 16 MiB over
// the next 800 steps. One leaked batch of activations here is ~100 KiB, so a per-step leak of any
// intermediate (≥ 8 KiB) would exceed the bound well before 800 steps.
const BOUND = 16 * 1024 * 1024;

/** One step inside its own tidy(); `leak` lets the logits escape with the result (the fault the count must catch). */
function step(net: Net, params: torch.Tensor[], x: torch.Tensor, y: torch.Tensor, leak = false): number {
  const r = tidy(() => {
    const logits = net.forward(x);
    const l = F.crossEntropy(logits, y, { labelSmoothing: 0.1 });
    l.backward();
    torch.noGrad(() => {
      for (const p of params) {
        const g = p.grad!;
        p.add_(g, -0.05);
        g.dispose();
      }
    });
    net.zeroGrad();
    return leak ? { loss: l.item(), logits } : { loss: l.item() };
  });
  return r.loss;
}

test("a step's tensors all die with its tidy() scope: none escapes into the enclosing scope", () => {
  torch.manualSeed(0);
  const net = new Net();
  const params = net.parameters();
  tidy(() => {
    // inside an enclosing scope, trackedCount() sees anything a step lets escape (outside every scope it is 0)
    const x = torch.randn([8, 3, 16, 16]);
    const y = torch.randint(0, 10, [8]);
    const before = torch.trackedCount();
    assert.ok(before >= 2, "the enclosing scope tracks x and y");
    for (let i = 0; i < 20; i++) step(net, params, x, y);
    assert.equal(torch.trackedCount(), before, "20 steps left nothing behind in the enclosing scope");
    step(net, params, x, y, true);
    assert.equal(torch.trackedCount(), before + 1, "the check sees one escaped tensor (it can fail)");
  });
});

test("1,000 training steps keep RSS flat and leave no tracked tensors", () => {
  torch.manualSeed(0);
  const net = new Net();
  const params = net.parameters();
  const x = torch.randn([8, 3, 16, 16]);
  const y = torch.randint(0, 10, [8]);
  let base = 0;
  let first = 0;
  let last = 0;
  for (let i = 0; i < 1000; i++) {
    const loss = step(net, params, x, y);
    if (i === 0) first = loss;
    last = loss;
    if (i === 199) {
      global.gc?.();
      base = process.memoryUsage().rss;
    }
  }
  global.gc?.();
  const growth = process.memoryUsage().rss - base;
  assert.equal(torch.trackedCount(), 0);
  assert.ok(growth < BOUND, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB over 800 steps (bound 16 MiB)`);
  assert.ok(last < first, `the net should learn the fixed batch (loss ${first} -> ${last})`);
});
