import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  CipherError,
  cipherBackend,
  cropTo,
  decrypt,
  decryptUint8,
  encrypt,
  encryptUint8,
  generateKey,
  type ImageDims,
  keyFromNpy,
  makeKey,
  padToBlockMultiple,
  readNpy,
  setCipherBackend,
  writeNpy,
} from "../../src/cipher/index.ts";
import { chwToHwc, hasNumpy, maxAbsDiff, naturalImage, relErr, runFixture, tempDir, testRng } from "./helpers.ts";

after(() => setCipherBackend("auto"));

describe("hand-worked 2×2-block example", () => {
  // K (rows i, columns j), c_j = Σ_i p_i K[i][j]:
  //   [1 0 0  1]
  //   [0 1 0  0]
  //   [0 0 2  0]
  //   [1 0 0 -1]
  // image (1 channel, 2×4) = [[1 2 5 6], [3 4 7 8]]
  // block 0: p = [1 2 3 4] → c = [1+4, 2, 6, 1−4] = [5 2 6 −3] → [[5 2], [6 −3]]
  // block 1: p = [5 6 7 8] → c = [5+8, 6, 14, 5−8] = [13 6 14 −3] → [[13 6], [14 −3]]
  const K = [1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 2, 0, 1, 0, 0, -1];
  const img = Float32Array.from([1, 2, 5, 6, 3, 4, 7, 8]);
  const want = [5, 2, 13, 6, 6, -3, 14, -3];
  for (const be of ["js", "auto"] as const) {
    it(`encrypts and decrypts exactly (${be})`, async () => {
      setCipherBackend(be);
      const key = await makeKey({ mode: "uniform", blockSize: 2, channels: 1, values: K });
      const dims: ImageDims = { c: 1, h: 2, w: 4, layout: "CHW" };
      const c = encrypt(img, dims, key);
      assert.deepEqual(Array.from(c), want);
      assert.deepEqual(Array.from(decrypt(c, dims, key)), Array.from(img));
      // HWC with one channel is the same memory
      assert.deepEqual(Array.from(encrypt(img, { ...dims, layout: "HWC" }, key)), want);
    });
  }
});

describe("round trips", () => {
  for (const be of ["js", "auto"] as const) {
    for (const mode of ["uniform", "orthogonal"] as const) {
      for (const k of [1, 2, 3, 4, 5, 8]) {
        it(`${mode} k=${k} (${be}): CHW and HWC, batch of 3, rel err < 1e-5`, async () => {
          setCipherBackend(be);
          const key = await generateKey({ mode, blockSize: k, seed: `rt-${k}` });
          const h = k * 4;
          const w = k * 3;
          const n = 3;
          const chw = new Float32Array(n * 3 * h * w);
          for (let b = 0; b < n; b++) chw.set(naturalImage(h, w, 100 + b), b * 3 * h * w);
          const hwc = chwToHwc(chw, n, 3, h, w);
          const cChw = encrypt(chw, { n, c: 3, h, w, layout: "CHW" }, key);
          const cHwc = encrypt(hwc, { n, c: 3, h, w, layout: "HWC" }, key);
          assert.ok(maxAbsDiff(chwToHwc(cChw, n, 3, h, w), cHwc) < 1e-5, "layouts agree");
          if (k > 1) assert.ok(relErr(cChw, chw) > 0.1, "ciphertext differs from plaintext");
          const pChw = decrypt(cChw, { n, c: 3, h, w, layout: "CHW" }, key);
          const pHwc = decrypt(cHwc, { n, c: 3, h, w, layout: "HWC" }, key);
          assert.ok(relErr(pChw, chw) < 1e-5, `CHW rel err ${relErr(pChw, chw)}`);
          assert.ok(relErr(pHwc, hwc) < 1e-5, `HWC rel err ${relErr(pHwc, hwc)}`);
        });
      }
    }
  }

  it("Node runs the wasm SIMD path by default", () => {
    setCipherBackend("auto");
    assert.equal(cipherBackend(), "wasm", "Node 20 has WebAssembly SIMD: the kernel must assemble and load");
    setCipherBackend("js");
    assert.equal(cipherBackend(), "js");
    setCipherBackend("wasm");
    assert.equal(cipherBackend(), "wasm");
    setCipherBackend("auto");
  });

  it("wasm and js backends agree (224×224, k=8)", async () => {
    const key = await generateKey({ blockSize: 8, seed: "agree" });
    const x = naturalImage(224, 224, 5);
    const dims: ImageDims = { c: 3, h: 224, w: 224, layout: "CHW" };
    setCipherBackend("js");
    assert.equal(cipherBackend(), "js");
    const a = encrypt(x, dims, key);
    const aBack = decrypt(a, dims, key);
    setCipherBackend("auto");
    assert.equal(cipherBackend(), "wasm", "the comparison must be wasm against js, not js against itself");
    const b = encrypt(x, dims, key);
    assert.ok(relErr(b, a) < 1e-6);
    assert.ok(relErr(decrypt(b, dims, key), x) < 1e-5);
    assert.ok(relErr(decrypt(b, dims, key), aBack) < 1e-5, "wasm and js decryption agree");
    assert.ok(["wasm", "js"].includes(cipherBackend()));
  });

  it("works in place", async () => {
    const key = await generateKey({ blockSize: 4, seed: "inplace" });
    const x = naturalImage(16, 16, 9);
    const dims: ImageDims = { c: 3, h: 16, w: 16, layout: "HWC" };
    const expect = encrypt(x, dims, key);
    const buf = Float32Array.from(x);
    encrypt(buf, dims, key, buf);
    assert.deepEqual(buf, expect);
    decrypt(buf, dims, key, buf);
    assert.ok(relErr(buf, x) < 1e-5);
  });

  for (const k of [1, 2, 3, 4, 8]) {
    it(`mod256 k=${k}: uint8 round trip is exact, CHW and HWC`, async () => {
      const key = await generateKey({ mode: "mod256", blockSize: k, seed: `m-${k}` });
      const rnd = testRng(k);
      const h = k * 3;
      const w = k * 5;
      const x = Uint8Array.from({ length: 2 * 3 * h * w }, () => Math.floor(rnd() * 256));
      for (const layout of ["CHW", "HWC"] as const) {
        const dims: ImageDims = { n: 2, c: 3, h, w, layout };
        const c = encryptUint8(x, dims, key);
        if (k > 1) assert.notDeepEqual(c, x);
        assert.deepEqual(decryptUint8(c, dims, key), x);
      }
    });
  }

  it("mod256 matches the integer definition on a small example", async () => {
    const key = await makeKey({
      mode: "mod256",
      blockSize: 2,
      channels: 1,
      values: [1, 2, 0, 1, 0, 1, 3, 0, 0, 0, 1, 0, 0, 0, 0, 1],
    });
    const p = Uint8Array.from([200, 100, 50, 25]); // one 2×2 block, row-major [[200,100],[50,25]]
    const c = encryptUint8(p, { c: 1, h: 2, w: 2, layout: "CHW" }, key);
    // c_j = Σ_i p_i K[i][j] mod 256
    const want = [0, 1, 2, 3].map(
      (j) => (p[0] * [1, 2, 0, 1][j] + p[1] * [0, 1, 3, 0][j] + p[2] * [0, 0, 1, 0][j] + p[3] * [0, 0, 0, 1][j]) % 256,
    );
    assert.deepEqual(Array.from(c), want);
  });
});

describe("errors and padding", () => {
  it("H or W not a multiple of k is a clear error", async () => {
    const key = await generateKey({ blockSize: 4, seed: 1 });
    assert.throws(
      () => encrypt(new Float32Array(3 * 30 * 32), { c: 3, h: 30, w: 32, layout: "CHW" }, key),
      (e: Error) => e instanceof CipherError && /30×32 \(H×W\) is not a multiple of the block size 4/.test(e.message),
    );
    assert.throws(
      () => encrypt(new Float32Array(10), { c: 3, h: 4, w: 4, layout: "CHW" }, key),
      /data has 10 elements/,
    );
    assert.throws(
      () => encrypt(new Float32Array(16), { c: 1, h: 4, w: 4, layout: "CHW" }, key),
      /1 channels but the key has 3/,
    );
    assert.throws(() => encrypt(new Float32Array(48), { c: 3, h: 4, w: 4, layout: "NCHW" as never }, key), /layout/);
    assert.throws(
      () => encryptUint8(new Uint8Array(48), { c: 3, h: 4, w: 4, layout: "CHW" }, key),
      /needs a mod256 key/,
    );
    const m = await generateKey({ blockSize: 4, mode: "mod256", seed: 1 });
    assert.throws(() => encrypt(new Float32Array(48), { c: 3, h: 4, w: 4, layout: "CHW" }, m), /encryptUint8/);
  });

  it("padToBlockMultiple / cropTo make any size work", async () => {
    const key = await generateKey({ blockSize: 4, seed: 2 });
    const x = naturalImage(30, 27, 4);
    const dims: ImageDims = { c: 3, h: 30, w: 27, layout: "CHW" };
    for (const mode of ["zero", "edge"] as const) {
      const p = padToBlockMultiple(x, dims, 4, mode);
      assert.equal(p.dims.h, 32);
      assert.equal(p.dims.w, 28);
      const dec = decrypt(encrypt(p.data, p.dims, key), p.dims, key);
      const back = cropTo(dec, p.dims, 30, 27);
      assert.ok(relErr(back.data, x) < 1e-5);
    }
  });
});

describe("study compatibility (numpy)", { skip: !hasNumpy() && "no /usr/bin/python3 with numpy" }, () => {
  it("encrypts exactly like the study's numpy code (HWC, c = p @ K[ch]) with its .npy key", async () => {
    const dir = tempDir();
    runFixture("gen", dir);
    const key = await keyFromNpy(new Uint8Array(readFileSync(join(dir, "key.npy"))), "key.npy");
    const hwc = chwToHwc(naturalImage(32, 32, 77), 1, 3, 32, 32);
    writeFileSync(join(dir, "plain_hwc.npy"), writeNpy({ dtype: "float32", shape: [32, 32, 3], data: hwc }));
    runFixture("study", dir, "4");
    const study = readNpy(new Uint8Array(readFileSync(join(dir, "study_cipher.npy"))));
    assert.deepEqual(study.shape, [32, 32, 3]);
    const ours = encrypt(hwc, { c: 3, h: 32, w: 32, layout: "HWC" }, key);
    assert.ok(maxAbsDiff(ours, study.data as Float32Array) < 1e-5);
    const dec = decrypt(study.data as Float32Array, { c: 3, h: 32, w: 32, layout: "HWC" }, key);
    assert.ok(relErr(dec, hwc) < 1e-5);
  });
});
