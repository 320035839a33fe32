import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyLe, leParams } from "../../../src/cipher/schemes/le.ts";
import { generateSchemeKey } from "../../../src/cipher/schemes/registry.ts";

describe("le (Tanaka's learnable image encryption)", () => {
  it("one pixel: the two nibbles swap (ord = [1, 0], no reversal)", () => {
    const p = { blockSize: 1, channels: 1, ord: Int32Array.from([1, 0]) };
    const dims = { c: 1, h: 1, w: 1, layout: "CHW" as const };
    assert.deepEqual([...applyLe(p, Uint8Array.from([0x3a]), dims, "encrypt")], [0xa3]);
    assert.deepEqual([...applyLe(p, Uint8Array.from([0xa3]), dims, "decrypt")], [0x3a]);
  });

  it("two values, hand-worked: reversal before and after the nibble shuffle", () => {
    // v = [0x12, 0x34] → u = [2, 4, 1, 3]; ord = [3, 0, 2, 1] → rev = [1, 0, 0, 0] (ord > d = 2)
    // reverse: [13, 4, 1, 3]; gather: [3, 13, 1, 4]; reverse: [12, 13, 1, 4] → c = [0x1c, 0x4d]
    const p = { blockSize: 1, channels: 2, ord: Int32Array.from([3, 0, 2, 1]) };
    const dims = { c: 2, h: 1, w: 1, layout: "HWC" as const };
    const c = applyLe(p, Uint8Array.from([0x12, 0x34]), dims, "encrypt");
    assert.deepEqual([...c], [0x1c, 0x4d]);
    assert.deepEqual([...applyLe(p, c, dims, "decrypt")], [0x12, 0x34]);
    // float32 on the 1/255 grid: the same bytes
    const f = applyLe(p, Float32Array.from([0x12 / 255, 0x34 / 255]), dims, "encrypt");
    assert.deepEqual(
      [...f].map((v) => Math.round(v * 255)),
      [0x1c, 0x4d],
    );
  });

  it("is not affine in the pixel values: E(a) + E(b) − E(0) ≠ E(a + b) for some pixels", async () => {
    const key = await generateSchemeKey({ scheme: "le", blockSize: 2, channels: 1, seed: "le-nonlinear" });
    const p = leParams(key);
    const dims = { c: 1, h: 2, w: 2, layout: "CHW" as const };
    const e = (v: number) => [...applyLe(p, new Uint8Array(4).fill(v), dims, "encrypt")];
    const [z, a, b, ab] = [e(0), e(0x0f), e(0x01), e(0x10)]; // a carry from the lower to the upper nibble
    assert.ok(ab.some((v, i) => v !== a[i] + b[i] - z[i]));
  });
});
