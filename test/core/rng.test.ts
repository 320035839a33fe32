import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { generateKey } from "../../src/cipher/key.ts";
import { blockPermutation } from "../../src/cipher/scramble.ts";
import { ChaCha20Random, randomSource } from "../../src/core/rng.ts";

const FIXTURE = join(import.meta.dirname, "..", "fixtures", "chacha20-legacy-stream.json");
const fromHex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (b) => Number.parseInt(b, 16));
const hexWords = (w: Uint32Array) => Array.from(w, (x) => x.toString(16).padStart(8, "0")).join(" ");
const keystream = (r: ChaCha20Random, n: number) => {
  const out = new Uint8Array(n);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i += 4) dv.setUint32(i, r.nextUint32(), true);
  return out;
};
const take = (r: { nextUint32(): number }, n: number) => Array.from({ length: n }, () => r.nextUint32());
const digest = (w: number[]) => createHash("sha256").update(Uint32Array.from(w)).digest("hex");

describe("ChaCha20 (RFC 8439 test vectors)", () => {
  it("§2.3.2: the block function at counter 1", () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const r = new ChaCha20Random(key, fromHex("000000090000004a00000000"));
    r.nextBlock(); // counter 0
    assert.equal(
      hexWords(r.nextBlock()),
      "e4e7f110 15593bd1 1fdd0f50 c47120a3 c7f4d1c7 0368c033 9aaa2204 4e6cd4c3 " +
        "466482d2 09aa9f07 05d7c214 a2028bd9 d19c12b5 b94e16de e883d0cb 4e3c50a2",
    );
  });

  it("§2.4.2: the keystream that encrypts the sunscreen plaintext (counter 1, 114 bytes)", () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const r = new ChaCha20Random(key, fromHex("000000000000004a00000000"));
    r.nextBlock(); // the RFC starts this example at counter 1
    const plaintext = new TextEncoder().encode(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    const ks = keystream(r, 116).subarray(0, plaintext.length);
    const ciphertext = plaintext.map((p, i) => p ^ ks[i]);
    const expected = fromHex(`
      6e 2e 35 9a 25 68 f9 80 41 ba 07 28 dd 0d 69 81 e9 7e 7a ec 1d 43 60 c2 0a 27 af cc fd 9f ae 0b
      f9 1b 65 c5 52 47 33 ab 8f 59 3d ab cd 62 b3 57 16 39 d6 24 e6 51 52 ab 8f 53 0c 35 9f 08 61 d8
      07 ca 0d bf 50 0d 6a 61 56 a3 8e 08 8a 22 b6 5e 52 bc 51 4d 16 cc f8 06 81 8c e9 1a b7 79 37 36
      5a f9 0b bf 74 a3 5b e6 b4 0b 8e ed f2 78 5e 42 87 4d`);
    assert.deepEqual(Array.from(ciphertext), Array.from(expected));
  });

  it("§A.1 vector 1 (zero key and nonce, counter 0) and vector 2 (counter 1) from one stream", () => {
    const r = new ChaCha20Random(new Uint8Array(32));
    const ks = keystream(r, 128);
    assert.equal(
      Buffer.from(ks.subarray(0, 64)).toString("hex"),
      "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7" +
        "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586",
    );
    assert.equal(
      Buffer.from(ks.subarray(64, 128)).toString("hex"),
      "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed" +
        "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f",
    );
  });
});

describe("seeded streams, keys and permutations are unchanged from the hand-written ChaCha20", async () => {
  const legacy = JSON.parse(await readFile(FIXTURE, "utf8"));

  it("seeded streams (several seeds, 300 blocks each, across buffer refills)", async () => {
    for (const s of legacy.streams) {
      const w = take(await randomSource(s.seed), s.words);
      assert.deepEqual(w.slice(0, 8), s.first8, `seed ${JSON.stringify(s.seed)}`);
      assert.equal(digest(w), s.sha256, `seed ${JSON.stringify(s.seed)}`);
    }
  });

  it("keyed streams with the scrambler's nonces (tag and grid in the nonce)", () => {
    for (const s of legacy.nonces) {
      const w = take(new ChaCha20Random(fromHex(s.key), fromHex(s.nonce)), s.words);
      assert.deepEqual(w.slice(0, 8), s.first8, `nonce ${s.nonce}`);
      assert.equal(digest(w), s.sha256, `nonce ${s.nonce}`);
    }
  });

  it("seeded keys keep their fingerprints and block permutations", async () => {
    for (const k of legacy.keys) {
      const key = await generateKey({ seed: k.seed, mode: k.mode, blockSize: k.blockSize, scramble: k.scramble });
      assert.equal(key.fingerprint, k.fingerprint, `seed ${JSON.stringify(k.seed)} ${k.mode} k=${k.blockSize}`);
      for (const [grid, perm] of Object.entries(k.permutations ?? {})) {
        const [gh, gw] = grid.split("x").map(Number);
        assert.ok(key.scramble);
        assert.deepEqual(Array.from(blockPermutation(key.scramble, gh, gw)), perm, `seed ${k.seed} grid ${grid}`);
      }
    }
  });
});
