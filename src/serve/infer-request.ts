/**
 * Parsing an OIP inference request (inference_rest.md "Inference Request JSON Object") for ercnn's one-input
 * models, in its three body forms:
 *  - JSON: the input's `data` (flat or nested, row-major);
 *  - binary tensor data extension (extension_binary_data.md): `Inference-Header-Content-Length` gives the JSON
 *    header's length, the input's `binary_data_size` the bytes after it (little-endian FP32, row-major); a length
 *    of 0 is the extension's "raw binary request" (the whole body is one image);
 *  - the study's `.npy` (`Content-Type: application/x-npy`): H×W×3 or N×H×W×3 float32, transposed to N×C×H×W.
 * Every problem is a ServeError naming the field and the numbers. Nothing here runs the model.
 */
import { NpyError, readNpy } from "../core/npy.ts";
import { ServeError } from "./errors.ts";
import type { ModelInfo } from "./model-info.ts";

export const OUTPUT_NAMES = ["logits", "probabilities"] as const;
export type OutputName = (typeof OUTPUT_NAMES)[number];

export interface RequestedOutput {
  name: OutputName;
  /** Classification extension: top-k as "value:index:label" strings. */
  classification?: number;
  binary: boolean;
}

export interface InferRequest {
  id?: string;
  keyFingerprint?: string;
  /** Raw ciphertexts N×C×H×W. */
  x: Float32Array;
  n: number;
  outputs: RequestedOutput[];
}

type Json = Record<string, unknown>;
const bad = (msg: string) => new ServeError(400, msg);
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

export interface RawRequest {
  body: Buffer;
  contentType: string;
  headers: Record<string, string | string[] | undefined>;
}

const header = (h: RawRequest["headers"], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Most outputs one request may ask for (two names, each as values, top-k and binary, fit with room). */
export const MAX_OUTPUTS = 8;
/** Longest request id, characters (it is echoed and logged). */
export const MAX_ID = 256;

/**
 * `jsonLimit` caps the JSON that is parsed (a JSON body, or a binary request's JSON header): JSON.parse runs on the
 * event loop, so a large one would stall every other request.
 */
export function parseInferRequest(
  raw: RawRequest,
  model: ModelInfo,
  maxBatch: number,
  jsonLimit = Number.POSITIVE_INFINITY,
): InferRequest {
  const type = raw.contentType.split(";")[0].trim().toLowerCase();
  if (type === "application/x-npy") return parseNpy(raw, model, maxBatch);
  const hcl = header(raw.headers, "inference-header-content-length");
  if (hcl !== undefined) return parseBinary(raw.body, hcl, model, maxBatch, jsonLimit);
  if (type === "application/octet-stream")
    throw bad("an application/octet-stream body needs the Inference-Header-Content-Length header (binary extension)");
  // curl -d sends application/x-www-form-urlencoded unless told otherwise: read it as the JSON it is.
  if (type !== "application/json" && type !== "" && type !== "application/x-www-form-urlencoded")
    throw new ServeError(
      415,
      `unsupported Content-Type '${type}' (application/json, application/octet-stream with Inference-Header-Content-Length, or application/x-npy)`,
    );
  return fromHeader(parseJson(raw.body, "request body", jsonLimit), null, model, maxBatch);
}

function parseJson(bytes: Buffer, what: string, jsonLimit: number): Json {
  if (bytes.length > jsonLimit)
    throw new ServeError(
      413,
      `${what} is ${bytes.length} bytes of JSON, more than --json-limit ${jsonLimit}; send images as binary tensor data`,
    );
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    throw bad(`${what} is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(v)) throw bad(`${what} must be a JSON object ($inference_request)`);
  return v;
}

function parseBinary(body: Buffer, hcl: string, model: ModelInfo, maxBatch: number, jsonLimit: number): InferRequest {
  if (!/^\d+$/.test(hcl.trim())) throw bad(`Inference-Header-Content-Length '${hcl}' is not a byte count`);
  const len = Number(hcl);
  if (len > body.length)
    throw bad(`Inference-Header-Content-Length ${len} is larger than the body (${body.length} bytes)`);
  if (len === 0) {
    // Raw binary request: no header, one input, batch of 1.
    const bytes = imageBytes(model);
    if (body.length !== bytes)
      throw bad(
        `raw binary request (Inference-Header-Content-Length: 0) has ${body.length} bytes; one ${model.shape.join("×")} FP32 image is ${bytes}`,
      );
    return { x: floatsLE(body), n: 1, outputs: defaultOutputs(true) };
  }
  return fromHeader(parseJson(body.subarray(0, len), "JSON header", jsonLimit), body.subarray(len), model, maxBatch);
}

const imageBytes = (m: ModelInfo) => m.shape[0] * m.shape[1] * m.shape[2] * 4;

/** Little-endian FP32 bytes → a fresh (aligned) Float32Array. This host is little-endian (x86/ARM). */
function floatsLE(bytes: Uint8Array): Float32Array {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

const defaultOutputs = (binary: boolean): RequestedOutput[] => OUTPUT_NAMES.map((name) => ({ name, binary }));

function fromHeader(req: Json, binary: Buffer | null, model: ModelInfo, maxBatch: number): InferRequest {
  if (req.id !== undefined && typeof req.id !== "string") throw bad(`"id" must be a string, got ${typeof req.id}`);
  if (typeof req.id === "string" && req.id.length > MAX_ID)
    throw bad(`"id" is ${req.id.length} characters, more than ${MAX_ID}`);
  const params = req.parameters ?? {};
  if (!isObject(params)) throw bad(`"parameters" must be an object`);
  const fp = params.key_fingerprint;
  if (fp !== undefined && (typeof fp !== "string" || !/^[0-9a-fA-F]{8,64}$/.test(fp)))
    throw bad(`parameter key_fingerprint must be 8 to 64 hex digits`);
  const binaryAll = params.binary_data_output;
  if (binaryAll !== undefined && typeof binaryAll !== "boolean")
    throw bad("parameter binary_data_output must be a boolean");

  if (!Array.isArray(req.inputs) || req.inputs.length !== 1)
    throw bad(`"inputs" must list exactly one tensor (model '${model.name}' has one input, "input")`);
  const input = req.inputs[0];
  if (!isObject(input)) throw bad(`inputs[0] must be an object ($request_input)`);
  const name = typeof input.name === "string" ? input.name : "input";
  if (input.datatype !== "FP32")
    throw bad(`input '${name}': datatype ${JSON.stringify(input.datatype)}, the model takes "FP32"`);
  const n = checkShape(name, input.shape, model, maxBatch);
  const count = (n * imageBytes(model)) / 4;
  const ip = input.parameters ?? {};
  if (!isObject(ip)) throw bad(`input '${name}': "parameters" must be an object`);

  let x: Float32Array;
  if (ip.binary_data_size !== undefined) {
    const size = ip.binary_data_size;
    if (typeof size !== "number" || !Number.isInteger(size) || size < 0)
      throw bad(`input '${name}': binary_data_size must be a byte count`);
    if (binary === null)
      throw bad(
        `input '${name}' declares binary_data_size but the request has no binary part (Inference-Header-Content-Length missing)`,
      );
    if (input.data !== undefined) throw bad(`input '${name}' has both "data" and binary_data_size`);
    if (size !== count * 4)
      throw bad(
        `input '${name}': binary_data_size ${size} does not match shape [${input.shape}] FP32 (${count * 4} bytes)`,
      );
    if (binary.length < size)
      throw bad(
        `input '${name}': binary data truncated: ${binary.length} bytes after the JSON header, binary_data_size says ${size}`,
      );
    if (binary.length > size)
      throw bad(`${binary.length - size} bytes after input '${name}''s ${size} bytes of binary data`);
    x = floatsLE(binary);
  } else {
    if (binary !== null && binary.length > 0)
      throw bad(`${binary.length} bytes of binary data follow the JSON header but no input declares binary_data_size`);
    if (!Array.isArray(input.data)) throw bad(`input '${name}': "data" must be an array (or use binary_data_size)`);
    x = flatten(name, input.data, count);
  }
  checkFinite(name, x, model);
  return {
    ...(req.id !== undefined ? { id: req.id as string } : {}),
    ...(fp !== undefined ? { keyFingerprint: (fp as string).toLowerCase() } : {}),
    x,
    n,
    outputs: parseOutputs(req.outputs, binaryAll === true, model),
  };
}

function checkShape(name: string, shape: unknown, model: ModelInfo, maxBatch: number): number {
  const want = `[N, ${model.shape.join(", ")}]`;
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d >= 0))
    throw bad(`input '${name}': shape ${JSON.stringify(shape)}, the model takes ${want}`);
  if (shape[1] !== model.shape[0] || shape[2] !== model.shape[1] || shape[3] !== model.shape[2])
    throw bad(`input '${name}': shape [${shape.join(", ")}], the model takes ${want}`);
  const n = shape[0] as number;
  if (n < 1) throw bad(`input '${name}': batch dimension is 0; send at least one image`);
  if (n > maxBatch) throw bad(`input '${name}': ${n} images in one request, more than --max-batch ${maxBatch}`);
  return n;
}

/** Row-major values of a flat or nested `data` array, nested at most as deep as the shape's rank (4). */
function flatten(name: string, data: unknown[], count: number): Float32Array {
  // Checked and counted before anything is allocated: the shape alone must not size a buffer the body does not fill.
  let seen = 0;
  const check = (a: unknown[], depth: number): void => {
    if (depth > 4) throw bad(`input '${name}': "data" is nested deeper than its shape's 4 dimensions`);
    for (const v of a)
      if (Array.isArray(v)) check(v, depth + 1);
      else if (typeof v !== "number")
        throw bad(`input '${name}': element ${seen} is ${String(JSON.stringify(v)).slice(0, 40)}, not a number`);
      else seen++;
  };
  check(data, 1);
  if (seen !== count) throw bad(`input '${name}': "data" has ${seen} elements, its shape needs ${count}`);
  const out = new Float32Array(count);
  let i = 0;
  const fill = (a: unknown[]): void => {
    for (const v of a)
      if (Array.isArray(v)) fill(v);
      else out[i++] = v as number;
  };
  fill(data);
  return out;
}

function checkFinite(name: string, x: Float32Array, model: ModelInfo): void {
  const per = imageBytes(model) / 4;
  for (let i = 0; i < x.length; i++)
    if (!Number.isFinite(x[i]))
      throw bad(`input '${name}': element ${i} (image ${Math.floor(i / per)}) is ${x[i]}; ciphertexts must be finite`);
}

function parseOutputs(outputs: unknown, binaryAll: boolean, model: ModelInfo): RequestedOutput[] {
  if (outputs === undefined) return defaultOutputs(binaryAll);
  if (!Array.isArray(outputs) || outputs.length === 0) throw bad(`"outputs" must be a non-empty array when given`);
  if (outputs.length > MAX_OUTPUTS) throw bad(`"outputs" asks for ${outputs.length} outputs, more than ${MAX_OUTPUTS}`);
  return outputs.map((o, i) => {
    if (!isObject(o) || typeof o.name !== "string") throw bad(`outputs[${i}] must be an object with a "name"`);
    if (!(OUTPUT_NAMES as readonly string[]).includes(o.name))
      throw bad(`unknown output '${o.name}' (model '${model.name}' has ${OUTPUT_NAMES.join(", ")})`);
    const p = o.parameters ?? {};
    if (!isObject(p)) throw bad(`output '${o.name}': "parameters" must be an object`);
    const k = p.classification;
    if (k !== undefined && (typeof k !== "number" || !Number.isInteger(k) || k < 1))
      throw bad(`output '${o.name}': classification must be a positive integer, got ${JSON.stringify(k)}`);
    if (p.binary_data !== undefined && typeof p.binary_data !== "boolean")
      throw bad(`output '${o.name}': binary_data must be a boolean`);
    return {
      name: o.name as OutputName,
      ...(k !== undefined ? { classification: k as number } : {}),
      binary: (p.binary_data as boolean | undefined) ?? binaryAll,
    };
  });
}

function parseNpy(raw: RawRequest, model: ModelInfo, maxBatch: number): InferRequest {
  let arr: ReturnType<typeof readNpy>;
  try {
    arr = readNpy(new Uint8Array(raw.body.buffer, raw.body.byteOffset, raw.body.length), ".npy body");
  } catch (e) {
    if (e instanceof NpyError) throw bad(e.message);
    throw e;
  }
  const [c, h, w] = model.shape;
  const s = arr.shape.length === 3 ? [1, ...arr.shape] : arr.shape;
  if (arr.dtype !== "float32") throw bad(`.npy body: dtype ${arr.dtype}, expected float32 ciphertexts`);
  if (s.length !== 4 || s[1] !== h || s[2] !== w || s[3] !== c)
    throw bad(`.npy body: shape [${arr.shape}], the model takes ${h}×${w}×${c} or N×${h}×${w}×${c} (HWC)`);
  const n = s[0];
  if (n < 1) throw bad(".npy body holds no image");
  if (n > maxBatch) throw bad(`.npy body: ${n} images in one request, more than --max-batch ${maxBatch}`);
  const src = arr.data as Float32Array;
  const x = new Float32Array(src.length);
  const hw = h * w;
  for (let i = 0; i < n; i++)
    for (let p = 0; p < hw; p++) for (let ch = 0; ch < c; ch++) x[(i * c + ch) * hw + p] = src[(i * hw + p) * c + ch];
  checkFinite("input", x, model);
  const id = header(raw.headers, "x-request-id");
  if (id !== undefined && id.length > MAX_ID) throw bad(`X-Request-Id is ${id.length} characters, more than ${MAX_ID}`);
  const fp = header(raw.headers, "x-key-fingerprint");
  if (fp !== undefined && !/^[0-9a-fA-F]{8,64}$/.test(fp)) throw bad("X-Key-Fingerprint must be 8 to 64 hex digits");
  return {
    ...(id !== undefined ? { id } : {}),
    ...(fp !== undefined ? { keyFingerprint: fp.toLowerCase() } : {}),
    x,
    n,
    outputs: defaultOutputs(false),
  };
}

/** 409 unless a declared key fingerprint (full or a prefix of ≥ 8 hex digits) is the model's. */
export function checkKeyFingerprint(req: InferRequest, model: ModelInfo): void {
  if (req.keyFingerprint === undefined) return;
  const mine = model.keyFingerprint;
  if (mine === null)
    throw new ServeError(
      409,
      `key fingerprint mismatch: request ${req.keyFingerprint.slice(0, 16)}, but model '${model.name}' was trained on plain images`,
    );
  if (!mine.startsWith(req.keyFingerprint))
    throw new ServeError(
      409,
      `key fingerprint mismatch: request ${req.keyFingerprint.slice(0, 16)} vs model '${model.name}' ${mine.slice(0, 16)}; encrypt with the key the model was trained for`,
    );
}
