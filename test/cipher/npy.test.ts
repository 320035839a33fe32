import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { NpyError, readNpy, writeNpy } from "../../src/cipher/index.ts";
import { hasNumpy, runFixture, tempDir } from "./helpers.ts";

const N = 30;
const f32 = Float32Array.from({ length: N }, (_, i) => Math.fround(i / 7));
const f64 = Float64Array.from({ length: N }, (_, i) => i / 7 + 1e-3);
const u8 = Uint8Array.from({ length: N }, (_, i) => (i * 37) % 256);
const i64 = BigInt64Array.from({ length: N }, (_, i) => BigInt(i) * 2n ** 40n - 5n);

describe(".npy written by numpy", { skip: !hasNumpy() && "no /usr/bin/python3 with numpy" }, () => {
  const dir = tempDir();
  runFixture("gen", dir);
  const load = (name: string) => readNpy(new Uint8Array(readFileSync(join(dir, name))), name);

  it("float32, float64, uint8, int64 load exactly", () => {
    const a = load("np_f32.npy");
    assert.equal(a.dtype, "float32");
    assert.deepEqual(a.shape, [2, 3, 5]);
    assert.deepEqual(a.data, f32);
    assert.deepEqual(load("np_f64.npy").data, f64);
    assert.deepEqual(load("np_u8.npy").data, u8);
    const i = load("np_i64.npy");
    assert.equal(i.dtype, "int64");
    assert.deepEqual(i.data, i64);
  });

  it("format 2.0, scalars, 1-D and empty arrays", () => {
    assert.deepEqual(load("np_v2.npy").data, f32);
    const s = load("np_scalar.npy");
    assert.deepEqual(s.shape, []);
    assert.deepEqual(Array.from(s.data as Float64Array), [2.5]);
    assert.deepEqual(load("np_1d.npy").shape, [4]);
    const e = load("np_empty.npy");
    assert.deepEqual(e.shape, [0, 3]);
    assert.equal(e.data.length, 0);
  });

  it("clear errors: Fortran order, big-endian, unsupported dtype", () => {
    assert.throws(
      () => load("np_fortran.npy"),
      (e: Error) => e instanceof NpyError && /np_fortran\.npy: Fortran-order/.test(e.message),
    );
    assert.throws(() => load("np_bigendian.npy"), /np_bigendian\.npy: big-endian dtype '>f4'/);
    assert.throws(() => load("np_int32.npy"), /unsupported dtype '<i4'/);
  });

  it("truncated and malformed files", () => {
    const good = new Uint8Array(readFileSync(join(dir, "np_f64.npy")));
    assert.throws(() => readNpy(good.subarray(0, good.length - 3), "t.npy"), /t\.npy: truncated \.npy data/);
    assert.throws(() => readNpy(good.subarray(0, 40), "h.npy"), /h\.npy: truncated \.npy header/);
    assert.throws(() => readNpy(good.subarray(0, 8), "x.npy"), /truncated/);
    assert.throws(() => readNpy(new TextEncoder().encode("hello world"), "m.npy"), /not a \.npy file/);
    const bad = Uint8Array.from(good);
    const text = new TextDecoder("latin1").decode(bad.subarray(10, 80));
    const at = text.indexOf("'shape'");
    bad.set(new TextEncoder().encode("'shapX'"), 10 + at);
    assert.throws(() => readNpy(bad, "s.npy"), /malformed \.npy header \(no 'shape'\)/);
    const bad2 = Uint8Array.from(good);
    bad2[6] = 9;
    assert.throws(() => readNpy(bad2, "v.npy"), /unsupported \.npy format version 9/);
    assert.throws(() => readNpy(Uint8Array.from([...good, 0]), "e.npy"), /trailing bytes/);
  });

  it("numpy reads what ercnn writes", () => {
    const w = (name: string, arr: Parameters<typeof writeNpy>[0]) => writeFileSync(join(dir, name), writeNpy(arr));
    w("ours_f32.npy", { dtype: "float32", shape: [2, 3, 5], data: f32 });
    w("ours_f64.npy", { dtype: "float64", shape: [2, 3, 5], data: f64 });
    w("ours_u8.npy", { dtype: "uint8", shape: [2, 3, 5], data: u8 });
    w("ours_i64.npy", { dtype: "int64", shape: [2, 3, 5], data: i64 });
    w("ours_1d.npy", { dtype: "float32", shape: [4], data: Float32Array.from([0, 1, 2, 3]) });
    w("ours_big.npy", {
      dtype: "float64",
      shape: [7, 11, 13],
      data: Float64Array.from({ length: 7 * 11 * 13 }, (_, i) => i * 0.5),
    });
    assert.equal(runFixture("verify", dir).trim(), "ok");
  });
});

describe(".npy round trip (no numpy needed)", () => {
  it("write → read is exact, header is 64-byte aligned", () => {
    for (const [dtype, data] of [
      ["float32", f32],
      ["float64", f64],
      ["uint8", u8],
      ["int64", i64],
    ] as const) {
      const bytes = writeNpy({ dtype, shape: [5, 6], data });
      const hl = bytes[8] | (bytes[9] << 8);
      assert.equal((10 + hl) % 64, 0);
      const back = readNpy(bytes);
      assert.equal(back.dtype, dtype);
      assert.deepEqual(back.shape, [5, 6]);
      assert.deepEqual(back.data, data);
    }
    assert.throws(() => writeNpy({ dtype: "float32", shape: [4], data: f32 }), /has 4 elements, data has 30/);
    assert.throws(() => writeNpy({ dtype: "float64", shape: [30], data: f32 }), /does not match/);
  });
});
