"""Fixtures of the workbench tests: one small generated tabletop scenario shared by the session."""

from __future__ import annotations

from pathlib import Path

import pytest

SMALL_SEED = 11
SMALL_ROWS_PER_DAY = 400


@pytest.fixture(scope="session")
def small_scenario(tmp_path_factory: pytest.TempPathFactory):
    """A scenario generated once per session (seed 11, 400 rows per system and day)."""
    from workbench.scenarios import generate

    out: Path = tmp_path_factory.mktemp("scenario_small")
    return generate(out, seed=SMALL_SEED, rows_per_day=SMALL_ROWS_PER_DAY)
