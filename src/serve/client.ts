/**
 * A small Open Inference Protocol client for ercnn models (what `ercnn classify` uses): reads a model's metadata
 * (ercnn's facts from its `parameters`) and sends ciphertexts with the binary tensor data extension, asking for the
 * classification extension's top-k of the probabilities. Uses the platform's fetch; never sends a key.
 */

export interface RemoteModel {
  name: string;
  shape: [number, number, number];
  blockSize: number;
  keyMode: string;
  keyFingerprint: string;
  classNames: string[];
  decode: { resize?: number; crop?: number };
  maxBatch: number;
}

export class ClientError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ClientError";
  }
}

async function answer(res: Response, what: string): Promise<unknown> {
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: reported below.
  }
  if (!res.ok) {
    const msg = (body as { error?: string } | null)?.error ?? text.slice(0, 200);
    throw new ClientError(`${what}: HTTP ${res.status}: ${msg}`, res.status);
  }
  if (body === null) throw new ClientError(`${what}: the answer is not JSON`);
  return body;
}

const base = (server: string) => server.replace(/\/+$/, "");

/** How long one request may take before the client gives up (a server that stalls must not hold the client). */
export const DEFAULT_CLIENT_TIMEOUT_MS = 120_000;

/** fetch with a deadline on the whole exchange (connect, send, answer); errors name the URL. */
async function call(url: string, init: RequestInit, timeoutMs: number): Promise<unknown> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    return await answer(res, url);
  } catch (e) {
    if (e instanceof ClientError) throw e;
    const err = e as Error & { cause?: Error };
    if (err.name === "TimeoutError") throw new ClientError(`${url}: no answer within ${timeoutMs} ms`);
    throw new ClientError(`${url}: cannot connect (${err.cause?.message ?? err.message})`);
  }
}

export async function fetchModel(
  server: string,
  name: string,
  timeoutMs = DEFAULT_CLIENT_TIMEOUT_MS,
): Promise<RemoteModel> {
  const url = `${base(server)}/v2/models/${encodeURIComponent(name)}`;
  const m = (await call(url, {}, timeoutMs)) as { name: string; parameters?: Record<string, string | number> };
  const p = m.parameters;
  if (!p || typeof p.block_size !== "number")
    throw new ClientError(`${url}: not an ercnn model (no block_size parameter)`);
  return {
    name: m.name,
    shape: [Number(p.input_channels), Number(p.input_height), Number(p.input_width)],
    blockSize: p.block_size,
    keyMode: String(p.key_mode),
    keyFingerprint: String(p.key_fingerprint),
    classNames: JSON.parse(String(p.class_names)),
    decode: JSON.parse(String(p.decode ?? "{}")),
    maxBatch: Number(p.max_batch_size),
  };
}

/** The binary extension's body: the JSON header, then the N×C×H×W float32 values (little-endian). */
export function binaryInferBody(
  x: Float32Array,
  shape: number[],
  o: { id?: string; keyFingerprint?: string; outputs?: unknown[] } = {},
): { body: Uint8Array<ArrayBuffer>; headers: Record<string, string> } {
  const data = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  const header = Buffer.from(
    JSON.stringify({
      ...(o.id !== undefined ? { id: o.id } : {}),
      ...(o.keyFingerprint ? { parameters: { key_fingerprint: o.keyFingerprint } } : {}),
      inputs: [{ name: "input", shape, datatype: "FP32", parameters: { binary_data_size: data.length } }],
      ...(o.outputs ? { outputs: o.outputs } : {}),
    }),
    "utf8",
  );
  const body = new Uint8Array(header.length + data.length);
  body.set(header);
  body.set(data, header.length);
  return {
    body,
    headers: { "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": String(header.length) },
  };
}

export interface Prediction {
  label: string;
  index: number;
  probability: number;
}

/** Top-k classes of each of the n images in x (probabilities, via the classification extension). */
export async function classifyRemote(
  server: string,
  model: RemoteModel,
  x: Float32Array,
  n: number,
  top: number,
  id?: string,
  timeoutMs = DEFAULT_CLIENT_TIMEOUT_MS,
): Promise<Prediction[][]> {
  const { body, headers } = binaryInferBody(x, [n, ...model.shape], {
    id,
    keyFingerprint: model.keyFingerprint || undefined,
    outputs: [{ name: "probabilities", parameters: { classification: top } }],
  });
  const url = `${base(server)}/v2/models/${encodeURIComponent(model.name)}/infer`;
  const r = (await call(url, { method: "POST", headers, body }, timeoutMs)) as {
    outputs?: { shape?: number[]; data?: unknown[] }[];
  };
  const out = r.outputs?.[0];
  const k = out?.shape?.[1] ?? 0;
  if (!out || out.shape?.[0] !== n || !(k >= 1) || !Array.isArray(out.data) || out.data.length !== n * k)
    throw new ClientError(`${url}: the answer is not a [${n}, k] classification output`);
  return Array.from({ length: n }, (_, i) =>
    (out.data as unknown[]).slice(i * k, (i + 1) * k).map((s) => {
      const [value, index, ...label] = String(s).split(":");
      return { probability: Number(value), index: Number(index), label: label.join(":") };
    }),
  );
}
