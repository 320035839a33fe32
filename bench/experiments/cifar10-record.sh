#!/usr/bin/env bash
# The encrypted CIFAR-10 record (issue 31): the airbench94 recipe behind the ciphertext-only attack's key estimate.
#
# Each run draws a FRESH key (k = 4), encrypts the 50,000 training and 10,000 test images with it, and times one
# `ercnn train` call: the attack (the training ciphertexts' block statistics against plain public photos: REF, by
# default 30,000 Tiny-ImageNet photos of the 150 classes that are not tiny50's, downscaled to 32×32 and re-encoded as
# JPEG at quality 75 with 4:2:0 chroma, as the shared CIFAR-10 was stored (bench/experiments/reference-jpeg.sh:
# 36.01 dB against 30.49 dB without the re-encoding, on the same ciphertexts); never a CIFAR-10
# plaintext, never the key), the fixed adaptation that decrypts with that estimate, airbench94 trained on all
# 50,000 images (no validation split: the recipe is fixed in advance), 6-view TTA and the test, touched once.
# The key is read only by --eval-key, which measures the adaptation output's PSNR and never trains.
# The plain control runs the same recipe on the plaintexts (no adaptation).
# Keep the machine otherwise idle while it runs and note the load (`uptime`) next to the numbers.
#
# Usage: bash bench/experiments/cifar10-record.sh [OUT=runs/cifar10-record] [RUNS=2] [RECIPE=airbench94] [PLAIN=1]
# Environment: REF=synthetic for the key-free record (cifar10-keyfree.sh), REF=<store> for other public photos;
#              LIMIT=N for a smoke run on N training images (its numbers are not the record's).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-runs/cifar10-record}
RUNS=${2:-2}
RECIPE=${3:-airbench94}
PLAIN=${4:-1}
ercnn="node bin/ercnn.js"
mkdir -p "$OUT"
common=(--recipe "$RECIPE" --val-fraction 0 --normalize store -q)
[ -n "${LIMIT:-}" ] && common+=(--limit "$LIMIT")
LABEL=$([ "${REF:-}" = synthetic ] && echo "encrypted, key-free" || echo "encrypted")

# Public photos for the attack's reference statistics (shared by every run; no key involved), unless REF is given.
if [ -z "${REF:-}" ]; then
  REF="$OUT/tiny150-ref32-q75"
  [ -f "$REF/meta.json" ] || $ercnn encrypt --preset tiny50 --part pretrain --split train --plain --resize 32 --jpeg-quality 75 \
    --limit 30000 -o "$REF"
fi

row() { # run-name dir seconds
  node -e '
    const [name, dir, secs] = process.argv.slice(1);
    const f = require(require("path").resolve(dir, "final.json"));
    const psnr = f.psnr == null ? "–" : `${f.psnr.toFixed(2)} dB`;
    console.log(`| ${name} | ${f.keyFingerprint ?? "plain"} | ${(100 * f.testAcc).toFixed(2)}% | ${(secs / 60).toFixed(1)} | ${psnr} |`);
  ' "$1" "$2" "$3"
}

table=()
for i in $(seq 1 "$RUNS"); do
  R="$OUT/run$i"
  mkdir -p "$R"
  [ -f "$R/key.json" ] || $ercnn keygen --preset cifar10 -o "$R/key.json"
  for split in train test; do
    [ -f "$R/c10-$split/meta.json" ] || $ercnn encrypt --preset cifar10 --split $split --key "$R/key.json" -o "$R/c10-$split"
  done
  if [ ! -f "$R/train/final.json" ]; then
    start=$(date +%s)
    $ercnn train "$R/c10-train" --test "$R/c10-test" "${common[@]}" --adapt aligned --adapt-init attack \
      --reference "$REF" --freeze adapt --eval-key "$R/key.json" -o "$R/train"
    echo $(( $(date +%s) - start )) > "$R/train/wall-seconds"
  fi
  table+=("$(row "$LABEL, run $i" "$R/train" "$(cat "$R/train/wall-seconds")")")
done

if [ "$PLAIN" = 1 ]; then
  P="$OUT/plain"
  for split in train test; do
    [ -f "$P/c10-$split/meta.json" ] || $ercnn encrypt --preset cifar10 --split $split --plain -o "$P/c10-$split"
  done
  if [ ! -f "$P/train/final.json" ]; then
    start=$(date +%s)
    $ercnn train "$P/c10-train" --test "$P/c10-test" "${common[@]}" --adapt none -o "$P/train"
    echo $(( $(date +%s) - start )) > "$P/train/wall-seconds"
  fi
  table+=("$(row "plain control" "$P/train" "$(cat "$P/train/wall-seconds")")")
fi

echo
echo "| run | key fingerprint | test accuracy | wall minutes (whole ercnn train) | decryption PSNR |"
echo "|---|---|---|---|---|"
printf '%s\n' "${table[@]}"
echo "load while running: $(uptime)"
