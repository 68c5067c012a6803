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

FIXTURES = Path(__file__).parent / "fixtures"
SENTENCES = yaml.safe_load((FIXTURES / "blameless_sentences.yaml").read_text(encoding="utf-8"))
LABELLED = yaml.safe_load((FIXTURES / "blameless_labelled.yaml").read_text(encoding="utf-8"))
ISSUE_20 = [item for item in LABELLED["tuning"] if item.get("source") == "issue-20"]


def _precision_recall(items: list[dict[str, object]]) -> tuple[float, float, str]:
    """Precision and recall of the check on labelled sentences, with a line naming every error."""
    true_positives = false_positives = false_negatives = 0
    errors: list[str] = []
    for item in items:
        flagged = bool(check_blameless(str(item["text"])))
        if flagged and item["blame"]:
            true_positives += 1
        elif flagged:
            false_positives += 1
            errors.append(f"false positive: {item['text']}")
        elif item["blame"]:
            false_negatives += 1
            errors.append(f"missed: {item['text']}")
    precision = true_positives / max(true_positives + false_positives, 1)
    recall = true_positives / max(true_positives + false_negatives, 1)
    summary = (
        f"precision {precision:.3f} ({true_positives}/{true_positives + false_positives}), "
        f"recall {recall:.3f} ({true_positives}/{true_positives + false_negatives}) on {len(items)} sentences"
    )
    return precision, recall, "\n".join([summary, *errors])


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


# ---------------------------------------------------------------- measured on labelled sentences --------


def test_labelled_set_is_large_and_balanced() -> None:
    tuning = LABELLED["tuning"]
    n_blame = sum(bool(item["blame"]) for item in tuning)
    assert len(tuning) >= 100
    assert 0.4 <= n_blame / len(tuning) <= 0.6
    assert len(LABELLED["held_out"]) >= 20
    # the issue's 6 quoted false positives and 3 misses are in the set verbatim
    texts = " ".join(item["text"] for item in ISSUE_20)
    for fragment in (
        "due to Riak",
        "caused by Postgres",
        "due to I/O issues",
        "Auto Scaling Groups failed to come online",
        "this job mistakenly targeted",
        "only one should have existed",
        "a technician failed to copy the new code",
        "root cause was a developer executing a test suite",
        "performed by a developer",
    ):
        assert fragment in texts, fragment


def test_precision_and_recall_on_the_labelled_set() -> None:
    precision, recall, report = _precision_recall(LABELLED["tuning"])
    print(f"blameless check, tuning set: {report}")
    assert precision >= 0.90 and recall >= 0.90, report


def test_held_out_set_is_reported() -> None:
    """The held-out sentences were written with the tuning set but not tuned on: figures are reported only."""
    precision, recall, report = _precision_recall(LABELLED["held_out"])
    print(f"blameless check, held-out set (no threshold): {report}")
    assert 0.0 <= precision <= 1.0 and 0.0 <= recall <= 1.0


@pytest.mark.parametrize("item", ISSUE_20, ids=lambda item: item["text"][:50])
def test_issue_20_sentences(item: dict[str, object]) -> None:
    assert bool(check_blameless(str(item["text"]))) is item["blame"]


@pytest.mark.parametrize(
    ("text", "rule", "phrase"),
    [
        ("Someone forgot the flag.", "forgot", "forgot"),
        ("The root cause was a developer running tests.", "root_cause_person", "root cause was a developer"),
        ("It was triggered by Sarah Jones deploying.", "caused_by_person", "triggered by Sarah Jones"),
        ("It happened because an operator mistyped a host.", "because_person", "because an operator"),
        ("The technician who replaced the disk failed to log it.", "failed_to", "failed to"),
        ("The engineer on call at the time failed to notice.", "failed_to", "failed to"),
        ("The file was mistakenly deleted by an engineer.", "mistakenly", "mistakenly"),
        ("The engineer restarted the node and failed to check the logs.", "failed_to", "failed to"),
    ],
)
def test_people_are_flagged(text: str, rule: str, phrase: str) -> None:
    flags = check_blameless(text)
    assert [(flag.rule, flag.phrase) for flag in flags] == [(rule, phrase)]
    assert all(text[flag.start : flag.end] == flag.phrase for flag in flags)


@pytest.mark.parametrize(
    "text",
    [
        "Errors were due to I/O timeouts.",  # "I/O" is not the pronoun "I"
        "The script written by an engineer failed to start.",  # the subject is the script
        "The page to the on-call engineer failed to send.",  # the engineer is not the agent
        "The Kubernetes operator failed to reconcile.",  # "operator" after a product name
        "Microsoft Teams failed to deliver the page.",  # a product in Title Case
        "The replicas lost quorum and they failed to recover.",  # "they" are the replicas
        "We should have better alerting on queue depth.",  # possession, not hindsight
        "This was not human error; the console allowed it.",  # negated
        "We ran git blame on the file.",
        "The root cause was identified by the on-call engineer.",
        "The rollback was performed by the on-call engineer after the root cause was identified.",
        "Latency doubled due to user traffic.",
        "No single person was at fault.",
    ],
)
def test_systems_and_neutral_mentions_are_not_flagged(text: str) -> None:
    assert check_blameless(text) == []


def test_context_and_guess_names_are_data(tmp_path: Path) -> None:
    custom = tmp_path / "rules.yaml"
    custom.write_text(
        yaml.safe_dump(
            {
                "person_words": ["engineer"],
                "guess_names": True,
                "rules": [
                    {
                        "id": "done_by",
                        "kind": "person_after",
                        "pattern": r"\bdone by\b",
                        "context": r"\boutage\b",
                        "reason": "names who did it",
                        "suggestion": "say what let it happen",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    rules = load_blameless_rules(custom)
    assert [flag.phrase for flag in check_blameless("The outage fix was done by Zorblax.", rules=rules)] == [
        "done by Zorblax"
    ]
    # without the context word nothing is flagged; without guess_names an unknown capitalised word is no name
    assert check_blameless("The fix was done by Zorblax.", rules=rules) == []
    assert check_blameless("The outage was caused by Zorblax.") == []
