#!/usr/bin/env bash
# `make bench`: run every benchmark in bench/ in one go. Peers (Evidently...) live in their own .venv-bench,
# built by bench/setup_peers.sh, so their pins never constrain the product's environment.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -f bench/setup_peers.sh ]]; then
    bash bench/setup_peers.sh
fi
mkdir -p bench/results
status=0
for script in bench/bench_*.py bench/*_bench.py; do
    [[ -f $script ]] || continue
    echo "== $script"
    .venv/bin/python "$script" "$@" || { echo "!! $script failed"; status=1; }
done
exit $status
