// Element types, named as in PyTorch; codes are c10::ScalarType values.
export type DType =
  | "uint8"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "float16"
  | "float32"
  | "float64"
  | "bool"
  | "bfloat16";

const CODES: Record<DType, number> = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
};
const NAMES = new Map<number, DType>(Object.entries(CODES).map(([k, v]) => [v, k as DType]));

export function dtypeCode(d: DType): number {
  const c = CODES[d];
  if (c === undefined) throw new TypeError(`unknown dtype '${d}'`);
  return c;
}

export function dtypeName(code: number): DType {
  const n = NAMES.get(code);
  if (!n) throw new TypeError(`unsupported dtype code ${code}`);
  return n;
}

export type TypedArray = Float32Array | Float64Array | Uint8Array | Int8Array | Int16Array | Int32Array | BigInt64Array;

/** The typed array that holds elements of `d` (bool as Uint8Array, float16/bfloat16 as raw Uint16Array bits). */
export function arrayFor(d: DType, buf: ArrayBuffer): TypedArray | Uint16Array {
  switch (d) {
    case "float32":
      return new Float32Array(buf);
    case "float64":
      return new Float64Array(buf);
    case "uint8":
    case "bool":
      return new Uint8Array(buf);
    case "int8":
      return new Int8Array(buf);
    case "int16":
      return new Int16Array(buf);
    case "int32":
      return new Int32Array(buf);
    case "int64":
      return new BigInt64Array(buf);
    case "float16":
    case "bfloat16":
      return new Uint16Array(buf);
  }
}

export function dtypeOfArray(a: ArrayBufferView): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Uint8Array) return "uint8";
  if (a instanceof Int8Array) return "int8";
  if (a instanceof Int16Array) return "int16";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof BigInt64Array) return "int64";
  throw new TypeError(`no dtype for ${a.constructor.name}`);
}

export function isFloating(d: DType): boolean {
  return d === "float32" || d === "float64" || d === "float16" || d === "bfloat16";
}
