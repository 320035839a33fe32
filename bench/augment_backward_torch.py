#!/usr/bin/python3
"""PyTorch twin of bench/augment-backward.ts: airbench's flip + translate (reflect-pad 2, a window per sample) on a
batch that wants its gradient (a trained adaptation network in front), forward + backward, Debian's python3-torch.

usage: augment_backward_torch.py '<json list of batch sizes>' ROUNDS
Prints one JSON object per line: {"batch", "way", "ms"} (best of ROUNDS; way "unbind" or "narrow").
"""
import json
import sys
import time

import torch


def flip_translate(x, mirror, way, pad=2):
    b, _, h, w = x.shape
    flipped = torch.where(mirror.view(b, 1, 1, 1), x.flip(3), x)
    padded = torch.nn.functional.pad(flipped, (pad, pad, pad, pad), mode="reflect")
    r = torch.rand(b, 2)
    span = 2 * pad + 1
    offs = (r * span).floor().clamp(max=span - 1).long().tolist()
    if way == "unbind":
        return torch.stack([s[:, dy:dy + h, dx:dx + w] for s, (dy, dx) in zip(padded.unbind(0), offs)])
    return torch.cat([padded[i:i + 1, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(offs)])


def main():
    batches = json.loads(sys.argv[1])
    rounds = int(sys.argv[2])
    torch.manual_seed(0)
    for b in batches:
        mirror = torch.arange(b) % 3 == 0
        for way in ("unbind", "narrow"):
            best = float("inf")
            for _ in range(rounds):
                x = torch.randn(b, 3, 64, 64, requires_grad=True)
                t0 = time.perf_counter()
                flip_translate(x, mirror, way).sum().backward()
                best = min(best, time.perf_counter() - t0)
            print(json.dumps({"batch": b, "way": way, "ms": best * 1000}), flush=True)


if __name__ == "__main__":
    main()
