// Memory formats the PyTorch way: "contiguous" (NCHW) and "channels_last" (NHWC strides for 4-D tensors, the layout
// oneDNN's CPU convolutions run natively), x.contiguous(memory_format=…) and module.to(memory_format=…) moving 4-D
// parameters and buffers in place (same Tensor objects). Operators keep the format of their input where ATen's do.
import { native } from "./native.ts";
import type { Module } from "./nn/module.ts";
import { aten, type Tensor } from "./tensor.ts";

export type MemoryFormat = "contiguous" | "channels_last";

/** c10::MemoryFormat's values (Contiguous = 0, Preserve = 1, ChannelsLast = 2). */
const CODE: Record<MemoryFormat, number> = { contiguous: 0, channels_last: 2 };

const A = {
  contiguous: aten("aten::contiguous"),
  stride: aten<number>("aten::stride", "int"),
};

/** t laid out in `format` (t itself, shared, when it already is; like torch.Tensor.contiguous(memory_format)). */
export function toMemoryFormat(t: Tensor, format: MemoryFormat): Tensor {
  if (format === "channels_last" && t.shape.length !== 4)
    throw new Error(`channels_last needs a 4-D tensor, got shape [${t.shape.join(", ")}]`);
  return A.contiguous(t, CODE[format]) as Tensor;
}

/**
 * Whether t is laid out densely in `format` (torch.Tensor.is_contiguous(memory_format)): its strides are that
 * layout's, dimensions of size 1 (whose stride is never used) aside.
 */
export function isMemoryFormat(t: Tensor, format: MemoryFormat): boolean {
  const shape = t.shape;
  if (format === "channels_last" && shape.length !== 4) return false;
  // the dimensions from the fastest-varying to the slowest: NCHW's W, H, C, N; NHWC's C, W, H, N
  const order = format === "contiguous" ? shape.map((_, d) => shape.length - 1 - d) : [1, 3, 2, 0];
  let expected = 1;
  for (const d of order) {
    if (shape[d] !== 1 && A.stride(t, d) !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** module.to(memory_format=format): every 4-D parameter and buffer re-laid in place (PyTorch's rule: 4-D only). */
export function moduleToMemoryFormat<M extends Module>(module: M, format: MemoryFormat): M {
  for (const t of [...module.parameters(), ...module.buffers()]) {
    if (t.shape.length !== 4 || isMemoryFormat(t, format)) continue;
    const moved = A.contiguous(t.detach(), CODE[format]) as Tensor;
    native.setData(t.native, moved.native);
    moved.dispose();
  }
  return module;
}
