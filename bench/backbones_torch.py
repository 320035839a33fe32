#!/usr/bin/python3
"""PyTorch side of bench/backbones.ts: forward+backward img/s of one backbone (Debian's python3-torch/torchvision).

Usage: /usr/bin/python3 bench/backbones_torch.py NAME SIDE BATCH WARMUP ITERS THREADS
Prints one JSON line: {"params", "imgs" (batch / fastest iteration), "mean_imgs", "rss_mb" (peak RSS)}.
The CIFAR nets are written out here with the same structure as src/models/cifar-resnet.ts / cifar-fast.ts
(the parameter count is checked against ercnn's by the caller).
"""
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class CifarBlock(nn.Module):
    def __init__(self, i, o, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(i, o, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(o)
        self.conv2 = nn.Conv2d(o, o, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(o)
        self.stride, self.pad = stride, o - i

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        s = x[:, :, :: self.stride, :: self.stride] if self.stride > 1 else x
        if self.pad:
            lo = self.pad // 2
            s = F.pad(s, (0, 0, 0, 0, lo, self.pad - lo))
        return F.relu(y + s)


class CifarResNet(nn.Module):
    def __init__(self, depth, classes=10):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        i, layers = 16, []
        for s, p in enumerate([16, 32, 64]):
            blocks = []
            for b in range(n):
                blocks.append(CifarBlock(i, p, 2 if b == 0 and s > 0 else 1))
                i = p
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean((2, 3)))


def conv_bn(i, o):
    return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU())


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.res = nn.Sequential(conv_bn(c, c), conv_bn(c, c))

    def forward(self, x):
        return self.res(x) + x


class ResNet9(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.prep = conv_bn(3, 64)
        self.layer1 = nn.Sequential(conv_bn(64, 128), nn.MaxPool2d(2), Residual(128))
        self.layer2 = nn.Sequential(conv_bn(128, 256), nn.MaxPool2d(2))
        self.layer3 = nn.Sequential(conv_bn(256, 512), nn.MaxPool2d(2), Residual(512))
        self.fc = nn.Linear(512, classes, bias=False)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.prep(x))))
        return self.fc(x.amax((2, 3))) * 0.125


def build(name):
    if name == "resnet20":
        return CifarResNet(20)
    if name == "resnet56":
        return CifarResNet(56)
    if name == "resnet9":
        return ResNet9()
    return getattr(torchvision.models, name)()


def main():
    name, side, batch, warmup, iters, threads = sys.argv[1], *map(int, sys.argv[2:7])
    device = torch.device(sys.argv[7] if len(sys.argv) > 7 else "cpu")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build(name).train().to(device)
    x = torch.randn(batch, 3, side, side).to(device)
    y = torch.randint(0, 10, (batch,)).to(device)

    def step():
        loss = F.cross_entropy(model(x), y)
        model.zero_grad(set_to_none=True)
        loss.backward()

    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "params": sum(p.numel() for p in model.parameters()),
        "imgs": batch / min(times),
        "mean_imgs": batch * iters / sum(times),
        "rss_mb": rss,
    }))


if __name__ == "__main__":
    main()
