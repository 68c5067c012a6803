"""Exposure scan benchmark: engine prefilter + detectors vs every recognizer on every row.

Synthetic interaction log: ``--rows`` answers of about 500 characters (support prose), of which
``--lookalike-rate`` hold benign look-alikes (order numbers, Luhn-failing tracking references) and
``--planted-rate`` a planted e-mail, phone or card number. Written to Parquet, opened through the data
card reader, scanned with :func:`analysis.llm_exposure.scan_exposure` (DuckDB prefilter, ``find_pii`` on
the candidates). Peers, in the same run, on a seeded sample of ``--sample`` rows, extrapolated:

- Presidio's ``AnalyzerEngine`` with the same recognizer objects (no NLP engine: a stub returning no
  tokens, so no spaCy model) on every row, plus detect-secrets' plugins on every row; its results go
  through the register's limits (score, phone shape) and the overlap merge, and must equal the scan's
  findings on the sample;
- ``find_pii(text, gated=False)`` (every detector on every row, through the register's own code).

The log is generated and written in chunks (``--chunk`` rows), never held whole in memory; peak RSS is
the process's ``ru_maxrss``. ``--no-peer`` skips the peers (the 10M memory run).

Usage: ``PYTHONPATH=. python bench/exposure_bench.py --rows 1000000 --repeats 3`` or
``... --rows 10000000 --no-peer --repeats 1 --memory-limit 1GB``. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from analysis._llm_data import open_interaction_log
from analysis.llm_exposure import scan_exposure
from register import pii
from register.pii import find_pii
from register.schema import DataCard, DataSource, InteractionRoles

SENTENCES = (
    "Thanks for reaching out about your recent purchase.",
    "Refunds are processed within five to seven working days after we receive the item.",
    "You can track the parcel from the orders page of your account.",
    "Our support team is available from eight in the morning to eight in the evening.",
    "Sale items can be returned within thirty days of delivery if unused.",
    "I have forwarded your request to the billing team, who will reply by e-mail.",
    "Please keep the original packaging until the return has been confirmed.",
    "Is there anything else I can help you with today?",
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _luhn_fail(rng: np.random.Generator) -> str:
    digits = [int(d) for d in rng.integers(0, 10, 16)]
    total = sum((d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 else d for i, d in enumerate(reversed(digits)))
    if total % 10 == 0:
        digits[-1] = (digits[-1] + 1) % 10
    number = "".join(map(str, digits))
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


def make_texts(rows: int, lookalike: float, planted: float, seed: int) -> list[str]:
    """Answers of about 500 characters; some with look-alikes, some with a planted value."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(SENTENCES), (rows, 7))
    kind = rng.random(rows)
    texts = []
    for i in range(rows):
        text = " ".join(SENTENCES[j] for j in picks[i])[:480]
        if kind[i] < planted:
            value = (f"c{i}.user@example.org", f"+44 20 7946 0{i % 1000:03d}", "4111 1111 1111 1111")[i % 3]
            text += f" The other customer is {value}."
        elif kind[i] < planted + lookalike:
            text += f" Order ORD-{int(rng.integers(10**7, 10**8))}, tracking {_luhn_fail(rng)}."
        texts.append(text)
    return texts


def write_log(path: str, rows: int, args: argparse.Namespace, keep: set[int]) -> dict[int, str]:
    """Write the log in chunks; return the texts of the rows in ``keep`` (the peers' sample)."""
    kept: dict[int, str] = {}
    writer: pq.ParquetWriter | None = None
    for chunk_start in range(0, rows, args.chunk):
        n = min(args.chunk, rows - chunk_start)
        texts = make_texts(n, args.lookalike_rate, args.planted_rate, args.seed * 1_000_003 + chunk_start)
        kept.update({i: texts[i - chunk_start] for i in keep if chunk_start <= i < chunk_start + n})
        index = range(chunk_start, chunk_start + n)
        ids = [f"s{i}" for i in index]
        table = pa.table(
            {
                "trace_id": ids,
                "span_id": ids,
                "start_time": pa.array([T0 + timedelta(seconds=i) for i in index], pa.timestamp("us", "UTC")),
                "enduser.id": [f"u{i % 50_000}" for i in index],
                "gen_ai.conversation.id": [f"c{i // 3}" for i in index],
                "gen_ai.output.messages": texts,
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=100_000)
    assert writer is not None
    writer.close()
    return kept


def analyzer_engine() -> Any:
    """Presidio's AnalyzerEngine with the register's recognizer objects and no NLP engine (no model)."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine

    class NoNlpEngine(NlpEngine):  # pattern recognizers need no tokens; nothing is loaded
        def load(self) -> None:
            pass

        def is_loaded(self) -> bool:
            return True

        def process_text(self, text: str, language: str) -> NlpArtifacts:
            return NlpArtifacts([], [], [], [], self, language)

        def process_batch(self, texts: Any, language: str, **kwargs: Any) -> Any:
            for text in texts:
                yield text, self.process_text(text, language)

        def is_stopword(self, word: str, language: str) -> bool:
            return False

        def is_punct(self, word: str, language: str) -> bool:
            return False

        def get_supported_entities(self) -> list[str]:
            return []

        def get_supported_languages(self) -> list[str]:
            return ["en"]

    recognizers, phone, possible = pii._presidio_recognizers()
    registry = RecognizerRegistry(recognizers=[*recognizers, phone, possible], supported_languages=["en"])
    return AnalyzerEngine(registry=registry, nlp_engine=NoNlpEngine(), supported_languages=["en"])


def engine_findings(engine: Any, text: str) -> list[pii.Finding]:
    """AnalyzerEngine + detect-secrets on one text, with the register's limits and overlap merge."""
    findings = []
    plus = pii._PLUS_DIGIT.search(text) is not None
    for result in engine.analyze(text, language="en"):
        name = result.recognition_metadata.get("recognizer_name", "")
        if result.score < pii.MIN_SCORE:
            continue
        if result.entity_type == "PHONE_NUMBER":
            if name == "PossiblePhoneRecognizer" and not (plus and text[result.start] in "+\uff0b"):
                continue
            if not pii._phone_keep(text, result.start, result.end):
                continue
        kind = pii.PRESIDIO_ENTITIES[result.entity_type]
        findings.append(pii.Finding(kind, result.start, result.end, float(result.score), f"presidio:{name}"))
    for detector in pii._secret_detectors():
        findings.extend(detector.run(text))
    return pii._resolve(findings)


def main() -> None:  # noqa: D103
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lookalike-rate", type=float, default=0.02)
    parser.add_argument("--planted-rate", type=float, default=0.005)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=500_000)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed + 1)
    sample = [int(i) for i in np.sort(rng.choice(args.rows, size=min(args.sample, args.rows), replace=False))]
    folder = tempfile.mkdtemp(prefix="exposure_bench_")
    path = os.path.join(folder, "spans.parquet")
    started = time.perf_counter()
    sample_texts = write_log(path, args.rows, args, set(sample))
    write_s = time.perf_counter() - started
    roles = InteractionRoles(
        trace_id="trace_id", span_id="span_id", start_time="start_time", user_id="enduser.id",
        conversation_id="gen_ai.conversation.id", output_messages="gen_ai.output.messages",
    )  # fmt: skip
    card = DataCard.interaction_log(DataSource(location=path), roles)
    find_pii("warm up a@b.example 4111 1111 1111 1111 +44 20 7946 0958")  # imports, once per process

    scans = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        spans = open_interaction_log(card, threads=args.threads, memory_limit=args.memory_limit)
        result = scan_exposure(spans, card, as_of=T0 + timedelta(days=400))
        scans.append(time.perf_counter() - started)
    scan_s = statistics.median(scans)
    total = result.total("output")
    found = 0 if total is None else total.rows
    print(
        f"rows {args.rows:,}, look-alikes {args.lookalike_rate:.1%}, planted {args.planted_rate:.1%}, "
        f"DuckDB threads {args.threads}, memory_limit {args.memory_limit}; log written in {write_s:.0f} s"
    )
    print("| path | rows/s | wall s (median) | runs s | note |\n| --- | ---: | ---: | --- | --- |")
    print(
        f"| prefilter + term flags in DuckDB, find_pii on distinct candidates | {args.rows / scan_s:,.0f} | "
        f"{scan_s:.1f} | {', '.join(f'{s:.1f}' for s in scans)} | "
        f"{result.candidate_rows['output']:,} candidates, {found:,} rows with findings |"
    )
    if not args.no_peer:
        names = {f"s{i}" for i in sample}
        mine = {
            row
            for row in result.spans[["span_id", "entity", "start", "end"]].itertuples(index=False, name=None)
            if row[0] in names
        }
        engine = analyzer_engine()
        peers = {
            "Presidio AnalyzerEngine + detect-secrets on every row": lambda t: engine_findings(engine, t),
            "find_pii(gated=False): every detector on every row": lambda t: find_pii(t, gated=False),
        }
        ratios = []
        for label, run in peers.items():
            runs, found_by_peer = [], set()
            for _ in range(args.repeats):
                started = time.perf_counter()
                found_by_peer = {
                    (f"s{i}", f.entity, f.start, f.end) for i in sample for f in run(sample_texts[i])
                }
                runs.append((time.perf_counter() - started) / len(sample) * args.rows)
            peer_s = statistics.median(runs)
            ratios.append(f"{peer_s / scan_s:.1f}x against {label.split(' on ')[0].split(':')[0]}")
            print(
                f"| {label} | {args.rows / peer_s:,.0f} | {peer_s:.1f} | "
                f"{', '.join(f'{s:.0f}' for s in runs)} | "
                f"extrapolated from {len(sample):,} rows; findings equal on them: {found_by_peer == mine} |"
            )
        print("ratio " + "; ".join(ratios))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss_mb:,.0f} MB")


if __name__ == "__main__":
    main()
