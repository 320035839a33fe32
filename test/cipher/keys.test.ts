import assert from "node:assert/strict";
import { lstat, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  ChaCha20Random,
  conditionNumber,
  generateKey,
  inverseKey,
  KeyError,
  keyFromJson,
  keyFromNpy,
  keyToJson,
  keyToNpy,
  makeKey,
  shortFingerprint,
  singularValues,
  writeNpy,
} from "../../src/cipher/index.ts";
import { loadKey, saveKey } from "../../src/data/keyfile.ts";
import { tempDir } from "./helpers.ts";

const hex = (u: Uint32Array) => Array.from(u, (w) => w.toString(16).padStart(8, "0")).join(" ");

describe("rng", () => {
  it("ChaCha20 block function matches RFC 8439 §2.3.2", () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const nonce = Uint8Array.from([0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0]);
    const r = new ChaCha20Random(key, nonce);
    r.nextBlock(); // counter 0
    const b = r.nextBlock(); // counter 1, the RFC's test vector
    assert.equal(
      hex(b),
      "e4e7f110 15593bd1 1fdd0f50 c47120a3 c7f4d1c7 0368c033 9aaa2204 4e6cd4c3 466482d2 09aa9f07 05d7c214 a2028bd9 d19c12b5 b94e16de e883d0cb 4e3c50a2",
    );
  });

  it("seeded keys are reproducible; unseeded ones differ", async () => {
    const a = await generateKey({ blockSize: 4, seed: "exp-1" });
    const b = await generateKey({ blockSize: 4, seed: "exp-1" });
    const c = await generateKey({ blockSize: 4, seed: "exp-2" });
    assert.deepEqual(a.values, b.values);
    assert.equal(a.fingerprint, b.fingerprint);
    assert.notDeepEqual(a.values, c.values);
    const n1 = await generateKey({ blockSize: 2 });
    const n2 = await generateKey({ blockSize: 2 });
    assert.notDeepEqual(n1.values, n2.values);
    assert.deepEqual(
      (await generateKey({ blockSize: 2, seed: 7 })).values,
      (await generateKey({ blockSize: 2, seed: "7" })).values,
    );
  });
});

describe("linalg", () => {
  it("singular values and condition number match known values", () => {
    const sv = singularValues(Float64Array.from([1, 2, 3, 4]), 2, 2);
    assert.ok(Math.abs(sv[0] - 5.464985704219043) < 1e-12);
    assert.ok(Math.abs(sv[1] - 0.365966190626258) < 1e-12);
    const d = new Float64Array(9);
    d[0] = 3;
    d[4] = 1e-4;
    d[8] = -2;
    assert.ok(Math.abs(conditionNumber(d, 3) - 3e4) < 1e-6);
    assert.equal(conditionNumber(Float64Array.from([1, 2, 2, 4]), 2), Number.POSITIVE_INFINITY);
  });
});

describe("generateKey", () => {
  for (const mode of ["uniform", "orthogonal", "mod256"] as const) {
    for (const k of [1, 2, 3, 4, 8]) {
      it(`${mode} k=${k}: shape, range, invertibility`, async () => {
        const key = await generateKey({ mode, blockSize: k, seed: `t-${mode}-${k}` });
        const n = k * k;
        assert.equal(key.values.length, 3 * n * n);
        assert.equal(key.channels, 3);
        assert.equal(key.version, 1);
        assert.match(key.fingerprint, /^[0-9a-f]{64}$/);
        assert.equal(shortFingerprint(key), key.fingerprint.slice(0, 16));
        const inv = inverseKey(key);
        for (let c = 0; c < 3; c++) {
          const m = key.values.subarray(c * n * n, (c + 1) * n * n);
          const mi = inv.subarray(c * n * n, (c + 1) * n * n);
          if (mode === "uniform") {
            for (const v of m) assert.ok(v >= -1 && v < 1);
            assert.ok(conditionNumber(Float64Array.from(m), n) <= 1e6);
          }
          for (let i = 0; i < n; i++) {
            for (let j = 0; j < n; j++) {
              let s = 0;
              for (let r = 0; r < n; r++) s += m[i * n + r] * mi[r * n + j];
              if (mode === "mod256") {
                assert.ok(Number.isInteger(m[i * n + j]) && m[i * n + j] >= 0 && m[i * n + j] <= 255);
                assert.equal(((s % 256) + 256) % 256, i === j ? 1 : 0);
              } else {
                assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-9, `K·K⁻¹ ≠ I at ${i},${j}`);
              }
              if (mode === "orthogonal") assert.ok(Math.abs(mi[i * n + j] - m[j * n + i]) < 1e-12);
            }
          }
        }
      });
    }
  }

  it("rejects bad options", async () => {
    await assert.rejects(generateKey({ blockSize: 0 }), KeyError);
    await assert.rejects(generateKey({ blockSize: 2.5 }), KeyError);
    await assert.rejects(generateKey({ blockSize: 2, channels: 0 }), KeyError);
    await assert.rejects(generateKey({ blockSize: 2, mode: "rot13" as never }), KeyError);
  });

  it("supports 1-channel keys and k=16", async () => {
    const key = await generateKey({ blockSize: 16, channels: 1, seed: 3, mode: "orthogonal" });
    assert.equal(key.values.length, 256 * 256);
  });
});

describe("key JSON", () => {
  it("round-trips exactly, and numpy-friendly nested values", async () => {
    for (const mode of ["uniform", "orthogonal", "mod256"] as const) {
      const key = await generateKey({ mode, blockSize: 3, seed: mode });
      const text = keyToJson(key);
      const back = await keyFromJson(text, "k.json");
      assert.deepEqual(back.values, key.values);
      assert.equal(back.fingerprint, key.fingerprint);
      assert.equal(back.createdAt, key.createdAt);
      assert.equal(back.mode, mode);
      const obj = JSON.parse(text);
      assert.equal(obj.values.length, 3);
      assert.equal(obj.values[0].length, 9);
      assert.equal(obj.values[0][0].length, 9);
    }
  });

  it("refuses tampering, wrong shapes, NaN, singular keys; errors name the source", async () => {
    const key = await generateKey({ blockSize: 2, seed: 11 });
    const obj = JSON.parse(keyToJson(key));
    const bad = async (mutate: (o: any) => void, re: RegExp) => {
      const o = structuredClone(obj);
      mutate(o);
      await assert.rejects(keyFromJson(JSON.stringify(o), "my.key"), (e: Error) => {
        assert.ok(e instanceof KeyError, String(e));
        assert.match(e.message, /^my\.key: /);
        assert.match(e.message, re);
        return true;
      });
    };
    await bad((o) => {
      o.values[1][2][3] += 1e-9;
    }, /fingerprint mismatch/);
    await bad((o) => {
      o.mode = "orthogonal";
    }, /not orthogonal/);
    await bad((o) => {
      o.blockSize = 3;
    }, /values\[0\] must have 9 rows/);
    await bad((o) => {
      o.values[0].pop();
    }, /must have 4 rows/);
    await bad((o) => {
      o.values[2][0].push(0);
    }, /must have 4 entries/);
    await bad((o) => {
      o.values[0][0][0] = "NaN";
    }, /not a finite number/);
    await bad((o) => {
      o.values[0][0][0] = null;
    }, /not a finite number/);
    await bad((o) => {
      o.version = 2;
    }, /unsupported key file version 2/);
    await bad((o) => {
      o.format = "other";
    }, /format/);
    await bad((o) => {
      o.fingerprint = "abc";
    }, /fingerprint must be 64/);
    await bad((o) => {
      o.values[0] = [
        [1, 2, 3, 4],
        [2, 4, 6, 8],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
      ];
    }, /channel 0 is not invertible/);
    await assert.rejects(keyFromJson("{nope", "x.json"), /x\.json: not valid JSON/);
  });

  it("mod256 keys must be odd-determinant integers", async () => {
    const vals = [2, 0, 0, 1]; // det 2: invertible over R, not mod 256
    await assert.rejects(makeKey({ mode: "mod256", blockSize: 1, channels: 4, values: vals }), /even determinant/);
    await assert.rejects(makeKey({ mode: "mod256", blockSize: 1, channels: 1, values: [3.5] }), /not an integer/);
    const ok = await makeKey({ mode: "mod256", blockSize: 1, channels: 1, values: [3] });
    assert.deepEqual(Array.from(inverseKey(ok)), [171]); // 3·171 = 513 ≡ 1 (mod 256)
  });
});

describe("key files", () => {
  it("saveKey writes 0600 atomically, refuses to overwrite, loadKey validates", async () => {
    const dir = tempDir();
    const p = join(dir, "sub", "key.json");
    const key = await generateKey({ blockSize: 4, seed: "file" });
    await saveKey(p, key);
    const st = await lstat(p);
    assert.equal(st.mode & 0o777, 0o600);
    const back = await loadKey(p);
    assert.deepEqual(back.values, key.values);
    assert.equal(back.fingerprint, key.fingerprint);
    await assert.rejects(saveKey(p, key), /refusing to overwrite/);
    const other = await generateKey({ blockSize: 4, seed: "file2" });
    await saveKey(p, other, { force: true });
    assert.equal((await loadKey(p)).fingerprint, other.fingerprint);
    assert.equal((await lstat(p)).mode & 0o777, 0o600);
    // tamper on disk
    const text = await readFile(p, "utf8");
    await writeFile(p, text.replace(/"values": \[\n\s*\[\n\s*\[(-?)0\./, '"values": [[[$11.'));
    await assert.rejects(loadKey(p), (e: Error) => e.message.startsWith(p) && /fingerprint mismatch/.test(e.message));
    await assert.rejects(loadKey(join(dir, "missing.json")), /missing\.json: cannot read key file \(ENOENT\)/);
  });

  it("loads the study's .npy layout (C, k², k²), float64 and float32, and refuses bad shapes and NaN", async () => {
    const dir = tempDir();
    const key = await generateKey({ blockSize: 4, seed: "npy" });
    const p = join(dir, "key.npy");
    await writeFile(p, keyToNpy(key));
    const back = await loadKey(p);
    assert.equal(back.mode, "uniform");
    assert.deepEqual(back.values, key.values);
    assert.equal(back.fingerprint, key.fingerprint);
    const wrong = writeNpy({ dtype: "float64", shape: [3, 16, 15], data: new Float64Array(3 * 16 * 15) });
    await assert.rejects(keyFromNpy(wrong, "w.npy"), /w\.npy: a key \.npy must have shape \(C, k², k²\)/);
    const notSquare = writeNpy({ dtype: "float64", shape: [3, 8, 8], data: new Float64Array(3 * 64) });
    await assert.rejects(keyFromNpy(notSquare, "s.npy"), /perfect square/);
    const nan = Float64Array.from(key.values);
    nan[5] = Number.NaN;
    await assert.rejects(keyFromNpy(writeNpy({ dtype: "float64", shape: [3, 16, 16], data: nan })), /not finite/);
    const zeros = writeNpy({ dtype: "float64", shape: [1, 4, 4], data: new Float64Array(16) });
    await assert.rejects(keyFromNpy(zeros, "z.npy"), /z\.npy: channel 0 is not invertible/);
  });
});
