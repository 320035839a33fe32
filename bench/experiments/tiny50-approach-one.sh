#!/usr/bin/env bash
# RESULTS.md, tiny50 approach one (the study's dataset 2 at CPU scale): a CIFAR ResNet-20 pretrained on PLAIN images
# of 150 Tiny-ImageNet classes, then ER models on the 50 OTHER classes ENCRYPTED (k = 8, 64×64), each round starting
# from that backbone and keeping the adaptation (multi-round). Decryption PSNR/SSIM per epoch and round, measured
# with the key (never used for training), pictures per round. Two variants of the adaptation's start: PyTorch's
# default, and the ciphertext-only attack's key estimate (`--adapt-init attack`, statistics of the 150 plain classes),
# trained on or kept fixed.
# Usage: bash bench/experiments/tiny50-approach-one.sh [OUT=runs/results-t50] [PRE_PER_CLASS=100] [ENC_PER_CLASS=200]
#        [PRE_EPOCHS=3] [ROUNDS=3] [ROUND_EPOCHS=2]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-runs/results-t50}
PRE=${2:-100}
ENC=${3:-200}
PE=${4:-3}
R=${5:-3}
RE=${6:-2}
ercnn="node bin/ercnn.js"
mkdir -p "$OUT"
[ -f "$OUT/key.json" ] || $ercnn keygen --preset tiny50 -o "$OUT/key.json"
[ -f "$OUT/plain150/meta.json" ] || $ercnn encrypt --preset tiny50 --part pretrain --split train --plain \
  --limit $((150 * PRE)) -o "$OUT/plain150"
[ -f "$OUT/plain150-test/meta.json" ] || $ercnn encrypt --preset tiny50 --part pretrain --split test --plain \
  -o "$OUT/plain150-test"
[ -f "$OUT/enc50/meta.json" ] || $ercnn encrypt --preset tiny50 --split train --key "$OUT/key.json" \
  --limit $((50 * ENC)) -o "$OUT/enc50"
[ -f "$OUT/enc50-test/meta.json" ] || $ercnn encrypt --preset tiny50 --split test --key "$OUT/key.json" -o "$OUT/enc50-test"
common=(--backbone resnet20 --optimizer adamw --lr 0.003 --weight-decay 0.05 -b 64 --schedule cosine --warmup-epochs 0.5
  --label-smoothing 0.1 --normalize imagenet -q)
resume() { [ -d "$1/last" ] && echo --resume || true; }
[ -f "$OUT/pretrain/backbone.safetensors" ] || $ercnn pretrain "$OUT/plain150" --test "$OUT/plain150-test" "${common[@]}" \
  --augment plain --epochs "$PE" -o "$OUT/pretrain" $(resume "$OUT/pretrain")
# attack-frozen: the attack's estimate, kept fixed (--freeze adapt), as in the CIFAR-10 speed record
for init in default attack attack-frozen; do
  how=(--adapt-init "${init%-frozen}"); [ "$init" = attack-frozen ] && how+=(--freeze adapt)
  [ -f "$OUT/er-$init/final.json" ] || $ercnn train "$OUT/enc50" --test "$OUT/enc50-test" "${common[@]}" --adapt aligned \
    "${how[@]}" --reference "$OUT/plain150" --augment cipher-safe --pretrained "$OUT/pretrain/backbone.safetensors" \
    --rounds "$R" --epochs "$RE" --eval-key "$OUT/key.json" -o "$OUT/er-$init" $(resume "$OUT/er-$init")
done
node -e '
const fs = require("fs"), p = require("path"), out = process.argv[1];
const pre = JSON.parse(fs.readFileSync(p.join(out, "pretrain/final.json"), "utf8"));
console.log(`pretraining (150 plain classes): test acc ${(100 * pre.testAcc).toFixed(2)}%, ${Math.round(pre.wallSeconds)} s`);
for (const init of ["default", "attack", "attack-frozen"]) {
  const d = p.join(out, `er-${init}`);
  const f = JSON.parse(fs.readFileSync(p.join(d, "final.json"), "utf8"));
  const rows = fs.readFileSync(p.join(d, "metrics.jsonl"), "utf8").trim().split("\n").map(JSON.parse).filter((r) => r.split === "val");
  const last = {}; for (const r of rows) last[r.round] = r;
  const per = Object.values(last).map((r) => `r${r.round}: acc ${(100 * r.acc).toFixed(1)}%, ${r.psnr.toFixed(2)} dB, SSIM ${r.ssim.toFixed(3)}`).join("; ");
  console.log(`ER ${init}: test acc ${(100 * f.testAcc).toFixed(2)}%, ${Math.round(f.wallSeconds)} s | ${per}`);
}' "$OUT"
