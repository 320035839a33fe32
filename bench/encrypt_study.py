#!/usr/bin/python3
"""Study-style dataset encryption baseline (what the study's generator did), for bench/encrypt-cifar.ts.

For every image of an ImageFolder-style tree (root/<class>/*.jpg, classes sorted): decode with PIL and scale to
[0,1] (ToTensor), then for each channel and each k×k block flatten the block row-major to p and compute c = p @ K[ch]
(the study's per-block loop), and save the ciphertext as one float32 H×W×3 `{i}.npy` per image, plus
`train_label.txt` lines `{i}.npy {label}`. Key: (3, k², k²) uniform in [-1, 1).

--vectorized replaces the per-block loop by one numpy reshape + matmul per image (a faster variant the study did not
use; reported for reference). Prints one JSON line: images, seconds, img/s.
"""
import argparse
import json
import os
import time

import numpy as np
from PIL import Image


def encrypt_blocks(x, key, k):
    """x: C×H×W float32 in [0,1]; the study's loop over channels and blocks."""
    c, h, w = x.shape
    out = np.empty_like(x)
    for ch in range(c):
        for by in range(0, h, k):
            for bx in range(0, w, k):
                p = x[ch, by:by + k, bx:bx + k].reshape(1, k * k)
                out[ch, by:by + k, bx:bx + k] = (p @ key[ch]).reshape(k, k)
    return out


def encrypt_vectorized(x, key, k):
    c, h, w = x.shape
    b = x.reshape(c, h // k, k, w // k, k).transpose(0, 1, 3, 2, 4).reshape(c, -1, k * k)
    y = np.matmul(b, key)
    return y.reshape(c, h // k, w // k, k, k).transpose(0, 1, 3, 2, 4).reshape(c, h, w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("out")
    ap.add_argument("--block-size", type=int, default=4)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--vectorized", action="store_true")
    a = ap.parse_args()
    k = a.block_size
    rng = np.random.default_rng(0)
    key = (rng.random((3, k * k, k * k)) * 2 - 1).astype(np.float32)
    classes = sorted(d for d in os.listdir(a.root) if os.path.isdir(os.path.join(a.root, d)))
    items = []
    for ci, c in enumerate(classes):
        for f in sorted(os.listdir(os.path.join(a.root, c))):
            items.append((os.path.join(a.root, c, f), ci))
    if a.limit:
        items = items[: a.limit]
    os.makedirs(a.out, exist_ok=True)
    enc = encrypt_vectorized if a.vectorized else encrypt_blocks
    t0 = time.perf_counter()
    lines = []
    for i, (path, label) in enumerate(items):
        img = Image.open(path).convert("RGB")
        x = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0  # ToTensor: C×H×W in [0,1]
        c = enc(x, key, k)
        np.save(os.path.join(a.out, f"{i}.npy"), c.transpose(1, 2, 0).astype(np.float32))  # H×W×3
        lines.append(f"{i}.npy {label}\n")
    with open(os.path.join(a.out, "train_label.txt"), "w") as f:
        f.writelines(lines)
    s = time.perf_counter() - t0
    print(json.dumps({"images": len(items), "seconds": s, "imagesPerSecond": len(items) / s,
                      "mode": "vectorized" if a.vectorized else "per-block"}))


if __name__ == "__main__":
    main()
