#!/usr/bin/env bash
# Schemes side by side (issue 29; docs/schemes.md): for each learnable encryption, a fresh key, the same eavesdropper
# (the attack that applies: PSNR / SSIM / re-identification, ciphertexts read) and the same provider at one fixed
# budget (bench/experiments/schemes-providers.ts), plus the plain control of each provider network. Writes
# OUT/table.md, OUT/plot.svg (accuracy vs the eavesdropper's decryption PSNR) and OUT/results.json.
#
#   bash bench/experiments/schemes.sh                        # CIFAR-10, k = 4, the fixed budget (22.7 min, 2 idle cores)
#   bash bench/experiments/schemes.sh --limit 200 --epochs 1 --seed smoke   # smoke size: proves the pipeline
#   bash bench/experiments/schemes.sh --dataset tiny50       # the k = 8 column: 64×64, the 150 other classes as the
#                                                            # eavesdropper's reference photos and the aligned
#                                                            # network's pretraining (tiny50-record.sh's backbone)
# Other flags: --schemes hill,le,...  --out DIR (default runs/schemes-DATASET[-limitN])  --pool N  --measured N
#              --pretrained FILE (the aligned network's backbone; default: the dataset plan's)
#              --fresh (redo every row; without it a run goes on where an interrupted one stopped: each finished
#              row is kept in OUT/SCHEME/row.json and reused under the same set-up)
# Needs the data where `ercnn encrypt --preset cifar10` (or tiny50) finds it.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec nice node --import tsx bench/experiments/schemes.ts "$@"
