#!/usr/bin/env bash
# Minutes to accuracy (issue 31, item 6's second table): the PyTorch twin of airbench94 trained on the PLAINTEXTS of
# the shared CIFAR-10 (bench/airbench_torch_train.py: Debian's python3-torch, channels_last, 2 threads) next to
# ercnn's runs of the same recipe (cifar10-record.sh: the encrypted runs and the plain control), all on this machine.
# The twin prints its test accuracy after every epoch with the clock stopped (as airbench does), so its row reads the
# minutes to each accuracy; ercnn's rows are whole `ercnn train` calls (attack, training, 6-view test), touched once.
# Run it on the same day as the record and keep the machine otherwise idle; the load is printed at the end.
#
# Usage: bash bench/experiments/cifar10-minutes.sh [RECORD=runs/cifar10-record] [ARCHIVE=../shared/data/cifar10.tar.gz]
#        LIMIT=4096 EPOCHS=1 bash bench/experiments/cifar10-minutes.sh …   (a smoke run of the twin; not the table's)
set -euo pipefail
cd "$(dirname "$0")/../.."
RECORD=${1:-runs/cifar10-record}
ARCHIVE=${2:-${ERCNN_DATA:-../shared/data}/cifar10.tar.gz}
[ -f "$ARCHIVE" ] || { echo "cifar10-minutes: no archive at $ARCHIVE (give its path as the second argument)" >&2; exit 2; }
mkdir -p "$RECORD"
TWIN="$RECORD/torch-twin${LIMIT:+-limit$LIMIT}.json"
if [ ! -f "$TWIN" ]; then
  args=(--threads 2 --format channels_last)
  [ -n "${LIMIT:-}" ] && args+=(--limit "$LIMIT")
  [ -n "${EPOCHS:-}" ] && args+=(--epochs "$EPOCHS")
  /usr/bin/python3 bench/airbench_torch_train.py "$ARCHIVE" "${args[@]}" | tee "$TWIN.log"
  grep '^result ' "$TWIN.log" | sed 's/^result //' >"$TWIN.tmp" && mv "$TWIN.tmp" "$TWIN"
fi
KEYFREE=${KEYFREE:-runs/cifar10-keyfree}   # cifar10-keyfree.sh's runs, shown when present
node --import tsx bench/experiments/cifar10-minutes-table.ts "$RECORD" "$TWIN" "$KEYFREE"
echo "load at the end: $(uptime)"
