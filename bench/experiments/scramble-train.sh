#!/usr/bin/env bash
# What block scrambling costs the provider: the same short training (the demo's recipe: aligned adaptation with
# whitening init, AdamW 3e-3, cosine, label smoothing 0.1, store normalisation; no augmentation, because the
# demo's block-shift augmentation is not valid on scrambled images) of each BACKBONE on CIFAR-10 ciphertexts under
# the same Hill key (seed audit-c10-1), without and with block scrambling; same images, seed and epochs.
#   bash bench/experiments/scramble-train.sh [EPOCHS=4] [BACKBONES="resnet20 blockresnet_s"]
# Needs runs/audit/c10-enc1 and c10-senc1 (5,000 CIFAR-10 train images) and their 1,000-image test stores:
#   node bin/ercnn.js keygen -b 4 --seed audit-c10-1 -o runs/audit/c10-key1.json
#   node bin/ercnn.js keygen -b 4 --seed audit-c10-1 --scramble -o runs/audit/c10-skey1.json
#   node bin/ercnn.js encrypt --preset cifar10 --split train --limit 5000 -k runs/audit/c10-key1.json -o runs/audit/c10-enc1
#   node bin/ercnn.js encrypt --preset cifar10 --split train --limit 5000 -k runs/audit/c10-skey1.json -o runs/audit/c10-senc1
#   node bin/ercnn.js encrypt --preset cifar10 --split test --limit 1000 -k runs/audit/c10-key1.json -o runs/audit/c10-enc1-test
#   node bin/ercnn.js encrypt --preset cifar10 --split test --limit 1000 -k runs/audit/c10-skey1.json -o runs/audit/c10-senc1-test
set -euo pipefail
EPOCHS=${1:-4}
BACKBONES=${2:-"resnet20 blockresnet_s"}
mkdir -p runs/scramble
for bb in $BACKBONES; do
  for variant in enc1 senc1; do
    out=runs/scramble/$bb-$variant-e$EPOCHS
    rm -rf "$out"
    start=$(date +%s)
    nice node bin/ercnn.js train runs/audit/c10-$variant --test runs/audit/c10-$variant-test -o "$out" \
      --backbone "$bb" --adapt aligned --adapt-init whiten --optimizer adamw --lr 0.003 --weight-decay 0.05 \
      --batch-size 64 --epochs "$EPOCHS" --schedule cosine --warmup-epochs 0.5 --label-smoothing 0.1 \
      --normalize store --augment none --seed 1 > "$out.log" 2>&1
    echo "$bb $variant: $(grep -io 'test[^,]*acc[^,]*' "$out.log" | tail -1) ($(( $(date +%s) - start )) s)"
  done
done
