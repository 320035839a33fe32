// ercnn's PyTorch-shaped API over libtorch.
export * from "./autograd.ts";
export * from "./creation.ts";
export type { DType, TypedArray } from "./dtype.ts";
export * as F from "./functional.ts";
export * from "./memory-format.ts";
export * as nn from "./nn/index.ts";
export * as optim from "./optim/index.ts";
export * from "./runtime.ts";
export * from "./safetensors.ts";
export { dispose, keep, tidy, trackedCount } from "./scope.ts";
export { aten, type Scalar, type Shape, schemaOf, Tensor } from "./tensor.ts";
