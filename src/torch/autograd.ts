// Grad-mode control, like torch.no_grad() / torch.enable_grad().
import { native } from "./native.ts";

function withGrad<T>(enabled: boolean, fn: () => T): T {
  const prev = native.setGradEnabled(enabled);
  try {
    const r = fn();
    if (r instanceof Promise) throw new Error("noGrad/enableGrad: fn must be synchronous");
    return r;
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs fn with autograd recording off (torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  return withGrad(false, fn);
}

/** Runs fn with autograd recording on (torch.enable_grad()). */
export function enableGrad<T>(fn: () => T): T {
  return withGrad(true, fn);
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}
