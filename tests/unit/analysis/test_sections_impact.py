"""The impact section's summary: coded groups get the data card's value labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from analysis import assess_impact
from analysis.context import build_context
from analysis.sections.impact import headline, summarise
from register.schema import ColumnRoles, DataCard, DataSource, Incident


def test_summary_labels_coded_groups_from_the_data_card() -> None:
    n = 24 * 40
    start = datetime(2026, 3, 1, tzinfo=UTC)
    frame = pd.DataFrame(
        {
            "ts": [start + timedelta(hours=i) for i in range(n)],
            "customer": [f"c{i % 50}" for i in range(n)],
            "x": [float(i % 7) for i in range(n)],
            "p": [i % 2 for i in range(n)],
            "y": [(i // 2) % 2 for i in range(n)],
            "group": [str(i % 3) for i in range(n)],
        }
    )
    card = DataCard(
        source=DataSource(location="unused.parquet"),
        task="binary_classification",
        columns=ColumnRoles(
            event_time="ts",
            entity_id="customer",
            features=["x"],
            prediction="p",
            label="y",
            sensitive=["group"],
        ),
        value_labels={"group": {"0": "North", "1": "South"}},
    )
    incident = Incident(
        id="INC-2026-0001", title="t", category="data_quality", severity="SEV-3",
        occurred_at=start + timedelta(days=30), aware_at=start + timedelta(days=31),
    )
    context = build_context(incident, card, as_of=start + timedelta(days=40), data=frame)
    impact = assess_impact(
        context.open_logs(data=frame), card, context.windows, as_of=context.as_of, signal=context.signal
    )
    summary = summarise(impact, context)
    labels = {row.group: row.group_label for row in summary.by_group if row.attribute == "group"}
    assert labels == {"0": "North", "1": "South", "2": None}
    assert "judged decisions failed" in headline(summary)
