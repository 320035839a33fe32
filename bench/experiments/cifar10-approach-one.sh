#!/usr/bin/env bash
# RESULTS.md, approach one on CIFAR-10 (5/5): a backbone pretrained on 5 PLAIN classes, then an ER model trained on
# the 5 other classes ENCRYPTED (k=4), starting each round from that backbone (the study's multi-round scheme), so the
# backbone has never seen the encrypted images. Decryption quality (PSNR/SSIM of the adaptation output, key-map error)
# is measured per epoch with the key, which training never uses. Variants: joint training, the pretrained backbone
# frozen (only the adaptation and the head learn), and no pretraining (control).
# Usage: bash bench/experiments/cifar10-approach-one.sh [OUT=runs/results-a1] [PRE_EPOCHS=8] [ROUNDS=3] [ROUND_EPOCHS=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-runs/results-a1}
PE=${2:-8}
R=${3:-3}
RE=${4:-3}
ercnn="node bin/ercnn.js"
PLAIN=airplane,automobile,bird,cat,deer
ENC=dog,frog,horse,ship,truck
mkdir -p "$OUT"
[ -f "$OUT/key.json" ] || $ercnn keygen --preset cifar10 -o "$OUT/key.json"
for split in train test; do
  [ -f "$OUT/plain5-$split/meta.json" ] || $ercnn encrypt --preset cifar10 --split $split --plain --classes $PLAIN -o "$OUT/plain5-$split"
  [ -f "$OUT/enc5-$split/meta.json" ] || $ercnn encrypt --preset cifar10 --split $split --key "$OUT/key.json" --classes $ENC -o "$OUT/enc5-$split"
done
common=(--backbone resnet20 --optimizer adamw --lr 0.003 --weight-decay 0.05 -b 64 --schedule cosine --warmup-epochs 0.5
  --label-smoothing 0.1 --normalize imagenet -q)
resume() { [ -d "$1/last" ] && echo --resume || true; }
[ -f "$OUT/pretrain/backbone.safetensors" ] || $ercnn pretrain "$OUT/plain5-train" --test "$OUT/plain5-test" "${common[@]}" \
  --epochs "$PE" -o "$OUT/pretrain" $(resume "$OUT/pretrain")
[ -f "$OUT/er/final.json" ] || $ercnn train "$OUT/enc5-train" --test "$OUT/enc5-test" "${common[@]}" --adapt aligned \
  --augment cipher-safe --pretrained "$OUT/pretrain/backbone.safetensors" --rounds "$R" --epochs "$RE" \
  --eval-key "$OUT/key.json" -o "$OUT/er" $(resume "$OUT/er")
[ -f "$OUT/er-frozen/final.json" ] || $ercnn train "$OUT/enc5-train" --test "$OUT/enc5-test" "${common[@]}" --adapt aligned \
  --augment cipher-safe --pretrained "$OUT/pretrain/backbone.safetensors" --freeze backbone --rounds "$R" --epochs "$RE" \
  --eval-key "$OUT/key.json" -o "$OUT/er-frozen" $(resume "$OUT/er-frozen")
[ -f "$OUT/scratch/final.json" ] || $ercnn train "$OUT/enc5-train" --test "$OUT/enc5-test" "${common[@]}" --adapt aligned \
  --augment cipher-safe --rounds "$R" --epochs "$RE" --eval-key "$OUT/key.json" -o "$OUT/scratch" $(resume "$OUT/scratch")
$ercnn decrypt-view "$OUT/er-frozen" --store "$OUT/enc5-test" --key "$OUT/key.json" -o "$OUT/er-frozen-view.png"
$ercnn decrypt-view "$OUT/er" --store "$OUT/enc5-test" --key "$OUT/key.json" -o "$OUT/er-view.png"
$ercnn report "$OUT/pretrain" "$OUT/er" "$OUT/er-frozen" "$OUT/scratch" -o "$OUT/report.html"
for d in er er-frozen scratch; do
  echo "== $d (val rows: round epoch acc psnr ssim mapError)"
  node -e 'for (const l of require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n")) { const m = JSON.parse(l);
    if (m.split === "val") console.log(m.round, m.epoch, (100 * m.acc).toFixed(2), m.psnr?.toFixed(2), m.ssim?.toFixed(3), m.mapError?.toFixed(3)); }' "$OUT/$d/metrics.jsonl"
  cat "$OUT/$d/final.json"
done
