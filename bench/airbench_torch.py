"""PyTorch twin of bench/airbench-throughput.ts: airbench94 (same net as src/models/airbench.ts), one training step =
forward, label-smoothed (0.2) cross-entropy, backward, Nesterov SGD step; timed in NCHW and in channels_last.
Usage: /usr/bin/python3 bench/airbench_torch.py STEPS WARMUP THREADS BATCH [WIDTHS=64,256,256]  -> one JSON line
{"contiguous": img/s, "channels_last": img/s}."""
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


def conv3(cin, cout):
    c = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
    with torch.no_grad():
        nn.init.dirac_(c.weight[: min(cin, cout)])
    return c


def bn(c):
    b = nn.BatchNorm2d(c, eps=1e-12, momentum=0.4)
    b.weight.requires_grad = False
    return b


class ConvGroup(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1, self.pool, self.norm1 = conv3(cin, cout), nn.MaxPool2d(2), bn(cout)
        self.conv2, self.norm2, self.activ = conv3(cout, cout), bn(cout), nn.GELU()

    def forward(self, x):
        x = self.activ(self.norm1(self.pool(self.conv1(x))))
        return self.activ(self.norm2(self.conv2(x)))


class Airbench(nn.Module):
    def __init__(self, widths):
        super().__init__()
        self.whiten = nn.Conv2d(3, 24, 2)
        self.whiten.weight.requires_grad = False
        self.layers = nn.Sequential(nn.GELU(), ConvGroup(24, widths[0]), ConvGroup(widths[0], widths[1]),
                                    ConvGroup(widths[1], widths[2]), nn.MaxPool2d(3))
        self.head = nn.Linear(widths[2], 10, bias=False)

    def forward(self, x):
        x = self.layers(self.whiten(x))
        return self.head(x.reshape(len(x), -1)) / 9


def images_per_second(fmt, steps, warmup, batch, widths):
    torch.manual_seed(0)
    net = Airbench(widths).to(memory_format=fmt)
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.001, momentum=0.85, nesterov=True)
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (batch,))

    def step():
        loss = F.cross_entropy(net(x), y, label_smoothing=0.2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - t0)


def main():
    steps, warmup, threads, batch = (int(v) for v in sys.argv[1:5])
    widths = [int(w) for w in (sys.argv[5] if len(sys.argv) > 5 else "64,256,256").split(",")]
    torch.set_num_threads(threads)
    out = {name: images_per_second(fmt, steps, warmup, batch, widths)
           for name, fmt in (("contiguous", torch.contiguous_format), ("channels_last", torch.channels_last))}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
