// Shared pieces of the model zoo: the Backbone contract and small helpers.
import { nn, noGrad, type Tensor } from "../torch/index.ts";

/**
 * A classification network whose classifier is one Linear layer at a known dotted path (`headName`),
 * e.g. "fc" (ResNet), "classifier" (DenseNet), "classifier.2" (ConvNeXt). `resetHead(n)` swaps in a fresh
 * Linear(numFeatures, n) there; everything else keeps torchvision's structure and names.
 */
export interface Backbone extends nn.Module {
  readonly family: string;
  readonly headName: string;
  readonly numFeatures: number;
  resetHead(numClasses: number): nn.Linear;
  head(): nn.Linear;
  forward(x: Tensor): Tensor;
}

/** Looks up a submodule by dotted path ("classifier.2"). */
export function getSubmodule(root: nn.Module, path: string): nn.Module {
  let m: nn.Module = root;
  for (const part of path.split(".")) {
    const c = m.getModule(part);
    if (!c) throw new Error(`no submodule '${path}' (stopped at '${part}')`);
    m = c;
  }
  return m;
}

/** Replaces the submodule at a dotted path, disposing the old one's tensors. */
export function setSubmodule(root: nn.Module, path: string, mod: nn.Module): void {
  const parts = path.split(".");
  const last = parts.pop() as string;
  const parent = parts.length ? getSubmodule(root, parts.join(".")) : root;
  parent.replaceModule(last, mod);
}

/** Swaps in a fresh Linear head: PyTorch's default Linear init (as a freshly built torchvision head). */
export function resetLinearHead(root: nn.Module, path: string, inFeatures: number, numClasses: number): nn.Linear {
  const fc = new nn.Linear(inFeatures, numClasses);
  setSubmodule(root, path, fc);
  return fc;
}

/** Applies fn to x and disposes x (for chaining layers without leaking intermediates). */
export function thenDispose(x: Tensor, fn: (x: Tensor) => Tensor): Tensor {
  const y = fn(x);
  if (y !== x) x.dispose();
  return y;
}

/** Fills a tensor in place under noGrad. */
export function fillWith(t: Tensor, fn: (t: Tensor) => void): void {
  noGrad(() => fn(t));
}
