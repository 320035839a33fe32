import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  blockPermutation,
  type CipherKey,
  decrypt,
  decryptUint8,
  encrypt,
  encryptUint8,
  generateKey,
  inversePermutation,
  KeyError,
  keyFromJson,
  keyToJson,
  keyToNpy,
  setCipherBackend,
} from "../../src/cipher/index.ts";

const FIXTURE = join(import.meta.dirname, "..", "fixtures", "key-before-scramble.json");
/** The fingerprint the fixture had when it was written by the code before block scrambling existed. */
const FIXTURE_FINGERPRINT = "5d3ad0d9daacb572df0096b411289275a30aa14b11590d95c859362eb60833a7";

function pixels(n: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  });
}

/** Hand-written float64 reference: out block j = (in block perm[j]) · K_ch, CHW layout. */
function referenceEncrypt(x: Float32Array, n: number, c: number, h: number, w: number, key: CipherKey): Float64Array {
  const k = key.blockSize;
  const nn = k * k;
  const gw = w / k;
  const perm = key.scramble ? blockPermutation(key.scramble, h / k, gw) : null;
  const out = new Float64Array(x.length);
  for (let img = 0; img < n; img++)
    for (let ch = 0; ch < c; ch++) {
      const plane = (img * c + ch) * h * w;
      for (let j = 0; j < (h / k) * gw; j++) {
        const src = perm ? perm[j] : j;
        const p: number[] = [];
        for (let r = 0; r < k; r++)
          for (let q = 0; q < k; q++) p.push(x[plane + (Math.floor(src / gw) * k + r) * w + (src % gw) * k + q]);
        for (let col = 0; col < nn; col++) {
          let v = 0;
          for (let i = 0; i < nn; i++) v += p[i] * key.values[(ch * nn + i) * nn + col];
          out[plane + (Math.floor(j / gw) * k + Math.floor(col / k)) * w + (j % gw) * k + (col % k)] = v;
        }
      }
    }
  return out;
}

describe("block scrambling", () => {
  it("a key written before scrambling existed loads with the same fingerprint and the same JSON", async () => {
    const text = await readFile(FIXTURE, "utf8");
    const key = await keyFromJson(text, FIXTURE);
    assert.equal(key.fingerprint, FIXTURE_FINGERPRINT);
    assert.equal(key.scramble, undefined);
    assert.equal(keyToJson(key), text);
    // the same seeded key drawn today, without --scramble, is the same key
    const again = await generateKey({ blockSize: 2, channels: 3, seed: "scramble-compat" });
    assert.equal(again.fingerprint, FIXTURE_FINGERPRINT);
  });

  it("a scrambled key has the plain key's matrices, its own fingerprint, and round-trips through JSON", async () => {
    const plain = await generateKey({ blockSize: 2, channels: 3, seed: "scramble-compat" });
    const key = await generateKey({ blockSize: 2, channels: 3, seed: "scramble-compat", scramble: true });
    assert.deepEqual(key.values, plain.values);
    assert.ok(key.scramble);
    assert.match(key.scramble.seed, /^[0-9a-f]{64}$/);
    assert.notEqual(key.fingerprint, plain.fingerprint);
    const back = await keyFromJson(keyToJson(key));
    assert.deepEqual(back.scramble, key.scramble);
    assert.equal(back.fingerprint, key.fingerprint);
    // the fingerprint covers the seed: change one hex digit and the file no longer loads
    const o = JSON.parse(keyToJson(key));
    o.scramble.seed = (o.scramble.seed[0] === "0" ? "1" : "0") + o.scramble.seed.slice(1);
    await assert.rejects(keyFromJson(JSON.stringify(o), "k.json"), /k\.json: fingerprint mismatch/);
    o.scramble.seed = "xyz";
    await assert.rejects(keyFromJson(JSON.stringify(o), "k.json"), /k\.json: scramble\.seed must be 64/);
    assert.throws(
      () => keyToNpy(key),
      (e: Error) => e instanceof KeyError && /scrambling/.test(e.message),
    );
    // unseeded scrambled keys differ
    const a = await generateKey({ blockSize: 2, channels: 1, scramble: true });
    const b = await generateKey({ blockSize: 2, channels: 1, scramble: true });
    assert.notEqual(a.scramble?.seed, b.scramble?.seed);
  });

  it("derives a deterministic permutation per grid, different for different grids and seeds", async () => {
    const key = await generateKey({ blockSize: 4, channels: 1, seed: "perm", scramble: true });
    const other = await generateKey({ blockSize: 4, channels: 1, seed: "perm2", scramble: true });
    assert.ok(key.scramble && other.scramble);
    const p = blockPermutation(key.scramble, 8, 8);
    assert.deepEqual(
      [...p].sort((x, y) => x - y),
      Array.from({ length: 64 }, (_, i) => i),
    );
    assert.deepEqual(blockPermutation({ ...key.scramble }, 8, 8), p);
    const fixed = p.filter((v, i) => v === i).length;
    assert.ok(fixed < 8, `${fixed} fixed points of 64`);
    assert.notDeepEqual(blockPermutation(other.scramble, 8, 8), p);
    assert.equal(blockPermutation(key.scramble, 4, 16).length, 64);
    assert.notDeepEqual(blockPermutation(key.scramble, 4, 16), p);
    const inv = inversePermutation(p);
    for (let j = 0; j < 64; j++) assert.equal(inv[p[j]], j);
  });

  for (const backend of ["wasm", "js"] as const) {
    it(`encrypt = permute then Hill, against a float64 reference, and decrypt undoes it (${backend})`, async () => {
      setCipherBackend(backend);
      try {
        const key = await generateKey({ blockSize: 4, channels: 3, seed: "ref", scramble: true });
        const [n, c, h, w] = [2, 3, 8, 12];
        const x = pixels(n * c * h * w);
        const y = encrypt(x, { n, c, h, w, layout: "CHW" }, key);
        const ref = referenceEncrypt(x, n, c, h, w, key);
        let worst = 0;
        for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i] - ref[i]));
        assert.ok(worst < 1e-5, `max |encrypt − reference| = ${worst}`);
        // it is not the plain Hill cipher: the blocks moved
        const plainKey = { ...key, scramble: undefined, fingerprint: `${key.fingerprint}-plain` };
        const z = encrypt(x, { n, c, h, w, layout: "CHW" }, plainKey);
        assert.ok(z.some((v, i) => Math.abs(v - y[i]) > 1e-3));
        const back = decrypt(y, { n, c, h, w, layout: "CHW" }, key);
        let err = 0;
        for (let i = 0; i < x.length; i++) err = Math.max(err, Math.abs(back[i] - x[i]));
        assert.ok(err < 1e-4, `round trip error ${err}`);
        // interleaved layout gives the same ciphertext, transposed
        const hwc = new Float32Array(x.length);
        for (let i = 0; i < n; i++)
          for (let ch = 0; ch < c; ch++)
            for (let p = 0; p < h * w; p++) hwc[(i * h * w + p) * c + ch] = x[(i * c + ch) * h * w + p];
        const yh = encrypt(hwc, { n, c, h, w, layout: "HWC" }, key);
        for (let i = 0; i < n; i++)
          for (let ch = 0; ch < c; ch++)
            for (let p = 0; p < h * w; p++)
              assert.ok(Math.abs(yh[(i * h * w + p) * c + ch] - y[(i * c + ch) * h * w + p]) < 1e-5);
        const bh = decrypt(yh, { n, c, h, w, layout: "HWC" }, key);
        for (let i = 0; i < x.length; i++) assert.ok(Math.abs(bh[i] - hwc[i]) < 1e-4);
      } finally {
        setCipherBackend("auto");
      }
    });
  }

  it("mod256 keys scramble too, exactly", async () => {
    const key = await generateKey({ mode: "mod256", blockSize: 2, channels: 3, seed: "m", scramble: true });
    const [n, c, h, w] = [1, 3, 6, 4];
    const x = Uint8Array.from(pixels(n * c * h * w, 3), (v) => Math.floor(v * 256));
    const y = encryptUint8(x, { n, c, h, w, layout: "CHW" }, key);
    assert.deepEqual(decryptUint8(y, { n, c, h, w, layout: "CHW" }, key), x);
    const plainKey = { ...key, scramble: undefined, fingerprint: `${key.fingerprint}-plain` };
    assert.notDeepEqual(encryptUint8(x, { n, c, h, w, layout: "CHW" }, plainKey), y);
  });

  it("a grid that is not whole blocks gets the usual clear error", async () => {
    const key = await generateKey({ blockSize: 4, channels: 3, seed: "g", scramble: true });
    assert.throws(
      () => encrypt(new Float32Array(3 * 10 * 8), { c: 3, h: 10, w: 8, layout: "CHW" }, key),
      /not a multiple of the block size 4/,
    );
  });
});
