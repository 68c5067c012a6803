"""Bounded memory: generating 10M log rows stays under 2 GB of peak RSS (child process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

_CHILD = """
import json, resource, sys
from workbench.scenarios import generate
result = generate(sys.argv[1], seed=3, rows_per_day=18_600)
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": sum(result.rows_per_system.values()), "peak_kib": peak_kib}))
"""


@pytest.mark.slow
def test_ten_million_rows_stay_under_two_gigabytes(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path / "big")],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["rows"] >= 10_000_000
    peak_bytes = report["peak_kib"] * 1024  # ru_maxrss is in KiB on Linux
    assert peak_bytes < 2 * 1024**3, f"peak RSS {peak_bytes / 1024**2:.0f} MiB"
    # three prediction logs and the chatbot's interaction log
    assert len(list((tmp_path / "big" / "logs").rglob("*.parquet"))) == 4 * 180
