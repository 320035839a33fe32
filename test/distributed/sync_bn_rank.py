# A Debian python3-torch rank for the SyncBatchNorm interop test (test/distributed/sync-bn-interop.test.ts).
# It joins the group with init_process_group("gloo", init_method="env://") and runs SyncBatchNorm's training forward
# and backward the way src/torch/nn/sync-batchnorm.ts does, with torch.distributed.nn.functional.all_reduce (PyTorch's
# differentiable all-reduce) for the two statistics sums; torch.nn.SyncBatchNorm itself needs CUDA. It also computes
# the independent reference: ordinary float64 F.batch_norm over the global batch (both ranks' data, regenerated
# here from the same formulas) with the same total loss. Prints one JSON line.
import json
import math
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dnn
import torch.nn.functional as F

C, H, W = 2, 3, 3
SIZES = [3, 5]  # unequal per-rank batches: the global count must come from the all-reduce
EPS, MOMENTUM = 1e-5, 0.1


def data(r, dtype):
    n = SIZES[r] * C * H * W
    x = [math.sin(0.37 * (k + 1) + 1.3 * r) * (1 + r) + 0.5 * r for k in range(n)]
    g = [math.cos(0.11 * (k + 1) + r) for k in range(n)]
    shape = (SIZES[r], C, H, W)
    return torch.tensor(x, dtype=dtype).reshape(shape), torch.tensor(g, dtype=dtype).reshape(shape)


def params(dtype):
    return (torch.tensor([1.5, -0.7], dtype=dtype), torch.tensor([0.2, 0.1], dtype=dtype),
            torch.tensor([0.1, -0.2], dtype=dtype), torch.tensor([1.3, 0.8], dtype=dtype))


def reference():
    """float64 BatchNorm over the global batch; the loss is the sum of both ranks' losses."""
    xs, gs = zip(*(data(r, torch.float64) for r in range(2)))
    x = torch.cat(xs).requires_grad_()
    w, b, rm, rv = params(torch.float64)
    w.requires_grad_()
    b.requires_grad_()
    y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=MOMENTUM, eps=EPS)
    (y * torch.cat(gs)).sum().backward()
    return x, y, w, b, rm, rv


dist.init_process_group("gloo", init_method="env://", timeout=timedelta(seconds=60))
r = dist.get_rank()
x, g = data(r, torch.float32)
x.requires_grad_()
w, b, rm, rv = params(torch.float32)
w.requires_grad_()
b.requires_grad_()
dims = [0, 2, 3]
local1 = torch.cat([x.sum(dims), torch.full([1], x.numel() / C)])
global1 = dnn.all_reduce(local1)
count = global1[C].item()
mean = global1[:C] / count
d = x - mean.view(1, C, 1, 1)
var = dnn.all_reduce((d * d).sum(dims)) / count
y = d * (var + EPS).rsqrt().view(1, C, 1, 1) * w.view(1, C, 1, 1) + b.view(1, C, 1, 1)
with torch.no_grad():
    rm.mul_(1 - MOMENTUM).add_(mean, alpha=MOMENTUM)
    rv.mul_(1 - MOMENTUM).add_(var, alpha=MOMENTUM * count / (count - 1))
(y * g).sum().backward()
xr, yr, wr, br, rmr, rvr = reference()
print(json.dumps({
    "rank": r,
    "y": y.detach().flatten().tolist(),
    "gx": x.grad.flatten().tolist(),
    "gw": w.grad.tolist(),
    "gb": b.grad.tolist(),
    "rm": rm.tolist(),
    "rv": rv.tolist(),
    "ref": {
        "y": yr.detach().flatten().tolist(),  # all rows, rank 0's first
        "gx": xr.grad.flatten().tolist(),
        "gw": wr.grad.tolist(),  # the global gradient: the ranks' local ones must sum to it
        "gb": br.grad.tolist(),
        "rm": rmr.tolist(),
        "rv": rvr.tolist(),
    },
}), flush=True)
dist.destroy_process_group()
