#!/usr/bin/env bash
# The ciphertext-only attack's numbers (RESULTS.md "Ciphertext-only attack", "The attack at larger blocks"), through
# the commands a user has: a FRESH key of block size K (`ercnn keygen`), N secret images encrypted with it, N plain
# reference photos of other images, `ercnn attack` with its ATTACK_DEFAULTS row; the key only measures (PSNR, SSIM,
# re-identification among 1,000 plaintexts). Run it once per key wanted; each run draws a new key.
#
#   K = 4:        CIFAR-10 32×32: N training images encrypted, N test photos as the reference
#   K = 8 or 16:  Tiny-ImageNet 64×64, the tiny50 split: N images of its 50 classes encrypted, N photos of the 150
#                 other classes as the reference
#
# Usage: bash bench/experiments/attack-check.sh K [N=5000 for K = 4, 3000 otherwise] [OUT=runs/attack-check]
set -euo pipefail
cd "$(dirname "$0")/../.."
K=${1:?usage: attack-check.sh K [N] [OUT]}
N=${2:-$([ "$K" = 4 ] && echo 5000 || echo 3000)}
OUT=${3:-runs/attack-check}
ercnn="node bin/ercnn.js"
mkdir -p "$OUT"
if [ "$K" = 4 ]; then
  secret=(--preset cifar10 --split train) reference=(--preset cifar10 --split test)
else
  secret=(--preset tiny50 --split train) reference=(--preset tiny50 --part pretrain --split train)
fi
run="$OUT/k$K-n$N-$(date +%s)"
REF="$OUT/ref-k$([ "$K" = 4 ] && echo 4 || echo 8up)-n$N" # plain photos: no key, shared by the runs
[ -f "$REF/meta.json" ] || $ercnn encrypt "${reference[@]}" --limit "$N" --plain -o "$REF"
$ercnn keygen -b "$K" -o "$run-key.json"
$ercnn encrypt "${secret[@]}" --limit "$N" -k "$run-key.json" -o "$run-secret"
start=$(date +%s)
$ercnn attack "$run-secret" --reference "$REF" -o "$run-estimate.json" --eval-key "$run-key.json" \
  --picture "$run.png" -q
echo "attack wall $(($(date +%s) - start)) s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
