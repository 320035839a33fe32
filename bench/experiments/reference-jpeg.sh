#!/usr/bin/env bash
# Does a reference that carries the data's compression decrypt better? The shared CIFAR-10 is JPEG (quality 75,
# 4:2:0 chroma); the record's reference photos (30,000 Tiny-ImageNet images of the 150 classes that are not tiny50's,
# resized to 32×32) are not. This builds the same reference re-encoded as JPEG at quality Q (`ercnn encrypt
# --jpeg-quality Q`) and runs the same `ercnn attack` on the same ciphertexts with each reference, side by side; the
# key only measures. No CIFAR-10 plaintext is read.
#
# Usage: bash bench/experiments/reference-jpeg.sh SECRET_STORE KEY [Q=75] [OUT=runs/reference-jpeg]
#   e.g. bash bench/experiments/reference-jpeg.sh runs/cifar10-record/run1/c10-train runs/cifar10-record/run1/key.json
set -euo pipefail
cd "$(dirname "$0")/../.."
SECRET=${1:?usage: reference-jpeg.sh SECRET_STORE KEY [Q] [OUT]}
KEY=${2:?usage: reference-jpeg.sh SECRET_STORE KEY [Q] [OUT]}
Q=${3:-75}
OUT=${4:-runs/reference-jpeg}
ercnn="node bin/ercnn.js"
mkdir -p "$OUT"
ref=(encrypt --preset tiny50 --part pretrain --split train --plain --resize 32 --limit 30000)
[ -f "$OUT/ref32/meta.json" ] || $ercnn "${ref[@]}" -o "$OUT/ref32"
[ -f "$OUT/ref32-q$Q/meta.json" ] || $ercnn "${ref[@]}" --jpeg-quality "$Q" -o "$OUT/ref32-q$Q"
for r in ref32 "ref32-q$Q"; do
  echo "== reference $r"
  start=$(date +%s)
  $ercnn attack "$SECRET" --reference "$OUT/$r" --eval-key "$KEY" --picture "$OUT/$r.png" -q
  echo "attack wall $(($(date +%s) - start)) s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
done
