/**
 * A small Open Inference Protocol (KServe v2) client for the page: server metadata, the repository index, model
 * metadata with ercnn's `parameters` (docs/serve.md), and binary-tensor inference with the classification
 * extension. Only ciphertexts and a key fingerprint ever go into a request.
 */
import type { DecodeOptions } from "./preprocess.ts";

export interface ModelEntry {
  name: string;
  state: string;
  reason: string;
}

export interface ModelInfo {
  name: string;
  inputName: string;
  /** [C, H, W] of one image. */
  shape: [number, number, number];
  blockSize: number;
  keyMode: string;
  keyFingerprint: string;
  classNames: string[];
  normalization: { mean: number[]; std: number[] } | null;
  decode: DecodeOptions;
  maxBatch: number;
  probabilities: string;
}

export class ServerError extends Error {
  constructor(
    message: string,
    readonly status = 0,
  ) {
    super(message);
    this.name = "ServerError";
  }
}

function url(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}${path}`;
}

async function call<T>(base: string, path: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url(base, path), init);
  } catch (e) {
    throw new ServerError(
      `cannot reach ${url(base, path)} (${(e as Error).message}); is ercnn serve running there, with --cors for this page's origin?`,
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ServerError(`${path}: the server answered ${res.status} with something that is not JSON`, res.status);
  }
  if (!res.ok) {
    const msg = (body as { error?: string }).error ?? text.slice(0, 200);
    throw new ServerError(`${path}: ${res.status} ${msg}`, res.status);
  }
  return body as T;
}

export function serverMetadata(base: string) {
  return call<{ name: string; version: string; extensions: string[] }>(base, "/v2");
}

export function repositoryIndex(base: string) {
  return call<ModelEntry[]>(base, "/v2/repository/index", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{}",
  });
}

function jsonParam<T>(p: Record<string, unknown>, name: string, fallback: T): T {
  const v = p[name];
  if (typeof v !== "string") return fallback;
  try {
    return JSON.parse(v) as T;
  } catch {
    throw new ServerError(`model metadata: parameter ${name} is not valid JSON`);
  }
}

export async function modelInfo(base: string, name: string): Promise<ModelInfo> {
  const m = await call<{
    name: string;
    inputs: { name: string; datatype: string; shape: number[] }[];
    outputs: { name: string }[];
    parameters?: Record<string, unknown>;
  }>(base, `/v2/models/${encodeURIComponent(name)}`);
  const input = m.inputs?.[0];
  if (input?.datatype !== "FP32" || input.shape.length !== 4)
    throw new ServerError(`model ${name}: expected one FP32 input of shape [N, C, H, W]`);
  const p = m.parameters ?? {};
  const [, c, h, w] = input.shape;
  const k = p.num_classes as number;
  const names = jsonParam<string[]>(
    p,
    "class_names",
    Array.from({ length: k }, (_, i) => String(i)),
  );
  return {
    name: m.name,
    inputName: input.name,
    shape: [c, h, w],
    blockSize: Number(p.block_size),
    keyMode: String(p.key_mode ?? "unknown"),
    keyFingerprint: String(p.key_fingerprint ?? ""),
    classNames: names,
    normalization: jsonParam(p, "normalization", null),
    decode: jsonParam<DecodeOptions>(p, "decode", {}),
    maxBatch: Number(p.max_batch_size) || 16,
    probabilities: m.outputs.some((o) => o.name === "probabilities") ? "probabilities" : m.outputs[0].name,
  };
}

/** The binary-extension request body: JSON header then the FP32 tensor, little-endian (docs/serve.md). */
export function binaryInferBody(
  info: ModelInfo,
  x: Float32Array,
  n: number,
  opts: { id: string; fingerprint: string; topK: number },
): { body: Uint8Array; headerLength: number } {
  const header = {
    id: opts.id,
    parameters: { key_fingerprint: opts.fingerprint },
    inputs: [
      {
        name: info.inputName,
        shape: [n, ...info.shape],
        datatype: "FP32",
        parameters: { binary_data_size: x.byteLength },
      },
    ],
    outputs: [{ name: info.probabilities, parameters: { classification: opts.topK } }],
  };
  const head = new TextEncoder().encode(JSON.stringify(header));
  const body = new Uint8Array(head.length + x.byteLength);
  body.set(head, 0);
  const dv = new DataView(body.buffer, head.length);
  for (let i = 0; i < x.length; i++) dv.setFloat32(i * 4, x[i], true);
  return { body, headerLength: head.length };
}

export interface TopClass {
  probability: number;
  index: number;
  label: string;
}

/** Sends N ciphertexts; returns top-k classes per image (classification extension strings parsed). */
export async function classify(
  base: string,
  info: ModelInfo,
  x: Float32Array,
  n: number,
  opts: { id: string; fingerprint: string; topK: number },
): Promise<TopClass[][]> {
  const { body, headerLength } = binaryInferBody(info, x, n, opts);
  const res = await call<{ id?: string; outputs: { name: string; shape: number[]; data: string[] }[] }>(
    base,
    `/v2/models/${encodeURIComponent(info.name)}/infer`,
    {
      method: "POST",
      headers: {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": String(headerLength),
      },
      body: body as BodyInit,
    },
  );
  const out = res.outputs.find((o) => o.name === info.probabilities) ?? res.outputs[0];
  const k = out.shape[1];
  const rows: TopClass[][] = [];
  for (let i = 0; i < n; i++) {
    rows.push(
      out.data.slice(i * k, (i + 1) * k).map((s) => {
        const a = s.indexOf(":");
        const b = s.indexOf(":", a + 1);
        return { probability: Number(s.slice(0, a)), index: Number(s.slice(a + 1, b)), label: s.slice(b + 1) };
      }),
    );
  }
  return rows;
}
