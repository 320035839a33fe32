#!/usr/bin/env bash
# The key-free encrypted CIFAR-10 record (issue 31): the record pipeline of cifar10-record.sh with NOTHING but the
# ciphertexts: no public photos, no key, no plaintext of any kind. The attack's reference is synthetic
# (`--reference synthetic`: seeded dead-leaves images whose few parameters are fitted to the training ciphertexts'
# key-invariant spectra; src/attack/synthetic-reference.ts). Goal: ≥ 86% test in ≤ 60 min.
# Keep the machine otherwise idle while it runs and note the load (`uptime`) next to the numbers.
#
# Usage: bash bench/experiments/cifar10-keyfree.sh [OUT=runs/cifar10-keyfree] [RUNS=1] [RECIPE=airbench94] [PLAIN=0]
#        LIMIT=2000 bash bench/experiments/cifar10-keyfree.sh …   (a smoke run; its numbers are not the record's)
set -euo pipefail
REF=synthetic exec bash "$(dirname "$0")/cifar10-record.sh" "${1:-runs/cifar10-keyfree}" "${2:-1}" \
  "${3:-airbench94}" "${4:-0}"
