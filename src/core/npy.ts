/**
 * NumPy `.npy` reading and writing (format versions 1.0, 2.0, 3.0 read; 1.0 written, 2.0 when the header needs it).
 * Supported dtypes: float32 (`<f4`), float64 (`<f8`), uint8 (`|u1`), int64 (`<i8`); little-endian, C order.
 * Fortran order, big-endian data, other dtypes, truncated data and malformed headers are refused with an error
 * naming `source`.
 */

export type NpyDtype = "float32" | "float64" | "uint8" | "int64";

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: Float32Array | Float64Array | Uint8Array | BigInt64Array;
}

export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NpyError";
  }
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR: Record<string, NpyDtype> = {
  "<f4": "float32",
  "<f8": "float64",
  "|u1": "uint8",
  "<u1": "uint8",
  ">u1": "uint8",
  "=u1": "uint8",
  "<i8": "int64",
};
const ITEMSIZE: Record<NpyDtype, number> = { float32: 4, float64: 8, uint8: 1, int64: 8 };
const WRITE_DESCR: Record<NpyDtype, string> = { float32: "<f4", float64: "<f8", uint8: "|u1", int64: "<i8" };

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** True when the bytes start with the `.npy` magic string. */
export function isNpy(bytes: Uint8Array): boolean {
  if (bytes.length < 6) return false;
  for (let i = 0; i < 6; i++) if (bytes[i] !== MAGIC[i]) return false;
  return true;
}

interface Header {
  descr: string;
  fortran: boolean;
  shape: number[];
}

function parseHeader(text: string, source: string): Header {
  const t = text.trim();
  if (!t.startsWith("{") || !t.endsWith("}"))
    throw new NpyError(`${source}: malformed .npy header (not a dict literal)`);
  const descrM = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(t);
  const fortranM = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(t);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(t);
  if (!descrM) throw new NpyError(`${source}: malformed .npy header (no 'descr')`);
  if (!fortranM) throw new NpyError(`${source}: malformed .npy header (no 'fortran_order')`);
  if (!shapeM) throw new NpyError(`${source}: malformed .npy header (no 'shape')`);
  const parts = shapeM[1]
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const shape: number[] = [];
  for (const p of parts) {
    const v = /^\d+L?$/.test(p) ? Number.parseInt(p, 10) : Number.NaN;
    if (!Number.isSafeInteger(v)) throw new NpyError(`${source}: malformed .npy header (bad shape entry '${p}')`);
    shape.push(v);
  }
  return { descr: descrM[1], fortran: fortranM[1] === "True", shape };
}

/** Parses a `.npy` file. The returned data is a fresh, aligned copy. */
export function readNpy(bytes: Uint8Array, source = ".npy data"): NpyArray {
  if (!isNpy(bytes)) throw new NpyError(`${source}: not a .npy file (missing \\x93NUMPY magic)`);
  if (bytes.length < 10) throw new NpyError(`${source}: truncated .npy header`);
  const major = bytes[6];
  const minor = bytes[7];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError(`${source}: truncated .npy header`);
    headerLen = dv.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new NpyError(`${source}: unsupported .npy format version ${major}.${minor}`);
  }
  if (headerStart + headerLen > bytes.length) {
    throw new NpyError(
      `${source}: truncated .npy header (declares ${headerLen} bytes, file has ${bytes.length - headerStart})`,
    );
  }
  const headerBytes = bytes.subarray(headerStart, headerStart + headerLen);
  const headerText = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(headerBytes);
  const h = parseHeader(headerText, source);
  if (h.fortran) {
    throw new NpyError(
      `${source}: Fortran-order arrays are not supported (save with np.ascontiguousarray or order='C')`,
    );
  }
  const dtype = DESCR[h.descr];
  if (!dtype) {
    if (h.descr.startsWith(">")) {
      throw new NpyError(
        `${source}: big-endian dtype '${h.descr}' is not supported (convert with arr.astype(arr.dtype.newbyteorder('<')))`,
      );
    }
    throw new NpyError(`${source}: unsupported dtype '${h.descr}' (supported: <f4, <f8, |u1, <i8)`);
  }
  let count = 1;
  for (const d of h.shape) count *= d;
  const dataStart = headerStart + headerLen;
  const need = count * ITEMSIZE[dtype];
  const have = bytes.length - dataStart;
  if (have < need) {
    throw new NpyError(
      `${source}: truncated .npy data (shape (${h.shape.join(", ")}) needs ${need} bytes, file has ${have})`,
    );
  }
  if (have > need) throw new NpyError(`${source}: ${have - need} unexpected trailing bytes after the .npy data`);
  const raw = bytes.slice(dataStart, dataStart + need); // aligned copy
  let data: NpyArray["data"];
  if (dtype === "uint8") data = raw;
  else if (LITTLE_ENDIAN_HOST) {
    if (dtype === "float32") data = new Float32Array(raw.buffer, 0, count);
    else if (dtype === "float64") data = new Float64Array(raw.buffer, 0, count);
    else data = new BigInt64Array(raw.buffer, 0, count);
  } else {
    const rv = new DataView(raw.buffer);
    if (dtype === "float32") data = Float32Array.from({ length: count }, (_, i) => rv.getFloat32(i * 4, true));
    else if (dtype === "float64") data = Float64Array.from({ length: count }, (_, i) => rv.getFloat64(i * 8, true));
    else data = BigInt64Array.from({ length: count }, (_, i) => rv.getBigInt64(i * 8, true));
  }
  return { dtype, shape: h.shape, data };
}

function dtypeOf(data: NpyArray["data"]): NpyDtype {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof BigInt64Array) return "int64";
  throw new NpyError("writeNpy: unsupported typed array");
}

/** Serialises an array as a `.npy` file (little-endian, C order; header padded to a multiple of 64 bytes). */
export function writeNpy(arr: NpyArray): Uint8Array {
  const dtype = arr.dtype;
  if (!(dtype in ITEMSIZE)) throw new NpyError(`writeNpy: unsupported dtype '${String(dtype)}'`);
  if (dtypeOf(arr.data) !== dtype)
    throw new NpyError(`writeNpy: dtype '${dtype}' does not match the data's typed array`);
  let count = 1;
  for (const d of arr.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new NpyError(`writeNpy: bad shape entry ${d}`);
    count *= d;
  }
  if (count !== arr.data.length) {
    throw new NpyError(`writeNpy: shape (${arr.shape.join(", ")}) has ${count} elements, data has ${arr.data.length}`);
  }
  const shapeStr = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(", ")})`;
  let dict = `{'descr': '${WRITE_DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  let major = 1;
  let prefix = 10;
  let total = prefix + dict.length + 1;
  let padded = Math.ceil(total / 64) * 64;
  if (padded - prefix > 65535) {
    major = 2;
    prefix = 12;
    total = prefix + dict.length + 1;
    padded = Math.ceil(total / 64) * 64;
  }
  dict = `${dict}${" ".repeat(padded - total)}\n`;
  const headerLen = dict.length;
  const itemsize = ITEMSIZE[dtype];
  const out = new Uint8Array(prefix + headerLen + count * itemsize);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, headerLen, true);
  else dv.setUint32(8, headerLen, true);
  for (let i = 0; i < headerLen; i++) out[prefix + i] = dict.charCodeAt(i);
  const off = prefix + headerLen;
  if (LITTLE_ENDIAN_HOST || dtype === "uint8") {
    const d = arr.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, count * itemsize), off);
  } else {
    for (let i = 0; i < count; i++) {
      if (dtype === "float32") dv.setFloat32(off + i * 4, (arr.data as Float32Array)[i], true);
      else if (dtype === "float64") dv.setFloat64(off + i * 8, (arr.data as Float64Array)[i], true);
      else dv.setBigInt64(off + i * 8, (arr.data as BigInt64Array)[i], true);
    }
  }
  return out;
}
