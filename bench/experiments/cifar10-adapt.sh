#!/usr/bin/env bash
# RESULTS.md, CIFAR-10 (k=4): plain vs encrypted without adaptation vs aligned vs the study's misaligned ("seed")
# adaptation vs the key-folded oracle, and multi-round vs single round, all with the same backbone and budget.
# Usage: bash bench/experiments/cifar10-adapt.sh [OUT=runs/results-c10] [TRAIN=20000] [EPOCHS=8]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-runs/results-c10}
N=${2:-20000}
E=${3:-8}
ercnn="node bin/ercnn.js"
mkdir -p "$OUT"
[ -f "$OUT/key.json" ] || $ercnn keygen --preset cifar10 -o "$OUT/key.json"
for split in train test; do
  n=$N; [ $split = test ] && n=2000
  [ -f "$OUT/c10-$split/meta.json" ] || $ercnn encrypt --preset cifar10 --split $split --key "$OUT/key.json" --limit $n -o "$OUT/c10-$split"
  [ -f "$OUT/plain-$split/meta.json" ] || $ercnn encrypt --preset cifar10 --split $split --plain --limit $n -o "$OUT/plain-$split"
done
common=(--backbone resnet20 --optimizer adamw --lr 0.003 --weight-decay 0.05 -b 64 --schedule cosine --warmup-epochs 0.5
  --label-smoothing 0.1 --normalize store --augment cipher-safe --block-size 4 -q)
cat > "$OUT/grid.json" <<JSON
{ "base": { "train": "$OUT/c10-train", "test": "$OUT/c10-test", "backbone": "resnet20", "optimizer": "adamw", "lr": 0.003,
    "weightDecay": 0.05, "batchSize": 64, "epochs": $E, "schedule": "cosine", "warmupEpochs": 0.5, "labelSmoothing": 0.1,
    "normalize": "store", "augment": "cipher-safe", "evalKey": "$OUT/key.json" },
  "grid": { "adapt": ["aligned", "seed", "none"] } }
JSON
$ercnn sweep "$OUT/grid.json" -o "$OUT/sweep" -q
run() { local name=$1; shift; [ -f "$OUT/$name/final.json" ] || $ercnn train "$@" "${common[@]}" -o "$OUT/$name" \
  $( [ -d "$OUT/$name/last" ] && echo --resume ); }
run plain "$OUT/plain-train" --test "$OUT/plain-test" --adapt none --epochs "$E"
run key-folded "$OUT/c10-train" --test "$OUT/c10-test" --key-folded "$OUT/key.json" --epochs "$E"
run rounds-2x$((E / 2)) "$OUT/c10-train" --test "$OUT/c10-test" --adapt aligned --rounds 2 --epochs $((E / 2)) --eval-key "$OUT/key.json"
$ercnn report "$OUT"/sweep/cells/* "$OUT/plain" "$OUT/key-folded" "$OUT/rounds-2x$((E / 2))" -o "$OUT/report.html"
node -e '
const fs = require("fs"), p = require("path"), out = process.argv[1];
const dirs = [...fs.readdirSync(p.join(out, "sweep/cells")).map((d) => p.join(out, "sweep/cells", d)), ...["plain", "key-folded", fs.readdirSync(out).find((d) => d.startsWith("rounds-"))].map((d) => p.join(out, d))];
console.log("| run | test acc | best val acc | decryption PSNR (dB) | SSIM | wall s |\n|---|---|---|---|---|---|");
for (const d of dirs) { const f = JSON.parse(fs.readFileSync(p.join(d, "final.json"), "utf8"));
  console.log(`| ${p.basename(d)} | ${(100 * f.testAcc).toFixed(2)}% | ${(100 * f.bestValAcc).toFixed(2)}% | ${f.psnr?.toFixed(2) ?? "—"} | ${f.ssim?.toFixed(3) ?? "—"} | ${Math.round(f.wallSeconds)} |`); }' "$OUT"
