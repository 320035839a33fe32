"""The PyTorch twin of the airbench94 recipe, trained end to end on the PLAINTEXTS of the shared CIFAR-10 archive:
the other side of the issue's minutes-to-accuracy table (ercnn on ciphertexts against PyTorch on plaintexts).

A float32 CPU port of airbench's legacy airbench94 in Debian's python3-torch, written from its description: the net
of bench/airbench_torch.py (the same as src/models/airbench.ts), the frozen 2x2 patch-whitening conv fitted to
5,000 training images (eps 5e-4, eigenvectors and their negatives; its bias trains for 3 epochs), BN biases at 64x
the learning rate, decoupled lr and weight decay per 1,024 examples, Nesterov SGD, a warm-up then linear decay,
Lookahead every 5 steps, alternating flip, 2-pixel reflect translation, label smoothing 0.2 and the 6-view
test-time augmentation. Every hyperparameter is in HYP with its unit.

Timing follows airbench: only training counts (the whitening fit, the epochs and the final 6-view test pass);
the per-epoch test accuracy (one view, as airbench prints it) is measured with the clock stopped, so the table can
read minutes to an accuracy off one run. Decoding the JPEG archive is not timed.

Usage: /usr/bin/python3 bench/airbench_torch_train.py ARCHIVE [--threads 2] [--epochs 9.9] [--limit N]
       [--format channels_last|contiguous] [--seed 0]   -> progress lines, then one JSON line (prefix "result ")
"""
import argparse
import io
import json
import math
import os
import sys
import tarfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from airbench_torch import Airbench  # noqa: E402

HYP = {
    "epochs": 9.9,  # passes over the 50,000 training images
    "batch_size": 1024,  # images per step
    "lr": 11.5,  # per 1,024 examples, decoupled from the momentum (airbench's units)
    "momentum": 0.85,  # Nesterov
    "weight_decay": 0.0153,  # per 1,024 examples, decoupled from the learning rate
    "bias_scaler": 64.0,  # learning-rate multiplier of the BatchNorm biases (not of their decay)
    "label_smoothing": 0.2,
    "warmup": 0.23,  # share of the steps that ramp the lr from 0.2x to 1x; it then falls linearly to 0.07x
    "whiten_eps": 5e-4,  # added to the patch covariance's eigenvalues
    "whiten_images": 5000,  # training images the whitening conv is fitted to
    "whiten_bias_epochs": 3,  # epochs the whitening conv's bias trains before it freezes
    "lookahead_every": 5,  # steps between Lookahead (EMA) updates
    "translate": 2,  # pixels of reflect padding for the random translation
    "widths": (64, 256, 256),
}
MEAN = torch.tensor((0.4914, 0.4822, 0.4465)).view(1, 3, 1, 1)
STD = torch.tensor((0.2470, 0.2435, 0.2616)).view(1, 3, 1, 1)


def read_split(archive, split, limit):
    """Images (N,3,32,32 float in [0,1]) and labels of ARCHIVE's <root>/<split>/<class>/*.jpg; classes sorted."""
    images, names = [], []
    try:
        tar = tarfile.open(archive)
    except (OSError, tarfile.TarError) as e:
        sys.exit(f"{archive}: not a readable tar archive ({e})")
    with tar:
        for m in tar:
            parts = m.name.split("/")
            if not m.isfile() or len(parts) != 4 or parts[1] != split:
                continue
            names.append(parts[2])
            with Image.open(io.BytesIO(tar.extractfile(m).read())) as im:
                images.append(np.asarray(im.convert("RGB")))
    if not images:
        sys.exit(f"{archive}: no images under <root>/{split}/<class>/")
    classes = sorted(set(names))
    labels = torch.tensor([classes.index(n) for n in names])
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255
    if limit and limit < len(x):
        pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(1))[:limit]
        x, labels = x[pick], labels[pick]
    return (x - MEAN) / STD, labels


def fit_whitening(conv, images):
    """The 2x2 whitening conv: the patch covariance's eigenvectors / sqrt(eigenvalue + eps), and their negatives."""
    c, (h, w) = images.shape[1], conv.weight.shape[2:]
    patches = images.unfold(2, h, 1).unfold(3, w, 1).transpose(1, 3).reshape(-1, c * h * w).double()
    values, vectors = torch.linalg.eigh(patches.T @ patches / len(patches))
    filters = (vectors.T / torch.sqrt(values + HYP["whiten_eps"]).unsqueeze(1)).flip(0).reshape(-1, c, h, w)
    with torch.no_grad():
        conv.weight.copy_(torch.cat((filters, -filters)).float())
        conv.bias.zero_()


def translate(x, pad):
    """Each image moved by up to PAD pixels in each direction (reflect padding, then a random crop)."""
    n, _, hh, ww = x.shape
    padded = F.pad(x, (pad,) * 4, mode="reflect")
    out = torch.empty_like(x)
    shifts = torch.randint(0, 2 * pad + 1, (n, 2))
    for dy in range(2 * pad + 1):
        for dx in range(2 * pad + 1):
            m = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
            out[m] = padded[m, :, dy : dy + hh, dx : dx + ww]
    return out


def six_view_logits(net, x):
    """Mirror x translate-by-one (none, up-left, down-right), weighted as airbench's TTA level 2."""
    def mirror(v):
        return 0.5 * net(v) + 0.5 * net(v.flip(-1))

    padded = F.pad(x, (1,) * 4, mode="reflect")
    h, w = x.shape[2:]
    shifted = (mirror(padded[:, :, 0:h, 0:w]) + mirror(padded[:, :, 2 : h + 2, 2 : w + 2])) / 2
    return 0.5 * mirror(x) + 0.5 * shifted


@torch.no_grad()
def accuracy(net, x, y, fmt, views):
    net.eval()
    hits = 0
    for xb, yb in zip(x.split(2000), y.split(2000)):
        xb = xb.contiguous(memory_format=fmt)
        logits = six_view_logits(net, xb) if views == 6 else net(xb)
        hits += (logits.argmax(1) == yb).sum().item()
    net.train()
    return hits / len(y)


def lr_factor(step, total):
    warm = int(total * HYP["warmup"])
    if step < warm:
        return 0.2 + 0.8 * step / warm
    return 1.0 + (0.07 - 1.0) * (step - warm) / (total - warm)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("archive")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=float, default=HYP["epochs"])
    ap.add_argument("--limit", type=int, default=0, help="train on a seeded subset (a smoke run, not the table's)")
    ap.add_argument("--format", choices=("channels_last", "contiguous"), default="channels_last")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    fmt = torch.channels_last if a.format == "channels_last" else torch.contiguous_format
    x_train, y_train = read_split(a.archive, "train", a.limit)
    x_test, y_test = read_split(a.archive, "test", a.limit // 5 if a.limit else 0)
    print(f"data: {len(x_train)} training, {len(x_test)} test images", flush=True)

    torch.manual_seed(a.seed)
    net = Airbench(HYP["widths"]).to(memory_format=fmt)
    bs, mom = HYP["batch_size"], HYP["momentum"]
    steps_per_epoch = len(x_train) // bs  # the last partial batch is dropped, as airbench does
    total = math.ceil(steps_per_epoch * a.epochs)
    kilostep = 1024 * (1 + 1 / (1 - mom))  # airbench's decoupling: SGD's lr = HYP lr / kilostep
    lr, wd = HYP["lr"] / kilostep, HYP["weight_decay"] * bs / kilostep
    norm_biases = [p for n, p in net.named_parameters() if "norm" in n and p.requires_grad]
    others = [p for n, p in net.named_parameters() if "norm" not in n and p.requires_grad]  # whiten.bias included
    lr_b = lr * HYP["bias_scaler"]
    opt = torch.optim.SGD(
        [dict(params=norm_biases, lr=lr_b, weight_decay=wd / lr_b), dict(params=others, lr=lr, weight_decay=wd / lr)],
        momentum=mom, nesterov=True)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, total))
    ema = {k: v.detach().clone() for k, v in net.state_dict().items()}
    decay_at = 0.95 ** 5 * (torch.arange(total + 1) / total) ** 3

    t0 = time.perf_counter()
    fit_whitening(net.whiten, x_train[: HYP["whiten_images"]])
    # Alternating flip: a random half is mirrored once; every other epoch the whole set is mirrored.
    flip_once = torch.rand(len(x_train)) < 0.5
    x_flipped = torch.where(flip_once.view(-1, 1, 1, 1), x_train.flip(-1), x_train)
    trained = time.perf_counter() - t0
    curve, step = [], 0
    for epoch in range(math.ceil(a.epochs)):
        t0 = time.perf_counter()
        net.whiten.bias.requires_grad = epoch < HYP["whiten_bias_epochs"]
        base = x_flipped.flip(-1) if epoch % 2 == 1 else x_flipped
        order = torch.randperm(len(x_train))
        images = translate(base, HYP["translate"])
        for i in range(steps_per_epoch):
            idx = order[i * bs : (i + 1) * bs]
            out = net(images[idx].contiguous(memory_format=fmt))
            loss = F.cross_entropy(out, y_train[idx], label_smoothing=HYP["label_smoothing"], reduction="sum")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % HYP["lookahead_every"] == 0 or step == total:
                d = 1.0 if step == total else decay_at[step].item()
                with torch.no_grad():
                    for k, v in net.state_dict().items():
                        if v.dtype.is_floating_point:
                            ema[k].lerp_(v, 1 - d)
                            v.copy_(ema[k])
            if step >= total:
                break
        trained += time.perf_counter() - t0
        acc = accuracy(net, x_test, y_test, fmt, views=1)  # clock stopped, as airbench's per-epoch line
        curve.append({"epoch": epoch + 1, "trainSeconds": trained, "testAcc1View": acc})
        print(f"epoch {epoch + 1}: {trained / 60:.1f} min of training, test {100 * acc:.2f}% (1 view)", flush=True)
    t0 = time.perf_counter()
    tta = accuracy(net, x_test, y_test, fmt, views=6)
    total_s = trained + time.perf_counter() - t0
    print(f"6-view test {100 * tta:.2f}% after {total_s / 60:.1f} min", flush=True)
    print("result " + json.dumps({"testAcc": tta, "seconds": total_s, "epochs": a.epochs, "format": a.format,
                                  "threads": a.threads, "trainImages": len(x_train), "curve": curve}))


if __name__ == "__main__":
    main()
