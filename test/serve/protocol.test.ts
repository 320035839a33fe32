// The OIP request parser and response builder against the specification's own text and examples:
// inference_rest.md (request/response objects, flat or nested row-major data), extension_binary_data.md (JSON header
// then little-endian bytes, Inference-Header-Content-Length; 0 = raw binary request), extension_classification.md
// (Triton's example: output [1.1, 3.3, 0.5, 2.4], classification 2 → "3.3:1", "2.4:3", with labels "3.3:1:<label>").
import assert from "node:assert/strict";
import { test } from "node:test";
import { ServeError } from "../../src/serve/errors.ts";
import { checkKeyFingerprint, parseInferRequest } from "../../src/serve/infer-request.ts";
import { classify, float32String, inferResponse, softmax } from "../../src/serve/infer-response.ts";
import type { ModelInfo } from "../../src/serve/model-info.ts";

const FP = "ab".repeat(32);
const model = {
  name: "m",
  shape: [3, 2, 2],
  keyFingerprint: FP,
} as unknown as ModelInfo;
const per = 12;

const json = (o: unknown, headers = {}) => ({
  body: Buffer.from(JSON.stringify(o)),
  contentType: "application/json",
  headers,
});
function binary(header: unknown, data: Uint8Array, hcl?: number) {
  const h = Buffer.from(JSON.stringify(header));
  return {
    body: Buffer.concat([h, data]),
    contentType: "application/octet-stream",
    headers: { "inference-header-content-length": String(hcl ?? h.length) },
  };
}
const values = (n: number) => Float32Array.from({ length: n * per }, (_, i) => i / 7 - 3);
const input = (n: number, extra: object = {}) => ({ name: "input", shape: [n, 3, 2, 2], datatype: "FP32", ...extra });
const status = (fn: () => unknown, code: number, re: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof ServeError && e.status === code && re.test(e.message));

test("JSON data: flat and nested (row-major) give the same tensor; id and key fingerprint are read", () => {
  const x = values(2);
  const flat = parseInferRequest(json({ id: "42", inputs: [input(2, { data: Array.from(x) })] }), model, 8);
  const nested: number[][][][] = [];
  for (let i = 0; i < 2; i++) {
    nested.push([]);
    for (let c = 0; c < 3; c++) {
      nested[i].push([]);
      for (let r = 0; r < 2; r++)
        nested[i][c].push(Array.from(x.subarray(i * 12 + c * 4 + r * 2, i * 12 + c * 4 + r * 2 + 2)));
    }
  }
  const nest = parseInferRequest(
    json({ parameters: { key_fingerprint: FP.slice(0, 16) }, inputs: [input(2, { data: nested })] }),
    model,
    8,
  );
  assert.deepEqual(flat.x, x);
  assert.deepEqual(nest.x, x);
  assert.equal(flat.id, "42");
  assert.equal(flat.n, 2);
  assert.equal(nest.keyFingerprint, FP.slice(0, 16));
  assert.deepEqual(
    flat.outputs.map((o) => o.name),
    ["logits", "probabilities"],
  );
});

test("binary extension: JSON header, then little-endian FP32 bytes; raw binary request with header length 0", () => {
  const x = values(3);
  const le = Buffer.alloc(x.length * 4);
  for (let i = 0; i < x.length; i++) le.writeFloatLE(x[i], i * 4);
  const r = parseInferRequest(
    binary(
      {
        inputs: [input(3, { parameters: { binary_data_size: le.length } })],
        outputs: [{ name: "logits", parameters: { binary_data: true } }],
      },
      le,
    ),
    model,
    8,
  );
  assert.deepEqual(r.x, x);
  assert.deepEqual(r.outputs, [{ name: "logits", binary: true }]);
  const raw = parseInferRequest(
    {
      body: le.subarray(0, per * 4),
      contentType: "application/octet-stream",
      headers: { "inference-header-content-length": "0" },
    },
    model,
    8,
  );
  assert.equal(raw.n, 1);
  assert.deepEqual(raw.x, x.subarray(0, per));
});

test("bad requests get 400/415 naming the problem", () => {
  const le = Buffer.from(values(1).buffer);
  const hdr = { inputs: [input(1, { parameters: { binary_data_size: 48 } })] };
  status(
    () => parseInferRequest(binary(hdr, le, 10_000), model, 8),
    400,
    /Inference-Header-Content-Length 10000 is larger than the body/,
  );
  status(() => parseInferRequest(binary(hdr, le.subarray(0, 20)), model, 8), 400, /truncated: 20 bytes .* says 48/);
  status(() => parseInferRequest(binary(hdr, Buffer.concat([le, Buffer.alloc(4)])), model, 8), 400, /4 bytes after/);
  status(
    () => parseInferRequest(binary({ inputs: [input(1, { parameters: { binary_data_size: 40 } })] }, le), model, 8),
    400,
    /binary_data_size 40 does not match/,
  );
  const nan = values(1);
  nan[5] = Number.NaN;
  status(() => parseInferRequest(binary(hdr, Buffer.from(nan.buffer)), model, 8), 400, /element 5 \(image 0\) is NaN/);
  const inf = values(1);
  inf[13 % per] = Number.POSITIVE_INFINITY;
  status(() => parseInferRequest(binary(hdr, Buffer.from(inf.buffer)), model, 8), 400, /is Infinity/);
  status(
    () => parseInferRequest({ body: Buffer.from("{nope"), contentType: "application/json", headers: {} }, model, 8),
    400,
    /not valid JSON/,
  );
  status(
    () => parseInferRequest(json({ inputs: [input(1, { datatype: "INT32", data: [1] })] }), model, 8),
    400,
    /datatype "INT32", the model takes "FP32"/,
  );
  status(
    () => parseInferRequest(json({ inputs: [{ ...input(1), shape: [1, 3, 4, 4], data: [] }] }), model, 8),
    400,
    /shape \[1, 3, 4, 4\], the model takes \[N, 3, 2, 2\]/,
  );
  status(
    () => parseInferRequest(json({ inputs: [input(9, { data: [] })] }), model, 8),
    400,
    /9 images in one request, more than --max-batch 8/,
  );
  status(
    () => parseInferRequest(json({ inputs: [input(1, { data: [1, 2] })] }), model, 8),
    400,
    /"data" has 2 elements, its shape needs 12/,
  );
  status(() => parseInferRequest(json({ inputs: [input(1, { data: [null] })] }), model, 8), 400, /element 0 is null/);
  status(
    () =>
      parseInferRequest(json({ inputs: [input(1, { data: Array(12).fill(0) })], outputs: [{ name: "x" }] }), model, 8),
    400,
    /unknown output 'x'/,
  );
  status(
    () => parseInferRequest({ body: le, contentType: "application/octet-stream", headers: {} }, model, 8),
    400,
    /needs the Inference-Header-Content-Length/,
  );
  status(() => parseInferRequest({ body: le, contentType: "text/plain", headers: {} }, model, 8), 415, /text\/plain/);
});

test("a key fingerprint other than the model's is 409 naming both short fingerprints", () => {
  const other = "cd".repeat(32);
  status(
    () => checkKeyFingerprint({ keyFingerprint: other, x: new Float32Array(), n: 0, outputs: [] }, model),
    409,
    new RegExp(`${other.slice(0, 16)}.*${FP.slice(0, 16)}`),
  );
  checkKeyFingerprint({ keyFingerprint: FP, x: new Float32Array(), n: 0, outputs: [] }, model);
});

test("classification extension: Triton's worked example", () => {
  const out = Float32Array.from([1.1, 3.3, 0.5, 2.4]);
  assert.deepEqual(classify(out, 1, 4, 2, ["a", "index_1_label", "c", "index_3_label"]), [
    "3.3:1:index_1_label",
    "2.4:3:index_3_label",
  ]);
  assert.equal(float32String(Math.fround(0.1)), "0.1");
});

test("softmax matches a hand-worked case; binary response is JSON header + bytes in output order", () => {
  const logits = Float32Array.from([0, Math.log(3), 1, 1]);
  const p = softmax(logits, 2, 2);
  assert.ok(Math.abs(p[0] - 0.25) < 1e-7 && Math.abs(p[1] - 0.75) < 1e-7 && p[2] === 0.5 && p[3] === 0.5);
  const r = inferResponse({
    modelName: "m",
    id: "7",
    outputs: [
      { name: "probabilities", binary: true },
      { name: "logits", binary: false, classification: 1 },
      { name: "logits", binary: true },
    ],
    logits,
    n: 2,
    labels: ["x", "y"],
  });
  assert.equal(r.contentType, "application/octet-stream");
  const len = Number(r.headers["Inference-Header-Content-Length"]);
  const body = r.body as Buffer;
  const head = JSON.parse(body.subarray(0, len).toString());
  assert.equal(head.id, "7");
  assert.deepEqual(head.outputs[0], {
    name: "probabilities",
    shape: [2, 2],
    datatype: "FP32",
    parameters: { binary_data_size: 16 },
  });
  assert.deepEqual(head.outputs[1].data, ["1.0986123:1:y", "1:0:x"]);
  assert.equal(head.outputs[1].datatype, "BYTES");
  const rest = body.subarray(len);
  assert.equal(rest.length, 32);
  assert.ok(Math.abs(rest.readFloatLE(4) - 0.75) < 1e-7);
  assert.equal(rest.readFloatLE(16 + 4), Math.fround(Math.log(3)));
});

test("bounded parsing: JSON over the limit is 413 before parsing; nesting, outputs and id are capped", () => {
  const body = json({ inputs: [input(1, { data: Array(12).fill(0) })] });
  status(() => parseInferRequest(body, model, 8, body.body.length - 1), 413, /bytes of JSON, more than --json-limit/);
  assert.equal(parseInferRequest(body, model, 8, body.body.length).n, 1);
  const le = Buffer.from(values(1).buffer);
  const hdr = binary({ inputs: [input(1, { parameters: { binary_data_size: 48 } })] }, le);
  const hl = Number(hdr.headers["inference-header-content-length"]);
  status(() => parseInferRequest(hdr, model, 8, hl - 1), 413, /JSON header is \d+ bytes of JSON/);
  // 100,000 levels of nesting: a recursive walk would overflow the stack (a 500); it is a 400 naming the depth.
  const deep = Buffer.from(
    `{"inputs":[{"name":"input","shape":[1,3,2,2],"datatype":"FP32","data":${"[".repeat(1e5)}${"]".repeat(1e5)}}]}`,
  );
  status(
    () => parseInferRequest({ body: deep, contentType: "application/json", headers: {} }, model, 8),
    400,
    /nested deeper than its shape's 4 dimensions/,
  );
  const data = Array(12).fill(0);
  status(
    () =>
      parseInferRequest(json({ inputs: [input(1, { data })], outputs: Array(9).fill({ name: "logits" }) }), model, 8),
    400,
    /asks for 9 outputs, more than 8/,
  );
  status(
    () => parseInferRequest(json({ id: "x".repeat(257), inputs: [input(1, { data })] }), model, 8),
    400,
    /"id" is 257 characters, more than 256/,
  );
  // The shape sizes nothing before the data is counted: 8 images declared, 12 values sent.
  status(
    () => parseInferRequest(json({ inputs: [input(8, { data })] }), model, 8),
    400,
    /"data" has 12 elements, its shape needs 96/,
  );
});
