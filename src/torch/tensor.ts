// The Tensor handle: PyTorch names and semantics over one native at::Tensor.
import { arrayFor, type DType, dtypeCode, dtypeName, dtypeOfArray, type TypedArray } from "./dtype.ts";
import { type NativeTensor, native } from "./native.ts";
import { track } from "./scope.ts";

type Arg = unknown;

function unwrap(a: Arg): unknown {
  if (a instanceof Tensor) return a.native;
  if (Array.isArray(a)) return a.map(unwrap);
  return a;
}

function wrapOut(v: any): any {
  if (v instanceof native.Tensor) return new Tensor(v as NativeTensor);
  if (Array.isArray(v)) return v.map(wrapOut);
  return v;
}

/**
 * A typed handle on an ATen operator, resolved on first use: `aten("aten::add", "Tensor")(a, b, 1)`.
 * Arguments follow the operator's schema order; `undefined` takes the schema default.
 */
export function aten<R = any>(name: string, overload = ""): (...args: Arg[]) => R {
  let id = -1;
  return (...args: Arg[]) => {
    if (id < 0) id = native.resolve(name, overload);
    return wrapOut(native.call(id, ...args.map(unwrap)));
  };
}

/** The schema text of an operator, e.g. for error messages and docs. */
export function schemaOf(name: string, overload = ""): string {
  return native.schema(native.resolve(name, overload));
}

export type Scalar = number | boolean;
export type Shape = readonly number[];

const A = {
  addT: aten("aten::add", "Tensor"),
  addS: aten("aten::add", "Scalar"),
  subT: aten("aten::sub", "Tensor"),
  subS: aten("aten::sub", "Scalar"),
  mulT: aten("aten::mul", "Tensor"),
  mulS: aten("aten::mul", "Scalar"),
  divT: aten("aten::div", "Tensor"),
  divS: aten("aten::div", "Scalar"),
  powS: aten("aten::pow", "Tensor_Scalar"),
  powT: aten("aten::pow", "Tensor_Tensor"),
  add_T: aten("aten::add_", "Tensor"),
  add_S: aten("aten::add_", "Scalar"),
  sub_T: aten("aten::sub_", "Tensor"),
  mul_T: aten("aten::mul_", "Tensor"),
  mul_S: aten("aten::mul_", "Scalar"),
  div_T: aten("aten::div_", "Tensor"),
  div_S: aten("aten::div_", "Scalar"),
  addcmul_: aten("aten::addcmul_"),
  addcdiv_: aten("aten::addcdiv_"),
  lerp_S: aten("aten::lerp_", "Scalar"),
  copy_: aten("aten::copy_"),
  fill_: aten("aten::fill_", "Scalar"),
  zero_: aten("aten::zero_"),
  clamp_: aten("aten::clamp_"),
  clamp: aten("aten::clamp"),
  neg: aten("aten::neg"),
  abs: aten("aten::abs"),
  sqrt: aten("aten::sqrt"),
  rsqrt: aten("aten::rsqrt"),
  exp: aten("aten::exp"),
  log: aten("aten::log"),
  tanh: aten("aten::tanh"),
  sigmoid: aten("aten::sigmoid"),
  relu: aten("aten::relu"),
  relu_: aten("aten::relu_"),
  matmul: aten("aten::matmul"),
  mm: aten("aten::mm"),
  bmm: aten("aten::bmm"),
  t: aten("aten::t"),
  transpose: aten("aten::transpose", "int"),
  permute: aten("aten::permute"),
  reshape: aten("aten::reshape"),
  view: aten("aten::view"),
  flatten: aten("aten::flatten", "using_ints"),
  unsqueeze: aten("aten::unsqueeze"),
  squeezeDim: aten("aten::squeeze", "dim"),
  squeeze: aten("aten::squeeze"),
  expand: aten("aten::expand"),
  contiguous: aten("aten::contiguous"),
  clone: aten("aten::clone"),
  detach: aten("aten::detach"),
  toDtype: aten("aten::to", "dtype"),
  toDevice: aten("aten::to", "device"),
  sumAll: aten("aten::sum"),
  sumDim: aten("aten::sum", "dim_IntList"),
  meanAll: aten("aten::mean"),
  meanDim: aten("aten::mean", "dim"),
  varDim: aten("aten::var", "correction"),
  maxAll: aten("aten::max"),
  maxDim: aten("aten::max", "dim"),
  minAll: aten("aten::min"),
  minDim: aten("aten::min", "dim"),
  argmax: aten("aten::argmax"),
  softmax: aten("aten::softmax", "int"),
  logSoftmax: aten("aten::log_softmax", "int"),
  eqT: aten("aten::eq", "Tensor"),
  eqS: aten("aten::eq", "Scalar"),
  gtS: aten("aten::gt", "Scalar"),
  ltS: aten("aten::lt", "Scalar"),
  narrow: aten("aten::narrow"),
  slice: aten("aten::slice", "Tensor"),
  select: aten("aten::select", "int"),
  unbind: aten<Tensor[]>("aten::unbind", "int"),
  indexSelect: aten("aten::index_select"),
  index: aten("aten::index", "Tensor"),
  norm: aten("aten::linalg_vector_norm"),
  allclose: aten("aten::allclose"),
};

/** A tensor: PyTorch semantics (broadcasting, dtype promotion, autograd) on libtorch. */
export class Tensor {
  /** The native handle (internal). */
  readonly native: NativeTensor;
  /** Set by keep(): survives tidy() scopes. */
  _kept = false;

  constructor(h: NativeTensor) {
    this.native = h;
    track(this);
  }

  get shape(): number[] {
    return this.native.shape();
  }
  get ndim(): number {
    return this.native.shape().length;
  }
  get dtype(): DType {
    return dtypeName(this.native.dtype());
  }
  get device(): string {
    return this.native.device();
  }
  numel(): number {
    return this.native.numel();
  }
  size(dim?: number): number | number[] {
    const s = this.shape;
    if (dim === undefined) return s;
    return s[dim < 0 ? dim + s.length : dim];
  }

  get requiresGrad(): boolean {
    return this.native.requiresGrad;
  }
  set requiresGrad(v: boolean) {
    this.native.requiresGrad = v;
  }
  requiresGrad_(v = true): this {
    this.native.requiresGrad = v;
    return this;
  }
  get isLeaf(): boolean {
    return this.native.isLeaf();
  }
  /** The accumulated gradient (a new handle on it), or null. */
  get grad(): Tensor | null {
    const g = this.native.grad();
    return g ? new Tensor(g) : null;
  }
  set grad(g: Tensor | null) {
    this.native.setGrad(g ? g.native : null);
  }
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    this.native.backward(gradient?.native, opts.retainGraph, opts.createGraph ?? false);
  }

  /** Frees this handle's reference to the native tensor. */
  dispose(): void {
    this.native.dispose();
  }
  get isDisposed(): boolean {
    return this.native.isDisposed();
  }

  /** A copy of the elements as a typed array (bool as Uint8Array, int64 as BigInt64Array). */
  toTypedArray(): TypedArray {
    return arrayFor(this.dtype, this.native.toBuffer()) as TypedArray;
  }
  /** Float32 copy of the elements (converting if needed). */
  toFloat32Array(): Float32Array {
    if (this.dtype === "float32") return new Float32Array(this.native.toBuffer());
    const t = this.to("float32");
    try {
      return new Float32Array(t.native.toBuffer());
    } finally {
      t.dispose();
    }
  }
  /**
   * Writes the elements into `out` (row-major, converted to the array's element type) in one pass, without an
   * intermediate buffer: `y.permute(0, 2, 3, 1).copyTo(hwc)` lays a view out as it copies.
   */
  copyTo<T extends TypedArray>(out: T): T {
    return this.native.copyTo(out, dtypeCode(dtypeOfArray(out)));
  }
  /** Elements as a plain (flat) number array. */
  toArray(): number[] {
    const a = this.toTypedArray();
    return a instanceof BigInt64Array ? Array.from(a, Number) : Array.from(a as ArrayLike<number>);
  }
  /** The single element as a number. */
  item(): number {
    return Number(this.native.item());
  }

  // arithmetic (broadcasting; numbers become Scalars)
  add(o: Tensor | number, alpha = 1): Tensor {
    return typeof o === "number" ? A.addS(this, o, alpha) : A.addT(this, o, alpha);
  }
  sub(o: Tensor | number, alpha = 1): Tensor {
    return typeof o === "number" ? A.subS(this, o, alpha) : A.subT(this, o, alpha);
  }
  mul(o: Tensor | number): Tensor {
    return typeof o === "number" ? A.mulS(this, o) : A.mulT(this, o);
  }
  div(o: Tensor | number): Tensor {
    return typeof o === "number" ? A.divS(this, o) : A.divT(this, o);
  }
  pow(e: Tensor | number): Tensor {
    return typeof e === "number" ? A.powS(this, e) : A.powT(this, e);
  }
  neg(): Tensor {
    return A.neg(this);
  }
  abs(): Tensor {
    return A.abs(this);
  }
  sqrt(): Tensor {
    return A.sqrt(this);
  }
  rsqrt(): Tensor {
    return A.rsqrt(this);
  }
  exp(): Tensor {
    return A.exp(this);
  }
  log(): Tensor {
    return A.log(this);
  }
  tanh(): Tensor {
    return A.tanh(this);
  }
  sigmoid(): Tensor {
    return A.sigmoid(this);
  }
  relu(): Tensor {
    return A.relu(this);
  }
  /** In-place ReLU (what nn.ReLU(inplace=True) does). */
  relu_(): this {
    A.relu_(this).dispose();
    return this;
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return A.clamp(this, min ?? null, max ?? null);
  }

  // in-place (return this; for optimizers and buffers, usually under noGrad)
  add_(o: Tensor | number, alpha = 1): this {
    (typeof o === "number" ? A.add_S(this, o, alpha) : A.add_T(this, o, alpha)).dispose();
    return this;
  }
  sub_(o: Tensor, alpha = 1): this {
    A.sub_T(this, o, alpha).dispose();
    return this;
  }
  mul_(o: Tensor | number): this {
    (typeof o === "number" ? A.mul_S(this, o) : A.mul_T(this, o)).dispose();
    return this;
  }
  div_(o: Tensor | number): this {
    (typeof o === "number" ? A.div_S(this, o) : A.div_T(this, o)).dispose();
    return this;
  }
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this {
    A.addcmul_(this, t1, t2, value).dispose();
    return this;
  }
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this {
    A.addcdiv_(this, t1, t2, value).dispose();
    return this;
  }
  lerp_(end: Tensor, weight: number): this {
    A.lerp_S(this, end, weight).dispose();
    return this;
  }
  copy_(src: Tensor): this {
    A.copy_(this, src).dispose();
    return this;
  }
  fill_(v: number): this {
    A.fill_(this, v).dispose();
    return this;
  }
  zero_(): this {
    A.zero_(this).dispose();
    return this;
  }
  clamp_(min?: number | null, max?: number | null): this {
    A.clamp_(this, min ?? null, max ?? null).dispose();
    return this;
  }

  // linear algebra
  matmul(o: Tensor): Tensor {
    return A.matmul(this, o);
  }
  mm(o: Tensor): Tensor {
    return A.mm(this, o);
  }
  bmm(o: Tensor): Tensor {
    return A.bmm(this, o);
  }
  t(): Tensor {
    return A.t(this);
  }

  // shape
  transpose(d0: number, d1: number): Tensor {
    return A.transpose(this, d0, d1);
  }
  permute(...dims: number[]): Tensor {
    return A.permute(this, dims);
  }
  reshape(...shape: number[] | [Shape]): Tensor {
    return A.reshape(this, flat(shape));
  }
  view(...shape: number[] | [Shape]): Tensor {
    return A.view(this, flat(shape));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return A.flatten(this, startDim, endDim);
  }
  unsqueeze(dim: number): Tensor {
    return A.unsqueeze(this, dim);
  }
  squeeze(dim?: number): Tensor {
    return dim === undefined ? A.squeeze(this) : A.squeezeDim(this, dim);
  }
  expand(...shape: number[] | [Shape]): Tensor {
    return A.expand(this, flat(shape));
  }
  contiguous(): Tensor {
    return A.contiguous(this);
  }
  clone(): Tensor {
    return A.clone(this);
  }
  detach(): Tensor {
    return A.detach(this);
  }
  /** Converts dtype ("float64") or device ("cpu", "cuda", "cuda:1"). */
  to(target: DType | string): Tensor {
    if (target === "cpu" || target.startsWith("cuda")) return A.toDevice(this, target, this.native.dtype());
    return A.toDtype(this, dtypeCode(target as DType));
  }
  float(): Tensor {
    return this.to("float32");
  }
  double(): Tensor {
    return this.to("float64");
  }
  long(): Tensor {
    return this.to("int64");
  }

  // reductions
  sum(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? A.sumAll(this) : A.sumDim(this, dims(dim), keepdim);
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? A.meanAll(this) : A.meanDim(this, dims(dim), keepdim);
  }
  /** Variance with Bessel's correction by default (unbiased, like torch.var). */
  var(dim: number | number[], keepdim = false, correction = 1): Tensor {
    return A.varDim(this, dims(dim), correction, keepdim);
  }
  max(): Tensor;
  max(dim: number, keepdim?: boolean): [Tensor, Tensor];
  max(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] {
    return dim === undefined ? A.maxAll(this) : A.maxDim(this, dim, keepdim);
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): [Tensor, Tensor];
  min(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] {
    return dim === undefined ? A.minAll(this) : A.minDim(this, dim, keepdim);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return A.argmax(this, dim ?? null, keepdim);
  }
  softmax(dim: number): Tensor {
    return A.softmax(this, dim);
  }
  logSoftmax(dim: number): Tensor {
    return A.logSoftmax(this, dim);
  }
  /** L2 (or ord-p) norm over all elements. */
  norm(p = 2): Tensor {
    return A.norm(this, p);
  }

  // comparison
  eq(o: Tensor | number): Tensor {
    return typeof o === "number" ? A.eqS(this, o) : A.eqT(this, o);
  }
  gt(v: number): Tensor {
    return A.gtS(this, v);
  }
  lt(v: number): Tensor {
    return A.ltS(this, v);
  }
  allclose(o: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
    return A.allclose(this, o, rtol, atol);
  }

  // indexing
  narrow(dim: number, start: number, length: number): Tensor {
    return A.narrow(this, dim, start, length);
  }
  /** x[start:end:step] along dim. */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    return A.slice(this, dim, start ?? null, end ?? null, step);
  }
  select(dim: number, index: number): Tensor {
    return A.select(this, dim, index);
  }
  /**
   * The slices along dim as views (PyTorch's unbind). Their gradients meet in one backward node, so slicing every
   * sample of a batch costs O(batch) there; `narrow(0, i, 1)` per sample would fill a batch-sized zero gradient each.
   */
  unbind(dim = 0): Tensor[] {
    return A.unbind(this, dim);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return A.indexSelect(this, dim, index);
  }
  /** Advanced indexing x[i0, i1, ...] with index tensors (null skips a dim). */
  index(indices: (Tensor | null)[]): Tensor {
    return A.index(this, indices);
  }

  toString(): string {
    return `Tensor(shape=[${this.shape}], dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ", requiresGrad" : ""})`;
  }
}

function flat(shape: number[] | [Shape]): number[] {
  return Array.isArray(shape[0]) ? [...(shape[0] as Shape)] : (shape as number[]);
}

function dims(d: number | number[]): number[] {
  return typeof d === "number" ? [d] : d;
}
