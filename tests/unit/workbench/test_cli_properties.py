"""Property: whatever arguments the register commands get, the CLI exits 0 or 2, never with a traceback.

Hypothesis drives ``workbench register add/update/list/show/event/export/import`` in-process (``main(argv)``)
against one SQLite register in a temporary folder, with generated ids, field names, ``--set`` values
(free text, control characters, huge and many-digit integers, malformed and deeply nested JSON),
limits, times, export paths and import files. Every outcome must be a success (0) or one clear user
error (2): an exit code of 1 is an unexpected exception, which is a bug to fix.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.cli import main

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_FOLDER = Path(tempfile.mkdtemp(prefix="cli_properties_"))
REGISTER = str(_FOLDER / "r.sqlite")
EXPORTS = _FOLDER / "exports"

TRICKY_TEXT = st.sampled_from(
    [
        "",
        "null",
        "[",
        "{",
        "[unclosed",
        '{"a": 1}',
        "[1, 2]",
        "a\x00b",
        "\x1b[31mred",
        "tab\tand\nnewline",
        "../../x",
        str(10**30),
        "1" * 4400,
        "-1",
        "9223372036854775808",
        "[" * 10_000 + "]" * 10_000,
        '{"a":' * 5_000 + "1" + "}" * 5_000,
        "true",
        "2026-03-01T00:00:00Z",
        "\u202eevil",
        "undecodable \udcff argument",
        "x" * 30_000,
    ]
)
TEXT = st.one_of(TRICKY_TEXT, st.text(max_size=40))
# about half the ids name the incident that exists, so commands get past the lookup and use their values
KNOWN_ID = st.just("INC-2026-0001")
IDS = st.one_of(
    KNOWN_ID,
    KNOWN_ID,
    st.sampled_from(["INC-2026-0002", "INC-2026-" + "9" * 23, "INC-2026-" + "1" * 4400]),
    TEXT,
)
TIMES = st.one_of(st.sampled_from(["2026-03-02T10:00:00Z", "2026-03-02 11:00+02:00"]), TEXT)
FIELDS = st.sampled_from(
    [
        "title",
        "summary",
        "affected_count",
        "tags",
        "ongoing",
        "occurred_at",
        "failure_signal",
        "severity",
        "model_versions",
        "status",
        "id",
        "no_such_field",
        "",
    ]
)
SETS = st.lists(st.builds(lambda name, value: f"{name}={value}", FIELDS, TEXT) | TEXT, max_size=3)
INTEGERS = st.one_of(st.integers(), st.sampled_from([str(10**30), "1" * 4400, "0", "-5"]))


def _flag(name: str, values: st.SearchStrategy) -> st.SearchStrategy[list[str]]:
    return st.one_of(st.just([]), values.map(lambda value: [name, str(value)]))


def _sets(pairs: list[str]) -> list[str]:
    return [part for pair in pairs for part in ("--set", pair)]


@st.composite
def add_args(draw: st.DrawFn) -> list[str]:
    return [
        "register", "add", "-r", REGISTER,
        "--title", draw(TEXT),
        "--category", draw(st.sampled_from(["safety", "data_quality"]) | TEXT),
        "--severity", draw(st.sampled_from(["SEV-1", "SEV-4"]) | TEXT),
        *draw(_flag("--id", IDS)),
        *draw(_flag("--aware-at", TIMES)),
        *_sets(draw(SETS)),
    ]  # fmt: skip


@st.composite
def update_args(draw: st.DrawFn) -> list[str]:
    pairs = draw(SETS) or ["summary=x"]
    return ["register", "update", draw(IDS), "-r", REGISTER, *_sets(pairs)]


@st.composite
def list_args(draw: st.DrawFn) -> list[str]:
    return [
        "register", "list", "-r", REGISTER,
        *draw(_flag("--limit", INTEGERS)),
        *draw(_flag("--system", TEXT)),
        *draw(_flag("--severity", TEXT)),
        *draw(_flag("--since", TIMES)),
        *draw(st.sampled_from([[], ["--json"]])),
    ]  # fmt: skip


@st.composite
def show_args(draw: st.DrawFn) -> list[str]:
    return ["register", "show", draw(IDS), "-r", REGISTER, *draw(_flag("--as-of", TIMES))]


@st.composite
def event_args(draw: st.DrawFn) -> list[str]:
    return [
        "register", "event", draw(IDS), "-r", REGISTER,
        "--kind", draw(st.sampled_from(["note", "deploy"]) | TEXT),
        "-d", draw(TEXT),
        *draw(_flag("--at", TIMES)),
    ]  # fmt: skip


@st.composite
def export_args(draw: st.DrawFn) -> list[str]:
    name = draw(st.text(st.sampled_from("abc-_."), min_size=1, max_size=8))
    suffix = draw(st.sampled_from(["", ".json", ".yaml", ".xlsx", ".csv", ".txt"]))
    path = str(EXPORTS / f"{name}{suffix}") if name not in (".", "..") else str(EXPORTS / "x.json")
    return [
        "register", "export", path, "-r", REGISTER,
        *draw(_flag("--incident", IDS)),
        *draw(_flag("--format", st.sampled_from(["json", "yaml", "csv", "xlsx", "pdf"]))),
        *draw(st.sampled_from([[], ["--force"]])),
    ]  # fmt: skip


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)


@st.composite
def import_args(draw: st.DrawFn) -> list[str]:
    suffix = draw(st.sampled_from([".json", ".yaml", ".csv", ".xlsx"]))
    incident = {
        "id": draw(st.one_of(st.integers(1000, 9999).map(lambda n: f"INC-2025-{n}"), IDS)),
        "title": draw(TEXT),
        "category": "safety",
        "severity": "SEV-2",
        "aware_at": "2025-03-02T09:00:00Z",
    }
    if draw(st.booleans()):
        incident[draw(FIELDS)] = draw(JSON_VALUES)
    document = draw(
        st.sampled_from(["bundle", "raw"]).map(
            lambda kind: (
                {"format": "workbench-bundle", "version": 1, "incidents": [incident]}
                if kind == "bundle"
                else None
            )
        )
    )
    text = json.dumps(document) if document is not None else json.dumps(draw(JSON_VALUES))
    if draw(st.integers(0, 3)) == 0:
        text = draw(TEXT)
    path = _FOLDER / f"import{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return [
        "register", "import", str(path), "-r", REGISTER,
        *draw(st.sampled_from([[], ["--dry-run"], ["--allow-empty"]])),
    ]  # fmt: skip


COMMANDS = st.one_of(
    add_args(), update_args(), list_args(), show_args(), event_args(), export_args(), import_args()
)


@pytest.fixture(scope="module", autouse=True)
def _register() -> None:
    EXPORTS.mkdir(parents=True, exist_ok=True)
    assert main(["register", "init", "-r", REGISTER]) == 0
    base = ["register", "add", "-r", REGISTER, "--category", "safety", "--severity", "SEV-2"]
    assert main([*base, "--title", "first", "--aware-at", "2026-03-02T09:00:00Z"]) == 0


@SETTINGS
@given(argv=COMMANDS)
def test_register_commands_never_end_in_a_traceback(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err, err[-2000:]
    assert code in (0, 2), (argv[:3], err[-2000:])
