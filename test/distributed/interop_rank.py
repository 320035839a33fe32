# A Debian python3-torch rank for the interop test: joins with init_process_group("gloo", init_method="env://") and
# performs the same collectives as test/distributed/rank.ts "interop", then prints its results as JSON.
import json
from datetime import timedelta

import torch
import torch.distributed as dist

dist.init_process_group("gloo", init_method="env://", timeout=timedelta(seconds=60))
r = dist.get_rank()
x = torch.tensor([r + 1, 10 * (r + 1), 0.5 * (r + 1)], dtype=torch.float32)
dist.all_reduce(x)
m = torch.tensor([r * 7], dtype=torch.float64)
dist.all_reduce(m, op=dist.ReduceOp.MAX)
b = torch.tensor([3.25 if r == 0 else -1, 42 if r == 0 else -1], dtype=torch.float32)
dist.broadcast(b, 0)
dist.barrier()
print(json.dumps({"rank": r, "sum": x.tolist(), "max": m.tolist(), "bcast": b.tolist()}), flush=True)
dist.destroy_process_group()
