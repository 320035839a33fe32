// ercnn's PyTorch-shaped API over libtorch.
export * from "./autograd.ts";
export * from "./creation.ts";
export type { DType, TypedArray } from "./dtype.ts";
export * as F from "./functional.ts";
export * as nn from "./nn/index.ts";
export * from "./runtime.ts";
export { dispose, keep, tidy, trackedCount } from "./scope.ts";
export { aten, type Scalar, schemaOf, type Shape, Tensor } from "./tensor.ts";
