/**
 * Building the OIP inference response ("Inference Response JSON Object") from a request's logits: the requested
 * outputs (logits, probabilities = softmax of the logits), the classification extension's top-k strings
 * ("<value>:<index>:<label>", shape [N, k], datatype BYTES, highest first, extension_classification.md) and the
 * binary tensor data extension's body (JSON header, then each binary output's little-endian bytes in output order,
 * `Inference-Header-Content-Length` giving the header's length).
 */
import type { RequestedOutput } from "./infer-request.ts";

/** Row-wise softmax in float64, rounded to float32. */
export function softmax(logits: Float32Array, n: number, k: number): Float32Array {
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < k; j++) m = Math.max(m, logits[i * k + j]);
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.exp(logits[i * k + j] - m);
    for (let j = 0; j < k; j++) out[i * k + j] = Math.exp(logits[i * k + j] - m) / s;
  }
  return out;
}

/** The shortest decimal that reads back as the same float32 (what Triton's "3.3" looks like for FP32). */
export function float32String(v: number): string {
  for (let p = 1; p <= 9; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return String(s);
  }
  return String(v);
}

/** Top-k of each row as "value:index:label" (ties: lower index first). */
export function classify(values: Float32Array, n: number, k: number, top: number, labels: string[]): string[] {
  const t = Math.min(top, k);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const idx = Array.from({ length: k }, (_, j) => j).sort((a, b) => values[i * k + b] - values[i * k + a] || a - b);
    for (const j of idx.slice(0, t)) out.push(`${float32String(values[i * k + j])}:${j}:${labels[j]}`);
  }
  return out;
}

export interface ResponseBody {
  body: string | Buffer;
  contentType: string;
  headers: Record<string, string>;
}

export function inferResponse(o: {
  modelName: string;
  id?: string;
  outputs: RequestedOutput[];
  logits: Float32Array;
  n: number;
  labels: string[];
}): ResponseBody {
  const k = o.logits.length / o.n;
  let probs: Float32Array | null = null;
  const values = (name: RequestedOutput["name"]) => {
    if (name === "logits") return o.logits;
    probs ??= softmax(o.logits, o.n, k);
    return probs;
  };
  const binaries: Buffer[] = [];
  const outputs = o.outputs.map((r) => {
    const v = values(r.name);
    if (r.classification !== undefined) {
      const t = Math.min(r.classification, k);
      return { name: r.name, shape: [o.n, t], datatype: "BYTES", data: classify(v, o.n, k, t, o.labels) };
    }
    if (r.binary) {
      const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      binaries.push(b);
      return { name: r.name, shape: [o.n, k], datatype: "FP32", parameters: { binary_data_size: b.length } };
    }
    return { name: r.name, shape: [o.n, k], datatype: "FP32", data: Array.from(v) };
  });
  const json = JSON.stringify({ model_name: o.modelName, ...(o.id !== undefined ? { id: o.id } : {}), outputs });
  if (binaries.length === 0) return { body: json, contentType: "application/json", headers: {} };
  const head = Buffer.from(json, "utf8");
  return {
    body: Buffer.concat([head, ...binaries]),
    contentType: "application/octet-stream",
    headers: { "Inference-Header-Content-Length": String(head.length) },
  };
}
