"""PyTorch twin of bench/nets.ts + bench/train-throughput.ts: same nets, same step, same timing.
Usage: /usr/bin/python3 bench/train_throughput_torch.py MODEL ITERS WARMUP THREADS BATCH [DEVICE]  -> one JSON line."""
import json, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.resnet import BasicBlock
from torchvision.ops import StochasticDepth


class Adapt(nn.Module):
    def __init__(self, k=4):
        super().__init__()
        self.conv = nn.Conv2d(3, 3 * k * k, k, stride=k)
        self.deconv = nn.ConvTranspose2d(3 * k * k, 3, k, stride=k)

    def forward(self, x):
        return self.deconv(self.conv(x))


class ResNet18Cifar(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.adapt = Adapt()
        self.conv1 = nn.Conv2d(3, 64, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, inp = [], 64
        for i, planes in enumerate([64, 128, 256, 512]):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or inp != planes:
                down = nn.Sequential(nn.Conv2d(inp, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))
            layers.append(nn.Sequential(BasicBlock(inp, planes, stride, down), BasicBlock(planes, planes)))
            inp = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(self.adapt(x))), inplace=True)
        y = self.layer4(self.layer3(self.layer2(self.layer1(y))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


class LayerNorm2d(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class Permute(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(*self.dims)


class CNBlock(nn.Module):
    def __init__(self, dim, p):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, 7, padding=3, groups=dim), Permute([0, 2, 3, 1]), nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim), Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * 1e-6)
        self.stochastic_depth = StochasticDepth(p, "row")

    def forward(self, x):
        return self.stochastic_depth(self.layer_scale * self.block(x)) + x


class SmallConvNeXt(nn.Module):
    def __init__(self, classes=10, dims=(48, 96, 192, 384), depths=(2, 2, 6, 2), drop_path=0.1):
        super().__init__()
        self.adapt = Adapt()
        total, i = sum(depths), 0
        stages = [nn.Sequential(nn.Conv2d(3, dims[0], 2, stride=2), LayerNorm2d(dims[0], eps=1e-6))]
        for s, d in enumerate(dims):
            blocks = []
            for _ in range(depths[s]):
                blocks.append(CNBlock(d, drop_path * i / (total - 1)))
                i += 1
            stages.append(nn.Sequential(*blocks))
            if s < len(dims) - 1:
                stages.append(nn.Sequential(LayerNorm2d(d, eps=1e-6), nn.Conv2d(d, dims[s + 1], 2, stride=2)))
        self.features = nn.Sequential(*stages)
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
        self.head = nn.Linear(dims[-1], classes)

    def forward(self, x):
        y = torch.flatten(F.adaptive_avg_pool2d(self.features(self.adapt(x)), 1), 1)
        return self.head(self.norm(y))


def main():
    name, iters, warmup, threads, batch = sys.argv[1], *map(int, sys.argv[2:6])
    device = torch.device(sys.argv[6] if len(sys.argv) > 6 else "cpu")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = {"resnet18_cifar": ResNet18Cifar, "convnext_small_cifar": SmallConvNeXt}[name]().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    x = torch.randn(batch, 3, 32, 32).to(device)
    y = torch.randint(0, 10, (batch,)).to(device)

    def train_step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def eval_step():
        with torch.no_grad():
            model(x)

    out = {"params": sum(p.numel() for p in model.parameters())}
    for mode, step in (("train", train_step), ("eval", eval_step)):
        model.train(mode == "train")
        for _ in range(warmup):
            step()
        sync()
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        sync()
        out[mode] = batch * iters / (time.perf_counter() - t0)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
