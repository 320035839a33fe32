// Shared by the test/torch tests: run a fixture generator with Debian's PyTorch, compare tensors.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Tensor } from "../../src/torch/index.ts";

export const PYTHON = process.env.ERCNN_TORCH_PYTHON ?? "/usr/bin/python3";
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

/** A fresh temporary directory (removed by the returned cleanup). */
export function tempDir(prefix = "ercnn-torch-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs test/fixtures/<script> with the reference Python; returns its stdout. */
export function runPython(script: string, args: string[]): string {
  return execFileSync(PYTHON, [join(FIXTURES, script), ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Asserts |a − b| ≤ atol + rtol·|b| elementwise (b is the reference), with a useful message. */
export function assertClose(a: Tensor, b: Tensor, what: string, rtol?: number, atol?: number): void {
  assert.deepEqual(a.shape, b.shape, `${what}: shape [${a.shape}] vs reference [${b.shape}]`);
  const f64 = a.dtype === "float64" || b.dtype === "float64";
  const rt = rtol ?? (f64 ? 1e-10 : 1e-5);
  const at = atol ?? (f64 ? 1e-10 : 1e-5);
  const x = a.toArray();
  const y = b.toArray();
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < x.length; i++) {
    const err = Math.abs(x[i] - y[i]) - (at + rt * Math.abs(y[i]));
    if (!(err <= 0) && (worst < 0 || err > worstErr || Number.isNaN(err))) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0)
    assert.fail(`${what}: element ${worst} is ${x[worst]}, reference ${y[worst]} (rtol ${rt}, atol ${at})`);
}

/** Asserts two numbers agree to a relative tolerance. */
export function assertNear(a: number, b: number, what: string, rtol = 1e-12, atol = 1e-15): void {
  if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) assert.fail(`${what}: ${a} vs reference ${b}`);
}
