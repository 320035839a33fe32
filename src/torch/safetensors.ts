// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}),
// then the raw little-endian tensor bytes. Writes follow the reference implementation: tensors ordered
// by dtype (widest first) then name, header padded with spaces to a multiple of 8 bytes.
import { randomBytes } from "node:crypto";
import { open, readFile, rename, unlink } from "node:fs/promises";
import { endianness } from "node:os";
import { basename, dirname, join } from "node:path";
import type { DType } from "./dtype.ts";
import { dtypeCode } from "./dtype.ts";
import { native } from "./native.ts";
import { Tensor } from "./tensor.ts";

/** safetensors dtype tag <-> ercnn dtype, with the tag's rank in the reference's Dtype enum. */
const TAGS: Record<string, { dtype: DType; size: number; rank: number }> = {
  BOOL: { dtype: "bool", size: 1, rank: 0 },
  U8: { dtype: "uint8", size: 1, rank: 4 },
  I8: { dtype: "int8", size: 1, rank: 5 },
  I16: { dtype: "int16", size: 2, rank: 9 },
  F16: { dtype: "float16", size: 2, rank: 11 },
  BF16: { dtype: "bfloat16", size: 2, rank: 12 },
  I32: { dtype: "int32", size: 4, rank: 13 },
  F32: { dtype: "float32", size: 4, rank: 15 },
  F64: { dtype: "float64", size: 8, rank: 17 },
  I64: { dtype: "int64", size: 8, rank: 18 },
};
const TAG_OF = new Map<DType, string>(Object.entries(TAGS).map(([tag, v]) => [v.dtype, tag]));

/** A malformed safetensors file or buffer; `source` names it (the file path, or "<buffer>"). */
export class SafetensorsError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`safetensors ${source}: ${message}`);
    this.name = "SafetensorsError";
  }
}

export type TensorMap = Map<string, Tensor> | Record<string, Tensor>;

export interface SafetensorsContents {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

if (endianness() !== "LE") throw new Error("safetensors: big-endian hosts are not supported");

const MAX_HEADER = 100_000_000; // as the reference implementation

function entriesOf(tensors: TensorMap): [string, Tensor][] {
  return tensors instanceof Map ? [...tensors] : Object.entries(tensors);
}

/** Serialises tensors (any device; copied to the CPU) and an optional string metadata map. */
export function encodeSafetensors(tensors: TensorMap, metadata?: Record<string, string>): Buffer {
  const items = entriesOf(tensors).map(([name, t]) => {
    if (name === "__metadata__") throw new SafetensorsError("<buffer>", "'__metadata__' cannot be a tensor name");
    const tag = TAG_OF.get(t.dtype);
    if (!tag) throw new SafetensorsError("<buffer>", `tensor '${name}': dtype ${t.dtype} has no safetensors tag`);
    return { name, tag, tensor: t, key: Buffer.from(name, "utf8") };
  });
  items.sort((a, b) => TAGS[b.tag].rank - TAGS[a.tag].rank || Buffer.compare(a.key, b.key));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== "string") throw new SafetensorsError("<buffer>", `metadata '${k}' must be a string`);
    header.__metadata__ = metadata;
  }
  const datas: Uint8Array[] = [];
  let offset = 0;
  for (const it of items) {
    const bytes = new Uint8Array(it.tensor.native.toBuffer());
    header[it.name] = { dtype: it.tag, shape: it.tensor.shape, data_offsets: [offset, offset + bytes.length] };
    datas.push(bytes);
    offset += bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.allocUnsafe(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let at = 8 + json.length;
  for (const d of datas) {
    out.set(d, at);
    at += d.length;
  }
  return out;
}

interface Entry {
  name: string;
  tag: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Parses and validates a safetensors buffer; `source` names it in errors. Tensors are CPU copies. */
export function decodeSafetensors(buf: Uint8Array, source = "<buffer>"): SafetensorsContents {
  const fail = (msg: string): never => {
    throw new SafetensorsError(source, msg);
  };
  if (buf.length < 8) fail(`truncated: ${buf.length} bytes, the 8-byte header length is missing`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(buf.length - 8))
    fail(`header length ${n64} runs past the end of the file (${buf.length} bytes): truncated or not safetensors`);
  const n = Number(n64);
  if (n > MAX_HEADER) fail(`header length ${n} is too large`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(8, 8 + n)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) fail("header is not a JSON object");
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (info === null || typeof info !== "object" || Array.isArray(info)) fail("__metadata__ is not an object");
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__['${k}'] is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const o = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (o === null || typeof o !== "object") fail(`tensor '${name}': entry is not an object`);
    const tag = o.dtype;
    if (typeof tag !== "string" || !(tag in TAGS)) fail(`tensor '${name}': unknown dtype ${JSON.stringify(tag)}`);
    const shape = o.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(`tensor '${name}': bad shape ${JSON.stringify(shape)}`);
    const offs = o.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(`tensor '${name}': bad data_offsets ${JSON.stringify(offs)}`);
    const [begin, end] = offs as number[];
    if (end < begin) fail(`tensor '${name}': data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLen)
      fail(`tensor '${name}': data_offsets [${begin}, ${end}] out of range (data section has ${dataLen} bytes)`);
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    const want = numel * TAGS[tag as string].size;
    if (want !== end - begin)
      fail(`tensor '${name}': shape [${shape}] of ${tag} needs ${want} bytes but data_offsets span ${end - begin}`);
    entries.push({ name, tag: tag as string, shape: shape as number[], begin, end });
  }
  const byStart = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < byStart.length; i++) {
    const p = byStart[i - 1];
    const c = byStart[i];
    if (c.begin < p.end)
      fail(`tensors '${p.name}' [${p.begin}, ${p.end}] and '${c.name}' [${c.begin}, ${c.end}] overlap`);
  }
  const tensors = new Map<string, Tensor>();
  try {
    for (const e of entries) {
      const bytes = buf.subarray(dataStart + e.begin, dataStart + e.end);
      tensors.set(e.name, new Tensor(native.fromBuffer(bytes, e.shape, dtypeCode(TAGS[e.tag].dtype))));
    }
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  return { tensors, metadata };
}

/**
 * Writes a .safetensors file atomically (temporary file in the same folder, fsync, rename). The tensors'
 * bytes are copied synchronously, before this returns its promise: they may be freed right after the call.
 */
export async function saveSafetensors(
  path: string,
  tensors: TensorMap,
  metadata?: Record<string, string>,
): Promise<void> {
  const data = encodeSafetensors(tensors, metadata);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

/** Reads a .safetensors file (tensors on the CPU; errors name the file). */
export async function loadSafetensors(path: string): Promise<SafetensorsContents> {
  return decodeSafetensors(await readFile(path), path);
}
