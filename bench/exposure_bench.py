"""Exposure scan benchmark: engine prefilter + detectors vs every recognizer on every row.

Synthetic interaction log: ``--rows`` answers of about 500 characters (support prose), of which
``--lookalike-rate`` hold benign look-alikes (order numbers, Luhn-failing tracking references) and
``--planted-rate`` a planted e-mail, phone or card number. Written to Parquet, opened through the data
card reader, scanned with :func:`analysis.llm_exposure.scan_exposure` (DuckDB prefilter, ``find_pii`` on
the candidates). The peer is what Presidio's ``AnalyzerEngine`` does with the same recognizers: every
recognizer (and detect-secrets plugin) on every row, i.e. ``find_pii(text, gated=False)``, timed on a
seeded sample of ``--sample`` rows and extrapolated; its findings on the sample must equal the scan's.

Usage: ``PYTHONPATH=. python bench/exposure_bench.py --rows 1000000``. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from analysis._llm_data import open_interaction_log
from analysis.llm_exposure import scan_exposure
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


def main() -> None:  # noqa: D103
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lookalike-rate", type=float, default=0.02)
    parser.add_argument("--planted-rate", type=float, default=0.005)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    texts = make_texts(args.rows, args.lookalike_rate, args.planted_rate, args.seed)
    folder = tempfile.mkdtemp(prefix="exposure_bench_")
    path = os.path.join(folder, "spans.parquet")
    ids = [f"s{i}" for i in range(args.rows)]
    table = pa.table(
        {
            "trace_id": ids,
            "span_id": ids,
            "start_time": pa.array(
                [T0 + timedelta(seconds=i) for i in range(args.rows)], pa.timestamp("us", "UTC")
            ),
            "enduser.id": [f"u{i % 50_000}" for i in range(args.rows)],
            "gen_ai.conversation.id": [f"c{i // 3}" for i in range(args.rows)],
            "gen_ai.output.messages": texts,
        }
    )
    pq.write_table(table, path, row_group_size=100_000)
    del table
    roles = InteractionRoles(
        trace_id="trace_id", span_id="span_id", start_time="start_time", user_id="enduser.id",
        conversation_id="gen_ai.conversation.id", output_messages="gen_ai.output.messages",
    )  # fmt: skip
    card = DataCard.interaction_log(DataSource(location=path), roles)
    find_pii("warm up a@b.example 4111 1111 1111 1111 +44 20 7946 0958")  # imports, once per process

    started = time.perf_counter()
    spans = open_interaction_log(card, threads=args.threads)
    result = scan_exposure(spans, card, as_of=T0 + timedelta(days=400))
    scan_s = time.perf_counter() - started

    rng = np.random.default_rng(args.seed + 1)
    sample = np.sort(rng.choice(args.rows, size=min(args.sample, args.rows), replace=False))
    started = time.perf_counter()
    peer = {(f"s{i}", f.entity, f.start, f.end) for i in sample for f in find_pii(texts[i], gated=False)}
    peer_s = (time.perf_counter() - started) / len(sample) * args.rows
    names = {f"s{i}" for i in sample}
    mine = {
        row
        for row in result.spans[["span_id", "entity", "start", "end"]].itertuples(index=False, name=None)
        if row[0] in names
    }
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = result.total("output")
    length = np.mean([len(t) for t in texts[:10_000]])
    found = 0 if total is None else total.rows
    print(
        f"rows {args.rows:,}, mean length {length:.0f} characters, look-alikes {args.lookalike_rate:.1%}, "
        f"planted {args.planted_rate:.1%}, DuckDB threads {args.threads}"
    )
    print("| path | rows/s | wall s | note |\n| --- | ---: | ---: | --- |")
    print(
        f"| prefilter in DuckDB + find_pii on candidates | {args.rows / scan_s:,.0f} | {scan_s:.1f} | "
        f"{result.candidate_rows['output']:,} candidates, {found:,} rows with findings |"
    )
    print(
        f"| every recognizer on every row (AnalyzerEngine-equivalent) | {args.rows / peer_s:,.0f} | "
        f"{peer_s:.1f} (extrapolated from {len(sample):,} rows) | "
        f"findings equal on the sample: {mine == peer} |"
    )
    print(f"ratio {peer_s / scan_s:.1f}x; peak RSS {rss_mb:,.0f} MB")


if __name__ == "__main__":
    main()
