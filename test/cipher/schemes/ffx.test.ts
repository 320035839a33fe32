import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  applyFfx,
  FFX_ROUNDS,
  feistelByte,
  feistelByteInverse,
  ffxParams,
  ffxTables,
} from "../../../src/cipher/schemes/ffx.ts";
import { generateSchemeKey } from "../../../src/cipher/schemes/registry.ts";

describe("ffx (block-wise format-preserving Feistel)", () => {
  it("hand-worked: round functions ≡ 1 make 10 rounds the map b ↦ b ⊕ 0x11", () => {
    // (L, R) → (R, L⊕1) → (L⊕1, R⊕1) → … period 4, so 10 rounds = 2 rounds
    const rounds = new Uint8Array(FFX_ROUNDS * 16).fill(1);
    assert.equal(feistelByte(rounds, 0, 0x00), 0x11);
    assert.equal(feistelByte(rounds, 0, 0x35), 0x24);
    const p = { blockSize: 1, channels: 1, rounds };
    const c = applyFfx(p, Uint8Array.from([0x00, 0x35, 0xff]), { c: 1, h: 1, w: 3, layout: "CHW" }, "encrypt");
    assert.deepEqual([...c], [0x11, 0x24, 0xee]);
    // round functions ≡ 0: ten swaps, the identity
    assert.equal(feistelByte(new Uint8Array(FFX_ROUNDS * 16), 0, 0x35), 0x35);
  });

  it("a seeded key gives a bijection of 0…255 at every position, different between positions, inverted exactly", async () => {
    const key = await generateSchemeKey({ scheme: "ffx", blockSize: 2, channels: 3, seed: "ffx" });
    const p = ffxParams(key);
    const enc = ffxTables(p, "encrypt");
    const dec = ffxTables(p, "decrypt");
    for (let i = 0; i < 12; i++) {
      const row = enc.subarray(i * 256, (i + 1) * 256);
      assert.equal(new Set(row).size, 256, `position ${i} is a bijection`);
      for (let b = 0; b < 256; b++) assert.equal(dec[i * 256 + row[b]], b);
      assert.equal(feistelByteInverse(p.rounds, i, feistelByte(p.rounds, i, 77)), 77);
    }
    assert.notDeepEqual([...enc.subarray(0, 256)], [...enc.subarray(256, 512)]);
    // nonlinear: not x ↦ a·x + b (mod 256) at position 0
    const t = enc.subarray(0, 256);
    const a = (t[1] - t[0] + 256) % 256;
    assert.ok([...t].some((v, x) => v !== (t[0] + a * x) % 256));
  });
});
