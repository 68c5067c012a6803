#!/usr/bin/env bash
# Create the peers' benchmark environment .venv-bench (Evidently needs pandas < 3; fairlearn for the fairness bench; sliceline with numba for the slice bench) beside the product's .venv.
# Usage: bash bench/setup_peers.sh   (from the repository root; idempotent)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-bench/bin/python ]; then
    python3 -m venv .venv-bench
fi
.venv-bench/bin/pip install --quiet --upgrade pip
.venv-bench/bin/pip install --quiet -r bench/requirements-peers.txt
.venv-bench/bin/python -c "import evidently, fairlearn, numba, pandas, sliceline; print('evidently', evidently.__version__, 'fairlearn', fairlearn.__version__, 'sliceline 0.3.0 numba', numba.__version__, 'pandas', pandas.__version__)"
