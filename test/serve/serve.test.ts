// ercnn serve end to end on 127.0.0.1 (free port): every OIP endpoint in JSON and binary form, the classification
// extension, the repository index, id echo; served logits equal `ercnn evaluate`'s forward path of the same
// ciphertexts (single images and batches); 64 concurrent requests answer as the same requests one by one and the
// metrics show batches > 1; each bad input gets its 4xx and the next good request succeeds; a fingerprint mismatch
// is 409; the client page mount and CORS.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { generateKey } from "../../src/cipher/index.ts";
import { writeNpy } from "../../src/core/npy.ts";
import { tempDir } from "../data/helpers.ts";
import {
  binaryBody,
  bytesOf,
  makeRun,
  maxAbsDiff,
  referenceLogits,
  startServer,
  storeImages,
  type TestRun,
} from "./helpers.ts";

const t = tempDir("ercnn-serve-");
let run: TestRun;
let reference: Float32Array[];
let server: Awaited<ReturnType<typeof startServer>>;
let fp: string;
const NAME = "tiny";

before(async () => {
  const key = await generateKey({ blockSize: 4, seed: "serve-test" });
  fp = key.fingerprint;
  run = await makeRun(t.dir, { key, nTest: 24 });
  reference = await referenceLogits(run.run, run.test);
  server = await startServer([{ dir: run.run, name: NAME }], { maxQueueDelayUs: 20_000 });
});
after(async () => {
  await server?.close();
  t.cleanup();
});

const post = (path: string, body: Uint8Array | string, headers: Record<string, string>) =>
  fetch(`${server.url}${path}`, { method: "POST", body: body as BodyInit, headers });
const get = (path: string) => fetch(`${server.url}${path}`);
const infer = `/v2/models/${NAME}/infer`;

/** Binary-extension infer of store images [a, b); returns the JSON answer. */
async function inferBinary(a: number, b: number, extra: object = {}) {
  const { x, n } = storeImages(run.test, a, b);
  const { body, headerLength } = binaryBody(
    {
      inputs: [
        { name: "input", shape: [n, 3, 16, 16], datatype: "FP32", parameters: { binary_data_size: x.byteLength } },
      ],
      ...extra,
    },
    bytesOf(x),
  );
  const res = await post(infer, body, {
    "Content-Type": "application/octet-stream",
    "Inference-Header-Content-Length": String(headerLength),
  });
  return { res, json: res.headers.get("content-type")?.includes("json") ? await res.json() : null };
}

test("health, server metadata, model metadata, model ready, repository index", async () => {
  assert.deepEqual(await (await get("/v2/health/live")).json(), { live: true });
  const ready = await get("/v2/health/ready");
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { ready: true });
  const meta = await (await get("/v2")).json();
  assert.equal(meta.name, "ercnn");
  assert.deepEqual(meta.extensions, ["binary_tensor_data", "classification", "model_repository(index)"]);
  const m = await (await get(`/v2/models/${NAME}`)).json();
  assert.equal(m.name, NAME);
  assert.equal(m.platform, "ercnn_safetensors");
  assert.deepEqual(m.inputs, [{ name: "input", datatype: "FP32", shape: [-1, 3, 16, 16] }]);
  assert.deepEqual(
    m.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape]),
    [
      ["logits", [-1, 4]],
      ["probabilities", [-1, 4]],
    ],
  );
  const p = m.parameters;
  assert.equal(p.block_size, 4);
  assert.equal(p.key_mode, "uniform");
  assert.equal(p.key_fingerprint, fp);
  assert.equal(p.key_fingerprint_short, fp.slice(0, 16));
  assert.deepEqual([p.input_channels, p.input_height, p.input_width, p.num_classes], [3, 16, 16, 4]);
  assert.deepEqual(JSON.parse(p.class_names), ["class0", "class1", "class2", "class3"]);
  const norm = JSON.parse(p.normalization);
  assert.equal(norm.mean.length, 3);
  assert.equal(norm.std.length, 3);
  for (const v of Object.values(p))
    assert.ok(["string", "number", "boolean"].includes(typeof v), "OIP $parameters are scalars");
  assert.deepEqual(await (await get(`/v2/models/${NAME}/ready`)).json(), { name: NAME, ready: true });
  const unknown = await get("/v2/models/nope");
  assert.equal(unknown.status, 404);
  assert.match((await unknown.json()).error, /unknown model 'nope' \(served: tiny\)/);
  const index = await post("/v2/repository/index", "{}", { "Content-Type": "application/json" });
  assert.deepEqual(await index.json(), [{ name: NAME, state: "READY", reason: "" }]);
  const readyOnly = await post("/v2/repository/index", '{"ready": true}', { "Content-Type": "application/json" });
  assert.equal((await readyOnly.json()).length, 1);
  const api = await (await get("/openapi.json")).json();
  assert.ok(api.openapi.startsWith("3."));
  assert.ok(api.paths["/v2/models/{name}/infer"].post, "infer route documented");
});

test("served logits equal evaluate's forward of the same ciphertexts (single images and a batch, JSON and binary)", async () => {
  for (const i of [0, 5]) {
    const { x } = storeImages(run.test, i, i + 1);
    const res = await post(
      infer,
      JSON.stringify({
        id: `img-${i}`,
        inputs: [{ name: "input", shape: [1, 3, 16, 16], datatype: "FP32", data: Array.from(x) }],
      }),
      { "Content-Type": "application/json" },
    );
    assert.equal(res.status, 200);
    const r = await res.json();
    assert.equal(r.id, `img-${i}`);
    assert.equal(r.model_name, NAME);
    const logits = r.outputs.find((o: { name: string }) => o.name === "logits");
    assert.deepEqual(logits.shape, [1, 4]);
    assert.ok(maxAbsDiff(logits.data, reference[i]) <= 1e-5, `image ${i}: ${maxAbsDiff(logits.data, reference[i])}`);
  }
  const { res, json } = await inferBinary(0, 24, { id: "batch" });
  assert.equal(res.status, 200);
  assert.equal(json.id, "batch");
  const logits = json.outputs[0];
  assert.deepEqual(logits.shape, [24, 4]);
  for (let i = 0; i < 24; i++)
    assert.ok(maxAbsDiff(logits.data.slice(i * 4, i * 4 + 4), reference[i]) <= 1e-5, `batch row ${i}`);
  const probs = json.outputs[1].data as number[];
  for (let i = 0; i < 24; i++) {
    const e = reference[i].map((v) => Math.exp(v));
    const s = e.reduce((a, b) => a + b, 0);
    for (let j = 0; j < 4; j++) assert.ok(Math.abs(probs[i * 4 + j] - e[j] / s) < 1e-5);
  }
});

test("binary outputs and the classification extension", async () => {
  const { x } = storeImages(run.test, 2, 4);
  const { body, headerLength } = binaryBody(
    {
      id: "bin",
      parameters: { key_fingerprint: fp },
      inputs: [
        { name: "input", shape: [2, 3, 16, 16], datatype: "FP32", parameters: { binary_data_size: x.byteLength } },
      ],
      outputs: [
        { name: "logits", parameters: { binary_data: true } },
        { name: "probabilities", parameters: { classification: 2 } },
      ],
    },
    bytesOf(x),
  );
  const res = await post(infer, body, {
    "Content-Type": "application/octet-stream",
    "Inference-Header-Content-Length": String(headerLength),
  });
  assert.equal(res.status, 200);
  const buf = Buffer.from(await res.arrayBuffer());
  const len = Number(res.headers.get("inference-header-content-length"));
  const head = JSON.parse(buf.subarray(0, len).toString());
  assert.equal(head.id, "bin");
  assert.deepEqual(head.outputs[0], {
    name: "logits",
    shape: [2, 4],
    datatype: "FP32",
    parameters: { binary_data_size: 32 },
  });
  const bytes = buf.subarray(len);
  assert.equal(bytes.length, 32);
  const logits = Array.from({ length: 8 }, (_, i) => bytes.readFloatLE(i * 4));
  assert.ok(maxAbsDiff(logits.slice(0, 4), reference[2]) <= 1e-5);
  assert.ok(maxAbsDiff(logits.slice(4), reference[3]) <= 1e-5);
  const cls = head.outputs[1];
  assert.deepEqual([cls.datatype, cls.shape], ["BYTES", [2, 2]]);
  for (let i = 0; i < 2; i++) {
    const ref = reference[2 + i];
    const order = [0, 1, 2, 3].sort((a, b) => ref[b] - ref[a]);
    const [v, idx, label] = cls.data[i * 2].split(":");
    assert.equal(Number(idx), order[0]);
    assert.equal(label, `class${order[0]}`);
    assert.ok(Number(v) > 0 && Number(v) <= 1);
    assert.equal(Number(cls.data[i * 2 + 1].split(":")[1]), order[1]);
  }
});

test("the study's .npy body (N×H×W×3) is answered like JSON", async () => {
  const { x } = storeImages(run.test, 6, 8);
  const hwc = new Float32Array(x.length);
  for (let i = 0; i < 2; i++)
    for (let p = 0; p < 256; p++) for (let c = 0; c < 3; c++) hwc[(i * 256 + p) * 3 + c] = x[(i * 3 + c) * 256 + p];
  const res = await post(infer, writeNpy({ dtype: "float32", shape: [2, 16, 16, 3], data: hwc }), {
    "Content-Type": "application/x-npy",
    "X-Request-Id": "npy",
  });
  assert.equal(res.status, 200);
  const r = await res.json();
  assert.equal(r.id, "npy");
  assert.ok(maxAbsDiff(r.outputs[0].data.slice(0, 4), reference[6]) <= 1e-5);
  assert.ok(maxAbsDiff(r.outputs[0].data.slice(4), reference[7]) <= 1e-5);
});

test("64 concurrent requests answer as one by one, and run in batches larger than 1", async () => {
  const one = async (i: number) => (await inferBinary(i % 24, (i % 24) + 1)).json.outputs[0].data as number[];
  const sequential: number[][] = [];
  for (let i = 0; i < 24; i++) sequential.push(await one(i));
  const metrics0 = await (await get("/metrics")).text();
  const concurrent = await Promise.all(Array.from({ length: 64 }, (_, i) => one(i)));
  for (let i = 0; i < 64; i++) assert.ok(maxAbsDiff(concurrent[i], sequential[i % 24]) <= 1e-5, `request ${i}`);
  const metrics1 = await (await get("/metrics")).text();
  const value = (text: string, name: string) =>
    Number(new RegExp(`^${name}\\{model="${NAME}"\\} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  const images = value(metrics1, "nv_inference_count") - value(metrics0, "nv_inference_count");
  const execs = value(metrics1, "nv_inference_exec_count") - value(metrics0, "nv_inference_exec_count");
  assert.equal(images, 64);
  assert.ok(execs < 64, `64 images in ${execs} forward passes: dynamic batching must merge requests`);
  assert.ok(value(metrics1, "nv_inference_request_success") >= 88);
  assert.match(metrics1, /ercnn_request_duration_seconds_bucket\{le="0.005",model="tiny"\}/);
  assert.match(metrics1, /nv_inference_compute_infer_duration_us\{model="tiny"\} [1-9]/);
});

test("each bad input gets its 4xx naming the problem, and the next good request succeeds", async () => {
  const { x } = storeImages(run.test, 0, 1);
  const good = async () => {
    const { res, json } = await inferBinary(0, 1);
    assert.equal(res.status, 200);
    assert.ok(maxAbsDiff(json.outputs[0].data, reference[0]) <= 1e-5);
  };
  const header = {
    inputs: [
      { name: "input", shape: [1, 3, 16, 16], datatype: "FP32", parameters: { binary_data_size: x.byteLength } },
    ],
  };
  const bin = (h: object, data: Uint8Array, hcl?: number) => {
    const b = binaryBody(h, data);
    return post(infer, b.body, {
      "Content-Type": "application/octet-stream",
      "Inference-Header-Content-Length": String(hcl ?? b.headerLength),
    });
  };
  const nan = x.slice();
  nan[10] = Number.NaN;
  const big = new Float32Array(65 * x.length);
  const cases: [string, () => Promise<Response>, number, RegExp][] = [
    ["non-JSON", () => post(infer, "{not json", { "Content-Type": "application/json" }), 400, /not valid JSON/],
    [
      "wrong shape",
      () =>
        post(
          infer,
          JSON.stringify({
            inputs: [{ name: "input", shape: [1, 3, 8, 8], datatype: "FP32", data: Array(192).fill(0) }],
          }),
          { "Content-Type": "application/json" },
        ),
      400,
      /shape \[1, 3, 8, 8\], the model takes \[N, 3, 16, 16\]/,
    ],
    [
      "wrong dtype",
      () =>
        post(
          infer,
          JSON.stringify({
            inputs: [{ name: "input", shape: [1, 3, 16, 16], datatype: "FP64", data: Array(768).fill(0) }],
          }),
          { "Content-Type": "application/json" },
        ),
      400,
      /datatype "FP64"/,
    ],
    ["NaN", () => bin(header, bytesOf(nan)), 400, /element 10 \(image 0\) is NaN/],
    ["truncated binary body", () => bin(header, bytesOf(x).subarray(0, 1000)), 400, /truncated: 1000 bytes/],
    ["header length larger than the body", () => bin(header, bytesOf(x), 99_999), 400, /larger than the body/],
    [
      "too many images",
      () =>
        bin(
          {
            inputs: [
              {
                name: "input",
                shape: [65, 3, 16, 16],
                datatype: "FP32",
                parameters: { binary_data_size: big.byteLength },
              },
            ],
          },
          bytesOf(big),
        ),
      400,
      /65 images in one request, more than --max-batch 64/,
    ],
    [
      "body over the limit",
      () =>
        post(infer, new Uint8Array(9 * 1024 * 1024), {
          "Content-Type": "application/octet-stream",
          "Inference-Header-Content-Length": "2",
        }),
      413,
      /too large/i,
    ],
    [
      "unknown model",
      () => post("/v2/models/nope/infer", "{}", { "Content-Type": "application/json" }),
      404,
      /unknown model 'nope'/,
    ],
    [
      "fingerprint mismatch",
      () => bin({ ...header, parameters: { key_fingerprint: "0".repeat(64) } }, bytesOf(x)),
      409,
      new RegExp(`0000000000000000 vs model 'tiny' ${fp.slice(0, 16)}`),
    ],
    ["unsupported content type", () => post(infer, "hello", { "Content-Type": "text/plain" }), 415, /text\/plain/],
  ];
  for (const [what, send, code, re] of cases) {
    const res = await send();
    assert.equal(res.status, code, what);
    const body = await res.json();
    assert.match(body.error, re, what);
    await good();
  }
  const metrics = await (await get("/metrics")).text();
  assert.match(metrics, /nv_inference_request_failure\{model="tiny",reason="OTHER"\} [1-9]/);
});

test("client page: 404 naming npm run build:web when dist/web is missing; served when present; CORS for named origins", async () => {
  const missing = await startServer([{ dir: run.run }], { uiDir: join(t.dir, "no-web") });
  const r = await fetch(`${missing.url}/`);
  assert.equal(r.status, 404);
  assert.match((await r.json()).error, /npm run build:web/);
  await missing.close();
  const web = join(t.dir, "web");
  mkdirSync(web, { recursive: true });
  writeFileSync(join(web, "index.html"), "<!doctype html><title>ercnn client</title>");
  const s = await startServer([{ dir: run.run }], { uiDir: web, cors: ["http://page.example"] });
  const page = await fetch(`${s.url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /ercnn client/);
  const allowed = await fetch(`${s.url}/v2`, { headers: { Origin: "http://page.example" } });
  assert.equal(allowed.headers.get("access-control-allow-origin"), "http://page.example");
  const other = await fetch(`${s.url}/v2`, { headers: { Origin: "http://evil.example" } });
  assert.equal(other.headers.get("access-control-allow-origin"), null);
  const pre = await fetch(`${s.url}/v2/models/run/infer`, {
    method: "OPTIONS",
    headers: {
      Origin: "http://page.example",
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "inference-header-content-length,content-type",
    },
  });
  assert.ok(pre.status === 204 || pre.status === 200);
  assert.match(pre.headers.get("access-control-allow-headers") ?? "", /inference-header-content-length/i);
  await s.close();
});
