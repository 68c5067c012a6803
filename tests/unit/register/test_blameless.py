from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from register.blameless import (
    BlamelessRules,
    check_blameless,
    check_fields,
    load_blameless_rules,
)
from register.errors import ValidationFailed

SENTENCES = yaml.safe_load(
    (Path(__file__).parent / "fixtures" / "blameless_sentences.yaml").read_text(encoding="utf-8")
)


def test_fixture_has_enough_sentences_both_ways() -> None:
    assert len(SENTENCES["flag"]) >= 12
    assert len(SENTENCES["keep"]) >= 12
    texts = [item["text"] for item in SENTENCES["flag"] + SENTENCES["keep"]]
    assert "The on-call engineer failed to notice the alert for 40 minutes." in texts
    assert "The pipeline failed to refresh the feature store for 36 hours." in texts


@pytest.mark.parametrize("item", SENTENCES["flag"], ids=lambda item: item["text"][:50])
def test_blame_sentence_is_flagged(item: dict[str, str]) -> None:
    flags = check_blameless(item["text"], field="summary")
    assert flags, item["text"]
    assert any(item["phrase"].lower() in flag.phrase.lower() for flag in flags)
    for flag in flags:
        assert item["text"][flag.start : flag.end] == flag.phrase
        assert flag.field == "summary"
        assert flag.reason and flag.suggestion


@pytest.mark.parametrize("item", SENTENCES["keep"], ids=lambda item: item["text"][:50])
def test_systems_sentence_is_not_flagged(item: dict[str, str]) -> None:
    assert check_blameless(item["text"]) == []


def test_the_two_examples_of_the_issue() -> None:
    flagged = check_blameless("the on-call engineer failed to notice")
    assert [flag.rule for flag in flagged] == ["failed_to"]
    assert check_blameless("the pipeline failed to refresh") == []


def test_empty_and_none_give_no_flags() -> None:
    assert check_blameless(None) == []
    assert check_blameless("   ") == []


def test_non_string_is_refused() -> None:
    with pytest.raises(TypeError, match="must be a str or None"):
        check_blameless(12345)  # type: ignore[arg-type]


def test_overlapping_matches_are_reported_once() -> None:
    flags = check_blameless("The outage was caused by human error.")
    assert [flag.rule for flag in flags] == ["human_error"]


def test_several_flags_come_in_text_order() -> None:
    text = "Human error again: the analyst forgot the check and we blame the vendor."
    flags = check_blameless(text)
    assert [flag.rule for flag in flags] == ["human_error", "forgot", "blame"]
    assert [flag.start for flag in flags] == sorted(flag.start for flag in flags)


def test_check_fields_names_list_items() -> None:
    flags = check_fields(
        {
            "summary": "Drift in income since 3 November.",
            "contributing_factors": ["No freshness check.", "Bob's mistake during the deploy."],
            "lessons_learned": None,
        }
    )
    assert [(flag.field, flag.rule) for flag in flags] == [("contributing_factors[1]", "persons_mistake")]


def test_phrase_list_is_data(tmp_path: Path) -> None:
    custom = tmp_path / "rules.yaml"
    custom.write_text(
        yaml.safe_dump(
            {
                "person_words": ["engineer"],
                "rules": [
                    {
                        "id": "dropped_ball",
                        "kind": "phrase",
                        "pattern": r"\bdropped the ball\b",
                        "reason": "idiom of blame",
                        "suggestion": "say what was missing",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    rules = load_blameless_rules(custom)
    assert isinstance(rules, BlamelessRules)
    assert [flag.rule for flag in check_blameless("Ops dropped the ball.", rules=rules)] == ["dropped_ball"]
    # the default list does not know this idiom, and the custom list does not know "human error"
    assert check_blameless("Ops dropped the ball.") == []
    assert check_blameless("human error", rules=rules) == []


def test_invalid_rules_file_lists_failures(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        yaml.safe_dump(
            {
                "person_words": ["engineer"],
                "rules": [{"id": "x", "kind": "sometimes", "pattern": "(", "reason": "r", "suggestion": "s"}],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed, match="are not valid") as excinfo:
        load_blameless_rules(broken)
    problems = " ".join(str(row["problem"]) for row in excinfo.value.failures)
    assert "valid regular expression" in problems
    locations = {row["location"] for row in excinfo.value.failures}
    assert {"rules.0.kind", "rules.0.pattern"} <= locations


def test_packaged_rules_cover_the_issue_phrases() -> None:
    ids = {rule.id for rule in load_blameless_rules().rules}
    assert {
        "human_error",
        "should_have",
        "careless",
        "fault_of",
        "negligent",
        "blame",
        "failed_to",
        "forgot",
    } <= ids
