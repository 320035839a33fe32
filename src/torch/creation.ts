// Tensor factories, named as in PyTorch.
import { type DType, dtypeCode, dtypeOfArray } from "./dtype.ts";
import { native } from "./native.ts";
import { aten, type Shape, Tensor } from "./tensor.ts";

export interface Options {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

const Z = {
  zeros: aten("aten::zeros"),
  ones: aten("aten::ones"),
  empty: aten("aten::empty", "memory_format"),
  full: aten("aten::full"),
  randn: aten("aten::randn"),
  rand: aten("aten::rand"),
  randint: aten("aten::randint", "low"),
  randperm: aten("aten::randperm"),
  arange: aten("aten::arange", "start_step"),
  eye: aten("aten::eye"),
  cat: aten("aten::cat"),
  stack: aten("aten::stack"),
  bernoulliP: aten("aten::bernoulli", "p"),
};

function finish(t: Tensor, o: Options): Tensor {
  if (o.requiresGrad) t.requiresGrad = true;
  return t;
}
const code = (o: Options, def: DType = "float32") => dtypeCode(o.dtype ?? def);

/** Copies a typed array into a new tensor of the given shape (dtype from the array unless given). */
export function fromTypedArray(data: ArrayBufferView, shape: Shape, o: Options = {}): Tensor {
  const src = dtypeOfArray(data);
  let t = new Tensor(native.fromBuffer(data, [...shape], dtypeCode(src)));
  if (o.dtype && o.dtype !== src) {
    const c = t.to(o.dtype);
    t.dispose();
    t = c;
  }
  if (o.device && o.device !== "cpu") {
    const c = t.to(o.device);
    t.dispose();
    t = c;
  }
  return finish(t, o);
}

type Nested = number | boolean | Nested[];

function shapeOf(v: Nested): number[] {
  const s: number[] = [];
  let x: Nested = v;
  while (Array.isArray(x)) {
    s.push(x.length);
    x = x[0];
  }
  return s;
}

/** torch.tensor: from nested arrays (float32 by default) or a typed array (kept flat, 1-D). */
export function tensor(data: Nested | ArrayBufferView, o: Options = {}): Tensor {
  if (ArrayBuffer.isView(data)) return fromTypedArray(data, [(data as Float32Array).length], o);
  const shape = shapeOf(data);
  const flatData: (number | boolean)[] = Array.isArray(data)
    ? ((data as unknown[]).flat(Number.POSITIVE_INFINITY as 1) as (number | boolean)[])
    : [data];
  const n = shape.reduce((a, b) => a * b, 1);
  if (flatData.length !== n)
    throw new Error(`tensor(): ragged nested array (shape ${shape}, ${flatData.length} values)`);
  const dtype = o.dtype ?? "float32";
  const buf = dtype === "float64" ? Float64Array.from(flatData, Number) : Float32Array.from(flatData, Number);
  return fromTypedArray(buf, shape, { ...o, dtype });
}

export function zeros(shape: Shape, o: Options = {}): Tensor {
  return finish(Z.zeros([...shape], code(o), undefined, o.device), o);
}
export function ones(shape: Shape, o: Options = {}): Tensor {
  return finish(Z.ones([...shape], code(o), undefined, o.device), o);
}
export function empty(shape: Shape, o: Options = {}): Tensor {
  return finish(Z.empty([...shape], code(o), undefined, o.device), o);
}
export function full(shape: Shape, value: number, o: Options = {}): Tensor {
  return finish(Z.full([...shape], value, code(o), undefined, o.device), o);
}
/** Standard normal samples (uses the global generator: see manualSeed). */
export function randn(shape: Shape, o: Options = {}): Tensor {
  return finish(Z.randn([...shape], code(o), undefined, o.device), o);
}
/** Uniform samples in [0, 1). */
export function rand(shape: Shape, o: Options = {}): Tensor {
  return finish(Z.rand([...shape], code(o), undefined, o.device), o);
}
/** Integers uniform in [low, high). */
export function randint(low: number, high: number, shape: Shape, o: Options = {}): Tensor {
  return finish(Z.randint(low, high, [...shape], code(o, "int64"), undefined, o.device), o);
}
export function randperm(n: number, o: Options = {}): Tensor {
  return Z.randperm(n, code(o, "int64"), undefined, o.device);
}
export function arange(start: number, end?: number, step = 1, o: Options = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  const isInt = [start, end, step].every(Number.isInteger);
  return Z.arange(start, end, step, code(o, isInt ? "int64" : "float32"), undefined, o.device);
}
export function eye(n: number, o: Options = {}): Tensor {
  return finish(Z.eye(n, code(o), undefined, o.device), o);
}
export function cat(tensors: Tensor[], dim = 0): Tensor {
  return Z.cat(tensors, dim);
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return Z.stack(tensors, dim);
}
/** Bernoulli(p) samples shaped like `like` (same dtype). */
export function bernoulli(like: Tensor, p: number): Tensor {
  return Z.bernoulliP(like, p);
}
