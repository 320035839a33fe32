#!/usr/bin/env bash
# The key-free encrypted CIFAR-10 record (issue 31): the airbench94 recipe behind the ciphertext-only attack's key
# estimate, with NOTHING but the ciphertexts: no public photos, no key, no plaintext of any kind.
#
# Each run draws a FRESH key (k = 4), encrypts the 50,000 training and 10,000 test images with it, and times one
# `ercnn train` call: the attack against a synthetic reference (`--reference synthetic`: seeded dead-leaves images
# whose few parameters are fitted to the training ciphertexts' key-invariant spectra; src/attack/synthetic-reference.ts),
# the fixed adaptation that decrypts with that estimate, airbench94 trained on all 50,000 images (no validation
# split: the recipe is fixed in advance), 6-view TTA and the test, touched once. Goal: ≥ 86% test in ≤ 60 min.
# The key is read only by --eval-key, which measures the adaptation output's PSNR and never trains.
# The plain control (optional) runs the same recipe on the plaintexts (no adaptation).
# Keep the machine otherwise idle while it runs and note the load (`uptime`) next to the numbers.
#
# Usage: bash bench/experiments/cifar10-keyfree.sh [OUT=runs/cifar10-keyfree] [RUNS=1] [RECIPE=airbench94] [PLAIN=0]
#        [LIMIT=]   (a smoke run: LIMIT=2000 trains on 2,000 images; its numbers are not the record's)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-runs/cifar10-keyfree}
RUNS=${2:-1}
RECIPE=${3:-airbench94}
PLAIN=${4:-0}
LIMIT=${LIMIT:-}
ercnn="node bin/ercnn.js"
mkdir -p "$OUT"
common=(--recipe "$RECIPE" --val-fraction 0 --normalize store -q)
[ -n "$LIMIT" ] && common+=(--limit "$LIMIT")

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
      --reference synthetic --freeze adapt --eval-key "$R/key.json" -o "$R/train"
    echo $(( $(date +%s) - start )) > "$R/train/wall-seconds"
  fi
  table+=("$(row "encrypted, key-free, run $i" "$R/train" "$(cat "$R/train/wall-seconds")")")
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
