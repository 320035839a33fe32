import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChaCha20Random } from "../../src/core/rng.ts";

export const PYTHON = "/usr/bin/python3";
export const FIXTURES = join(import.meta.dirname, "..", "fixtures", "cipher_npy_fixtures.py");

export function hasNumpy(): boolean {
  if (!existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ["-c", "import numpy"], { encoding: "utf8" }).status === 0;
}

export function runFixture(...args: string[]): string {
  const r = spawnSync(PYTHON, [FIXTURES, ...args], {
    encoding: "utf8",
    env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" },
  });
  if (r.status !== 0) throw new Error(`fixture ${args.join(" ")} failed:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "ercnn-cipher-"));
}

/** Deterministic uniform generator for tests. */
export function testRng(seed: number): () => number {
  const key = new Uint8Array(32);
  new DataView(key.buffer).setUint32(0, seed, true);
  const r = new ChaCha20Random(key);
  return () => r.nextUint32() / 4294967296;
}

/**
 * A smooth-but-textured synthetic "natural" image in [0, 1], CHW float32: a sum of random low-frequency sinusoids
 * with per-channel colour mixing, a few soft edges, plus mild noise. Deterministic in `seed`.
 */
export function naturalImage(h: number, w: number, seed: number, c = 3): Float32Array {
  const rnd = testRng(seed);
  const out = new Float32Array(c * h * w);
  const waves = Array.from({ length: 12 }, () => ({
    fx: (rnd() - 0.5) * 0.5,
    fy: (rnd() - 0.5) * 0.5,
    ph: rnd() * 2 * Math.PI,
    amp: 0.05 + rnd() * 0.1,
    mix: Array.from({ length: c }, () => 0.5 + rnd()),
  }));
  const edges = Array.from({ length: 3 }, () => ({
    a: rnd() - 0.5,
    b: rnd() - 0.5,
    d: rnd() * (h + w) * 0.3,
    s: rnd() * 0.3,
  }));
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let v = 0.5;
        for (const wv of waves) v += wv.amp * wv.mix[ch] * Math.sin(wv.fx * x + wv.fy * y + wv.ph);
        for (const e of edges) v += e.s * Math.tanh((e.a * x + e.b * y - e.d * 0.1) * 0.8) * (ch === 0 ? 1 : 0.7);
        v += (rnd() - 0.5) * 0.02;
        out[(ch * h + y) * w + x] = Math.min(1, Math.max(0, v));
      }
    }
  }
  return out;
}

/** CHW → HWC for one or more images. */
export function chwToHwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++) out[((b * h + y) * w + xx) * c + ch] = x[((b * c + ch) * h + y) * w + xx];
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** max |a − b| / max |b|: the largest entry error relative to the largest reference entry. */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxRelErr: lengths ${a.length} and ${b.length} differ`);
  let e = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return e / s;
}

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}
