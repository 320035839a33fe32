// safetensors: layout as the reference implementation writes it, every dtype, validation errors naming
// the source, atomic saves, and a round trip through an independent numpy reader/writer.
import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import {
  decodeSafetensors,
  dispose,
  encodeSafetensors,
  loadSafetensors,
  SafetensorsError,
  saveSafetensors,
  type Tensor,
  tensor,
  tidy,
} from "../../src/torch/index.ts";
import { runPython, tempDir } from "./helpers.ts";

const VALUES = [0, -1.5, 2.25, 1e-3, 65504, -0];

function sample(): Map<string, Tensor> {
  const f64 = tensor([VALUES.slice(0, 3), VALUES.slice(3)], { dtype: "float64" });
  const m = new Map<string, Tensor>([
    ["b.f32", f64.to("float32")],
    ["a.f64", f64],
    ["c.f16", f64.to("float16")],
    ["d.bf16", f64.to("bfloat16")],
    [
      "e.i64",
      tensor([-3, 0, 2 ** 40])
        .to("float64")
        .to("int64"),
    ],
    ["f.i32", tensor([-7, 8]).to("int32")],
    ["g.u8", tensor([0, 255]).to("uint8")],
    ["h.bool", tensor([1, 0, 1]).gt(0.5)],
    ["i.scalar", tensor(3.5)],
    ["j.empty", tensor([]).reshape(0, 2)],
  ]);
  return m;
}

function header(buf: Buffer): { n: number; json: Record<string, any>; raw: string } {
  const n = Number(buf.readBigUInt64LE(0));
  const raw = buf.subarray(8, 8 + n).toString("utf8");
  return { n, json: JSON.parse(raw), raw };
}

function withHeader(h: unknown, data: Buffer): Buffer {
  const j = Buffer.from(JSON.stringify(h));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(j.length));
  return Buffer.concat([len, j, data]);
}

describe("safetensors", () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  test("layout: dtype-then-name order, space-padded header, contiguous offsets", () => {
    const t = sample();
    const buf = encodeSafetensors(t, { purpose: "test", ünïcode: "✓" });
    const { n, json, raw } = header(buf);
    assert.equal(n % 8, 0);
    assert.match(raw, /^\{.*\} *$/);
    const keys = Object.keys(json);
    assert.equal(keys[0], "__metadata__");
    assert.deepEqual(keys.slice(1), [
      "e.i64",
      "a.f64",
      "b.f32",
      "i.scalar",
      "j.empty",
      "f.i32",
      "d.bf16",
      "c.f16",
      "g.u8",
      "h.bool",
    ]);
    let end = 0;
    for (const k of keys.slice(1)) {
      assert.equal(json[k].data_offsets[0], end, k);
      end = json[k].data_offsets[1];
    }
    assert.equal(buf.length, 8 + n + end);
    assert.deepEqual(json["a.f64"], { dtype: "F64", shape: [2, 3], data_offsets: [24, 72] });
    assert.deepEqual(json["i.scalar"].shape, []);
    dispose(t);
  });

  test("encode → decode keeps dtype, shape and bits of every dtype", () => {
    const t = sample();
    const { tensors, metadata } = decodeSafetensors(encodeSafetensors(t, { k: "v" }));
    assert.deepEqual(metadata, { k: "v" });
    assert.deepEqual([...tensors.keys()].sort(), [...t.keys()].sort());
    for (const [k, a] of t) {
      const b = tensors.get(k) as Tensor;
      assert.equal(b.dtype, a.dtype, k);
      assert.deepEqual(b.shape, a.shape, k);
      assert.deepEqual(new Uint8Array(b.native.toBuffer()), new Uint8Array(a.native.toBuffer()), k);
    }
    dispose([t, tensors]);
  });

  test("non-contiguous tensors are written in logical order; Record input and no metadata", () => {
    tidy(() => {
      const x = tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]).t();
      const buf = encodeSafetensors({ x });
      assert.equal(header(buf).json.__metadata__, undefined);
      assert.deepEqual(decodeSafetensors(buf).tensors.get("x")?.toArray(), [1, 4, 2, 5, 3, 6]);
    });
  });

  test("round trip through the independent numpy reader and writer", async () => {
    const t = sample();
    const a = `${tmp.dir}/ercnn.safetensors`;
    const b = `${tmp.dir}/numpy.safetensors`;
    await saveSafetensors(a, t, { who: "ercnn" });
    const summary = JSON.parse(runPython("gen_torch_safetensors.py", [a, b]));
    assert.deepEqual(summary.metadata, { who: "ercnn" });
    assert.equal(summary.header_keys[0], "__metadata__");
    const expect = (k: string) => tidy(() => (t.get(k) as Tensor).to("float64").toArray());
    for (const k of t.keys()) {
      const s = summary.tensors[k];
      assert.deepEqual(s.shape, (t.get(k) as Tensor).shape, k);
      if (k === "e.i64") assert.deepEqual(s.values, [-3, 0, 2 ** 40]);
      else assert.deepEqual(s.values, expect(k), k);
    }
    assert.equal(summary.tensors["d.bf16"].dtype, "BF16");
    assert.equal(summary.tensors["h.bool"].dtype, "BOOL");
    const back = await loadSafetensors(b);
    assert.deepEqual(back.metadata, { who: "ercnn" });
    for (const [k, x] of t) {
      const y = back.tensors.get(k) as Tensor;
      assert.equal(y.dtype, x.dtype, k);
      assert.deepEqual(new Uint8Array(y.native.toBuffer()), new Uint8Array(x.native.toBuffer()), k);
    }
    dispose([t, back.tensors]);
  });

  test("saves atomically: no temporary files left, an existing file is replaced", async () => {
    const p = `${tmp.dir}/atomic.safetensors`;
    writeFileSync(p, "old");
    const x = tensor([1]);
    const saved = saveSafetensors(p, { x });
    x.dispose(); // the bytes are taken synchronously: freeing right after the call is fine
    await saved;
    const { tensors } = await loadSafetensors(p);
    assert.deepEqual(tensors.get("x")?.toArray(), [1]);
    dispose(tensors);
    assert.deepEqual(
      readdirSync(tmp.dir).filter((f) => f.includes("atomic")),
      ["atomic.safetensors"],
    );
  });

  describe("validation errors name the source", () => {
    const ok = () => {
      const t = tensor([1, 2, 3]);
      const buf = encodeSafetensors({ x: t });
      t.dispose();
      return buf;
    };
    const bad = (buf: Uint8Array, re: RegExp) =>
      assert.throws(
        () => decodeSafetensors(buf, "/data/model.safetensors"),
        (e: unknown) =>
          e instanceof SafetensorsError && /\/data\/model\.safetensors/.test(e.message) && re.test(e.message),
      );

    test("truncated file", () => {
      bad(Buffer.alloc(5), /truncated/);
      const b = ok();
      bad(b.subarray(0, b.length - 4), /out of range/);
      bad(b.subarray(0, 20), /header length .* runs past the end/);
    });
    test("header length beyond the file", () => {
      const b = Buffer.from(ok());
      b.writeBigUInt64LE(1n << 40n, 0);
      bad(b, /runs past the end/);
    });
    test("not JSON", () => bad(withHeader("x", Buffer.alloc(0)).fill(0x7b, 8, 9), /JSON/));
    test("offsets out of range, reversed, overlapping", () => {
      const data = Buffer.alloc(16);
      bad(withHeader({ x: { dtype: "F32", shape: [4], data_offsets: [4, 20] } }, data), /out of range/);
      bad(withHeader({ x: { dtype: "F32", shape: [0], data_offsets: [8, 4] } }, data), /end before/);
      bad(
        withHeader(
          {
            x: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
            y: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
          },
          data,
        ),
        /'x'.*'y'.*overlap/,
      );
    });
    test("unknown dtype, bad shape, byte count mismatch, bad metadata", () => {
      const data = Buffer.alloc(16);
      bad(withHeader({ x: { dtype: "F8_E4M3", shape: [4], data_offsets: [0, 4] } }, data), /unknown dtype "F8_E4M3"/);
      bad(withHeader({ x: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, data), /bad shape/);
      bad(withHeader({ x: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, data), /needs 12 bytes .* span 8/);
      bad(withHeader({ __metadata__: { a: 1 } }, data), /__metadata__\['a'\] is not a string/);
    });
    test("loadSafetensors names the file", async () => {
      const p = `${tmp.dir}/broken.safetensors`;
      writeFileSync(p, Buffer.alloc(3));
      await assert.rejects(loadSafetensors(p), (e: Error) => e.message.includes(p) && /truncated/.test(e.message));
    });
  });
});
