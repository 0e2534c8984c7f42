"""Promotion records: build and parse the statement; the predicate schema."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jsonschema
import pytest

from promotion_bot.core.formats.schemas import load_schema
from promotion_bot.core.models import Artifact, ChangeRequest
from promotion_bot.core.records import (
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    Approval,
    ChainLink,
    CheckSummary,
    EvidenceSummary,
    FileDigest,
    MergeCommitFacts,
    PullRequestFacts,
    RecordedDecision,
    RecordError,
    RecordInputs,
    build_statement,
    parse_statement,
    statement_bytes,
    statement_digest,
)

SHA = "a" * 40
DIGEST = "b" * 64

CR = ChangeRequest(
    change_id="CR-2026-0042",
    change_type="ruleset",
    target="routing-rules",
    title="Route GDPR requests",
    proposed_version="1.10",
    current_version="1.9",
    artifacts=(Artifact("configs/routing_tables/r.json", DIGEST),),
    rollback_plan="Revert the pull request.",
    source_path="change-requests/CR-2026-0042.yaml",
)


def inputs(**changes: Any) -> RecordInputs:
    values: dict[str, Any] = {
        "change_request": CR,
        "change_request_path": CR.source_path,
        "change_request_sha256": DIGEST,
        "pull_request": PullRequestFacts(7, "https://x/pull/7", "t", "erin", "main", SHA, SHA, SHA),
        "merge": MergeCommitFacts(SHA, SHA, SHA, "adam", dt.datetime(2026, 3, 1, tzinfo=dt.UTC)),
        "policy": FileDigest(".promotion/policy.yaml", DIGEST),
        "codeowners": FileDigest("CODEOWNERS", DIGEST),
        "decision": RecordedDecision(
            True,
            ("reviewer",),
            (Approval("rita", "reviewer", 11, SHA, "2026-03-01T00:00:00Z"),),
            (),
            "approved",
        ),
        "snapshot": {"snapshot_version": 1},
        "evidence": EvidenceSummary(
            DIGEST, SHA, "passed", (CheckSummary("lint", "passed", "https://run"),)
        ),
        "previous": ChainLink("CR-2026-0041", SHA, DIGEST),
    }
    values.update(changes)
    return RecordInputs(**values)


def test_round_trip_keeps_every_fact() -> None:
    payload = statement_bytes(build_statement(inputs()))
    record = parse_statement(payload)
    assert record.digest == statement_digest(payload)
    assert record.change_id == "CR-2026-0042"
    assert record.proposed_version == "1.10"  # strings stay strings
    assert record.artifacts == CR.artifacts
    assert record.decision.approvals[0].login == "rita"
    assert record.evidence is not None and record.evidence.checks[0].run_url == "https://run"
    assert record.previous == ChainLink("CR-2026-0041", SHA, DIGEST)
    assert record.merged_at == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert not record.is_violation


def test_statement_is_canonical_and_deterministic() -> None:
    first = statement_bytes(build_statement(inputs()))
    assert first == statement_bytes(build_statement(inputs()))
    data = json.loads(first)
    assert data["_type"] == STATEMENT_TYPE and data["predicateType"] == PREDICATE_TYPE
    assert first == json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def test_direct_push_record_has_no_pull_request() -> None:
    record = parse_statement(
        statement_bytes(
            build_statement(
                inputs(
                    pull_request=None,
                    snapshot=None,
                    evidence=None,
                    previous=None,
                    decision=RecordedDecision(False, (), (), ("no pull request",), "violation"),
                )
            )
        )
    )
    assert record.pull_request is None and record.is_violation


def test_predicate_schema_is_valid_2020_12() -> None:
    schema = load_schema("promotion-record")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert all(
        "description" in prop or "$ref" in prop or "const" in prop
        for prop in schema["properties"].values()
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.update(_type="x"), "_type"),
        (lambda s: s.update(predicateType="x"), "predicateType"),
        (
            lambda s: s["subject"].append({"name": "other", "digest": {"sha256": DIGEST}}),
            "subject does not list",
        ),
        (lambda s: s["predicate"].pop("decision"), "missing required key 'decision'"),
        (lambda s: s["predicate"]["merge"].update(commit="HEAD"), "merge.commit"),
        (
            lambda s: s["predicate"]["change_request"]["content"].update(proposed_version=1.1),
            "proposed_version",
        ),
    ],
)
def test_parse_refuses_what_is_not_a_record(mutate: Any, message: str) -> None:
    statement = build_statement(inputs())
    mutate(statement)
    with pytest.raises(RecordError, match=message):
        parse_statement(statement_bytes(statement))


def test_parse_refuses_non_json() -> None:
    with pytest.raises(RecordError, match="not JSON"):
        parse_statement(b"\xff")
