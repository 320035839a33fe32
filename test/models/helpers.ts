// Shared helpers for the model-zoo tests: running Debian's python3-torch fixture scripts.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tensor } from "../../src/torch/index.ts";

export const PYTHON = "/usr/bin/python3";
export const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

export function hasTorchvision(): boolean {
  if (!existsSync(PYTHON)) return false;
  const r = spawnSync(PYTHON, ["-c", "import torch, torchvision"], { encoding: "utf8" });
  return r.status === 0;
}

/** Runs a fixture script into a fresh temp dir; returns the dir and a cleanup function. */
export function runFixture(script: string, args: string[] = []): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "ercnn-models-"));
  const r = spawnSync(PYTHON, [join(FIXTURES, script), dir, ...args], {
    encoding: "utf8",
    env: { ...process.env, OMP_NUM_THREADS: "2" },
  });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${script} failed (${r.status}):\n${r.stderr}`);
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** max |a − b| / max |b|. */
export function relErr(a: Tensor | Float32Array, b: Tensor | Float32Array): number {
  const x = a instanceof Float32Array ? a : a.toFloat32Array();
  const y = b instanceof Float32Array ? b : b.toFloat32Array();
  if (x.length !== y.length) throw new Error(`length ${x.length} vs ${y.length}`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    m = Math.max(m, Math.abs(y[i]));
  }
  return d / (m || 1);
}
