// A reader for PyTorch's `torch.save` files (the zip format, PyTorch ≥ 1.6): enough of zip and of the pickle
// protocol (0–5 opcodes that state dicts use) to rebuild state dicts: nested dicts/OrderedDicts/lists of tensors,
// `torch._utils._rebuild_tensor_v2` / `_rebuild_parameter`, storages by key in `<archive>/data/<key>`,
// little-endian. Nothing from the file is executed: only a fixed set of globals is understood, anything else is
// an error naming it. Zip entries may be stored (what torch.save writes) or deflated (node:zlib).
import { readFile } from "node:fs/promises";
import { inflateRawSync } from "node:zlib";
import { type DType, dtypeCode } from "../torch/dtype.ts";
import { aten, type Tensor } from "../torch/index.ts";
import { native } from "../torch/native.ts";
import { Tensor as TensorClass } from "../torch/tensor.ts";

export class PthError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
    this.name = "PthError";
  }
}

// ---------------------------------------------------------------- zip

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** Lists a zip archive's entries (central directory; zip64 sizes/offsets understood). */
export function readZipDirectory(buf: Uint8Array, source = "<buffer>"): Map<string, ZipEntry> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--)
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw new PthError(source, "not a zip archive (no end-of-central-directory record)");
  let count = dv.getUint16(eocd + 10, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || count === 0xffff) {
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) throw new PthError(source, "bad zip64 locator");
    const z = Number(dv.getBigUint64(loc + 8, true));
    if (dv.getUint32(z, true) !== 0x06064b50) throw new PthError(source, "bad zip64 end record");
    count = Number(dv.getBigUint64(z + 32, true));
    cdOffset = Number(dv.getBigUint64(z + 48, true));
  }
  const out = new Map<string, ZipEntry>();
  let p = cdOffset;
  const dec = new TextDecoder();
  for (let e = 0; e < count; e++) {
    if (dv.getUint32(p, true) !== 0x02014b50) throw new PthError(source, `bad zip central directory entry #${e}`);
    const method = dv.getUint16(p + 10, true);
    let compressedSize = dv.getUint32(p + 20, true);
    let size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let localOffset = dv.getUint32(p + 42, true);
    const name = dec.decode(buf.subarray(p + 46, p + 46 + nameLen));
    // zip64 extended information extra field
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = dv.getUint16(x, true);
      const len = dv.getUint16(x + 2, true);
      if (id === 0x0001) {
        let q = x + 4;
        if (size === 0xffffffff) {
          size = Number(dv.getBigUint64(q, true));
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = Number(dv.getBigUint64(q, true));
          q += 8;
        }
        if (localOffset === 0xffffffff) localOffset = Number(dv.getBigUint64(q, true));
      }
      x += 4 + len;
    }
    out.set(name, { name, method, compressedSize, size, localOffset });
    p = xEnd + commentLen;
  }
  return out;
}

/** The bytes of one zip entry (a view for stored entries). */
export function readZipEntry(buf: Uint8Array, e: ZipEntry, source = "<buffer>"): Uint8Array {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(e.localOffset, true) !== 0x04034b50) throw new PthError(source, `bad local header for ${e.name}`);
  const start = e.localOffset + 30 + dv.getUint16(e.localOffset + 26, true) + dv.getUint16(e.localOffset + 28, true);
  const raw = buf.subarray(start, start + e.compressedSize);
  if (raw.length !== e.compressedSize) throw new PthError(source, `truncated zip entry ${e.name}`);
  if (e.method === 0) return raw;
  if (e.method === 8) return new Uint8Array(inflateRawSync(raw));
  throw new PthError(source, `zip entry ${e.name}: unsupported compression method ${e.method}`);
}

// ---------------------------------------------------------------- pickle

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
};
const DTYPE_SIZE: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

class Global {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get full(): string {
    return `${this.module}.${this.name}`;
  }
}
class StorageRef {
  constructor(
    readonly dtype: DType,
    readonly key: string,
    readonly numel: number,
  ) {}
}
/** A dict from the pickle (OrderedDict or dict): a Map keeping insertion order. */
export class PickleDict extends Map<unknown, unknown> {}

const asStrided = aten<Tensor>("aten::as_strided");

export interface PickleContext {
  source: string;
  loadStorage(ref: StorageRef): Tensor;
}

/** Unpickles `data`; only state-dict globals are allowed. Tensors are created through ctx.loadStorage. */
export function unpickle(data: Uint8Array, ctx: PickleContext): unknown {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const dec = new TextDecoder();
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let p = 0;
  const fail = (m: string): never => {
    throw new PthError(ctx.source, `pickle: ${m} (at byte ${p})`);
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail("no MARK");
    return stack.splice(m as number);
  };
  const readLine = (): string => {
    const e = data.indexOf(0x0a, p);
    const s = dec.decode(data.subarray(p, e));
    p = e + 1;
    return s;
  };
  const str = (n: number): string => {
    const s = dec.decode(data.subarray(p, p + n));
    p += n;
    return s;
  };
  const call = (fn: unknown, args: unknown[]): unknown => {
    if (!(fn instanceof Global)) return fail(`cannot call ${String(fn)}`);
    switch (fn.full) {
      case "collections.OrderedDict":
        return new PickleDict();
      case "torch._utils._rebuild_tensor_v2":
      case "torch._utils._rebuild_tensor": {
        const [storage, offset, size, stride] = args as [Tensor, number, number[], number[]];
        const v = asStrided(storage, size, stride, offset);
        const t = v.contiguous();
        v.dispose();
        return t;
      }
      case "torch._utils._rebuild_parameter":
      case "torch._utils._rebuild_parameter_with_state":
        return args[0];
      case "torch.nn.modules.module._IncompatibleKeys":
        return null;
      case "builtins.set":
      case "__builtin__.set":
        return new Set((args[0] as unknown[]) ?? []);
      default:
        return fail(`global ${fn.full} is not allowed in a state dict`);
    }
  };
  const persistent = (pid: unknown): unknown => {
    const t = pid as unknown[];
    if (!Array.isArray(t) || t[0] !== "storage") return fail(`unknown persistent id ${JSON.stringify(pid)}`);
    const type = t[1] as Global;
    let dtype: DType | undefined = type instanceof Global ? STORAGE_DTYPES[type.name] : undefined;
    if (!dtype && type instanceof Global && type.name === "UntypedStorage") dtype = "uint8";
    if (!dtype) return fail(`unknown storage type ${type instanceof Global ? type.full : String(type)}`);
    const ref = new StorageRef(dtype, String(t[2]), Number(t[4]));
    return ctx.loadStorage(ref);
  };
  for (;;) {
    if (p >= data.length) fail("ran off the end without STOP");
    const op = data[p++];
    switch (op) {
      case 0x80: // PROTO
        p++;
        break;
      case 0x95: // FRAME
        p += 8;
        break;
      case 0x2e: // STOP
        return stack.pop();
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PickleDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88:
        stack.push(true);
        break;
      case 0x89:
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(data[p++]);
        break;
      case 0x4d: // BININT2
        stack.push(dv.getUint16(p, true));
        p += 2;
        break;
      case 0x4a: // BININT
        stack.push(dv.getInt32(p, true));
        p += 4;
        break;
      case 0x8a: {
        // LONG1
        const n = data[p++];
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[p + i]);
        if (n > 0 && data[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(Number(v));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(dv.getFloat64(p, false));
        p += 8;
        break;
      case 0x58: {
        // BINUNICODE
        const n = dv.getUint32(p, true);
        p += 4;
        stack.push(str(n));
        break;
      }
      case 0x8c: {
        // SHORT_BINUNICODE
        const n = data[p++];
        stack.push(str(n));
        break;
      }
      case 0x8d: {
        // BINUNICODE8
        const n = Number(dv.getBigUint64(p, true));
        p += 8;
        stack.push(str(n));
        break;
      }
      case 0x54: {
        // BINSTRING
        const n = dv.getInt32(p, true);
        p += 4;
        stack.push(str(n));
        break;
      }
      case 0x55: {
        // SHORT_BINSTRING
        const n = data[p++];
        stack.push(str(n));
        break;
      }
      case 0x42: {
        // BINBYTES
        const n = dv.getUint32(p, true);
        p += 4;
        stack.push(data.slice(p, p + n));
        p += n;
        break;
      }
      case 0x43: {
        // SHORT_BINBYTES
        const n = data[p++];
        stack.push(data.slice(p, p + n));
        p += n;
        break;
      }
      case 0x63: {
        // GLOBAL
        const mod = readLine();
        const name = readLine();
        stack.push(new Global(mod, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = stack.pop() as string;
        const mod = stack.pop() as string;
        stack.push(new Global(mod, name));
        break;
      }
      case 0x71: // BINPUT
        memo.set(data[p++], stack[stack.length - 1]);
        break;
      case 0x72: // LONG_BINPUT
        memo.set(dv.getUint32(p, true), stack[stack.length - 1]);
        p += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, stack[stack.length - 1]);
        break;
      case 0x68: // BINGET
        stack.push(memo.get(data[p++]));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memo.get(dv.getUint32(p, true)));
        p += 4;
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85:
        stack.push([stack.pop()]);
        break;
      case 0x86: {
        const b = stack.pop();
        const a = stack.pop();
        stack.push([a, b]);
        break;
      }
      case 0x87: {
        const c = stack.pop();
        const b = stack.pop();
        const a = stack.pop();
        stack.push([a, b, c]);
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d = new PickleDict();
        for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = stack.pop();
        (stack[stack.length - 1] as unknown[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        (stack[stack.length - 1] as unknown[]).push(...items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = stack.pop();
        const k = stack.pop();
        (stack[stack.length - 1] as Map<unknown, unknown>).set(k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const d = stack[stack.length - 1] as Map<unknown, unknown>;
        for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
        break;
      }
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = stack[stack.length - 1] as Set<unknown>;
        for (const x of items) s.add(x);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = stack.pop() as unknown[];
        const fn = stack.pop();
        stack.push(call(fn, args));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = stack.pop() as unknown[];
        const cls = stack.pop();
        stack.push(call(cls, args));
        break;
      }
      case 0x62: // BUILD: state set on an object (OrderedDict._metadata and the like): ignored
        stack.pop();
        break;
      case 0x51: // BINPERSID
        stack.push(persistent(stack.pop()));
        break;
      case 0x30: // POP
        stack.pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(stack[stack.length - 1]);
        break;
      default:
        fail(`unsupported opcode 0x${op.toString(16)}`);
    }
  }
}

// ---------------------------------------------------------------- torch.save files

/** Reads a torch.save zip file and returns the unpickled object (tensors as ercnn Tensors). */
export function decodePth(buf: Uint8Array, source = "<buffer>"): unknown {
  if (buf[0] !== 0x50 || buf[1] !== 0x4b)
    throw new PthError(
      source,
      "not a zip-format torch.save file (legacy pre-1.6 tar/pickle files are not supported: re-save with torch.save)",
    );
  const dir = readZipDirectory(buf, source);
  const pkl = [...dir.keys()].find((n) => n.endsWith("data.pkl") && n.split("/").length === 2);
  if (!pkl) throw new PthError(source, "no <archive>/data.pkl in the zip");
  const prefix = pkl.slice(0, -"data.pkl".length);
  const bo = dir.get(`${prefix}byteorder`);
  if (bo && new TextDecoder().decode(readZipEntry(buf, bo, source)).trim() !== "little")
    throw new PthError(source, "big-endian torch.save files are not supported");
  const storages = new Map<string, Tensor>();
  const ctx: PickleContext = {
    source,
    loadStorage(ref) {
      const hit = storages.get(ref.key);
      if (hit) return hit;
      const e = dir.get(`${prefix}data/${ref.key}`);
      if (!e) throw new PthError(source, `storage ${ref.key} missing from the archive`);
      const bytes = readZipEntry(buf, e, source);
      const size = DTYPE_SIZE[ref.dtype];
      const n = Math.floor(bytes.length / size);
      const t = new TensorClass(native.fromBuffer(bytes.subarray(0, n * size), [n], dtypeCode(ref.dtype)));
      storages.set(ref.key, t);
      return t;
    },
  };
  try {
    return unpickle(readZipEntry(buf, dir.get(pkl)!, source), ctx);
  } finally {
    for (const t of storages.values()) t.dispose();
  }
}

/**
 * Flattens an unpickled state dict into name → Tensor. Accepts a bare state dict or the usual wrappers
 * ({"state_dict": ...}, {"model": ...}, {"model_state": ...}); nested dicts join keys with ".".
 */
export function toStateDict(obj: unknown, source = "<buffer>"): Map<string, Tensor> {
  let root = obj;
  if (root instanceof Map) {
    for (const k of ["state_dict", "model", "model_state", "model_state_dict", "module"])
      if (root.has(k) && root.get(k) instanceof Map) {
        root = root.get(k);
        break;
      }
  }
  if (!(root instanceof Map)) throw new PthError(source, "the file does not hold a state dict (a dict of tensors)");
  const out = new Map<string, Tensor>();
  const walk = (m: Map<unknown, unknown>, pre: string) => {
    for (const [k, v] of m) {
      const name = pre + String(k);
      if (v instanceof TensorClass) out.set(name, v);
      else if (v instanceof Map) walk(v, `${name}.`);
    }
  };
  walk(root as Map<unknown, unknown>, "");
  return out;
}

/** Loads a torch.save'd state dict from a `.pth`/`.pt` file. */
export async function loadPth(path: string): Promise<Map<string, Tensor>> {
  return toStateDict(decodePth(await readFile(path), path), path);
}
