"""The demo's exercise: start, scripted findings with two labelled mistakes, the report."""

from __future__ import annotations

from pathlib import Path

from workbench.exercise import run_exercise_demo


def test_run_exercise_demo_names_both_mistakes(tmp_path: Path) -> None:
    paths = run_exercise_demo(tmp_path / "demo", seed=7, kind="pii_exposure", rows_per_day=100)
    assert set(paths) >= {"briefing", "findings", "html", "md"}
    report = paths["md"].read_text(encoding="utf-8")
    assert "onset answered 24.0 h late" in report
    assert "missed regime gdpr\\_art34" in report
    assert "Nobody could say whether it was still happening within the first hour" in report
    html = paths["html"].read_text(encoding="utf-8")
    assert "<script" not in html and "https://" not in html
