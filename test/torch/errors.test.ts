import assert from "node:assert/strict";
import { test } from "node:test";
import * as torch from "../../src/torch/index.ts";

const { F, nn } = torch;

test("a shape mismatch throws libtorch's message as a JS Error and the process goes on", () => {
  const a = torch.randn([2, 3]);
  const b = torch.randn([4, 5]);
  assert.throws(
    () => a.matmul(b),
    (e: Error) => e instanceof Error && /mat1 and mat2 shapes cannot be multiplied/.test(e.message),
  );
  assert.throws(() => a.add(torch.randn([3, 2])), /size of tensor a \(3\) must match the size of tensor b \(2\)/);
  const conv = new nn.Conv2d(3, 4, 3);
  assert.throws(() => conv.forward(torch.randn([1, 5, 8, 8])), /expected input\[1, 5, 8, 8\] to have 3 channels/);
  // still alive and computing
  assert.equal(a.add(1).sub(a).sum().item(), 6);
});

test("wrong argument types are TypeErrors naming the operator and argument", () => {
  const x = torch.randn([1, 3, 4, 4]);
  assert.throws(
    () => F.conv2d(x, "weight" as unknown as torch.Tensor),
    (e: Error) => e instanceof TypeError && /aten::conv2d argument 'weight': expected a Tensor/.test(e.message),
  );
  assert.throws(() => torch.zeros([2.5]), /expected an integer/);
});

test("a disposed tensor refuses use instead of crashing", () => {
  const t = torch.ones([3]);
  t.dispose();
  assert.equal(t.isDisposed, true);
  assert.throws(() => t.add(1), /Tensor was disposed/);
  assert.throws(() => t.shape, /Tensor was disposed/);
});

test("backward on a tensor without a graph is an Error, not an abort", () => {
  const t = torch.ones([2]);
  assert.throws(() => t.sum().backward(), /does not require grad/);
});

test("strict loadStateDict lists missing, unexpected and mis-shaped keys", () => {
  const m = new nn.Linear(3, 2);
  assert.throws(
    () => m.loadStateDict({ weight: torch.zeros([2, 4]), extra: torch.zeros([1]) }),
    (e: Error) =>
      /missing keys: bias/.test(e.message) &&
      /unexpected keys: extra/.test(e.message) &&
      /weight expects \[2,3\] but got \[2,4\]/.test(e.message),
  );
});
