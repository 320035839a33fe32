#!/usr/bin/python3
"""Vectorised numpy reference for bench/cipher.ts: block Hill-cipher encryption throughput, single thread.

usage: cipher_numpy.py '<json list of {"n":N,"h":H,"k":K}>' SECONDS
Prints one JSON object per line: {"h","k","n","variant","img_per_s"}.
variants: "float32" (float32 data and key, sgemm) and "float64" (the study's math: p @ K with a float64 key,
result stored as float32 — what ercnn's pure-TS path computes).
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
import json
import sys
import time

import numpy as np


def encrypt(x, key, k):
    """x: (N, C, H, W) float32, key: (C, k², k²). Returns float32 ciphertexts, same layout."""
    n, c, h, w = x.shape
    bh, bw = h // k, w // k
    blocks = x.reshape(n, c, bh, k, bw, k).transpose(1, 0, 2, 4, 3, 5).reshape(c, n * bh * bw, k * k)
    if key.dtype == np.float64:
        blocks = blocks.astype(np.float64)
    out = np.matmul(blocks, key)  # (C, blocks, k²) @ (C, k², k²)
    out = out.reshape(c, n, bh, bw, k, k).transpose(1, 0, 2, 4, 3, 5)
    return np.ascontiguousarray(out, dtype=np.float32)


def timeit(fn, seconds):
    fn()
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        reps = 0
        while True:
            fn()
            reps += 1
            dt = time.perf_counter() - t0
            if dt >= seconds / 3:
                break
        best = max(best, reps / dt)
    return best


def main():
    configs = json.loads(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    rng = np.random.default_rng(0)
    for cfg in configs:
        n, h, k = cfg["n"], cfg["h"], cfg["k"]
        x = rng.random((n, 3, h, h), dtype=np.float32)
        key64 = rng.random((3, k * k, k * k)) * 2 - 1
        for variant, key in (("float32", key64.astype(np.float32)), ("float64", key64)):
            rate = timeit(lambda: encrypt(x, key, k), seconds) * n
            print(json.dumps({"h": h, "k": k, "n": n, "variant": variant, "img_per_s": rate}), flush=True)


if __name__ == "__main__":
    main()
