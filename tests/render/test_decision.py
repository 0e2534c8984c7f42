"""Rendering a decision: the same tree as text, Markdown and JSON; hostile text stays inert."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import pytest

from promotion_bot.core.approvals import (
    Approval,
    Candidate,
    Decision,
    IgnoredReview,
    ReviewRef,
    RoleDecision,
    Status,
)
from promotion_bot.core.errors import Problem
from promotion_bot.core.models import Artifact, ChangeRequest
from promotion_bot.core.policy import KeyChange, Reason
from promotion_bot.render.decision import (
    COMMENT_MARKER,
    decision_to_json,
    render_markdown,
    render_text,
)

HEAD = "1234567890abcdef1234567890abcdef12345678"
BASE = "fedcba0987654321fedcba0987654321fedcba09"
AT = dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC)


def ref(review_id: int, login: str, state: str = "APPROVED", commit: str = HEAD) -> ReviewRef:
    return ReviewRef(login, review_id, state, commit, AT)


KEY = KeyChange("configs/models/classifier.yaml", "endpoint", '"http://127.0.0.1"',
                '"https://x.example"')
CR = ChangeRequest(
    change_id="CR-2026-0005",
    change_type="model",
    target="classifier",
    title="Move | the <b>classifier</b> `now`",
    proposed_version="1.1.0",
    current_version="1.0.0",
    artifacts=(Artifact("configs/models/classifier.yaml", "c" * 64),),
    rollback_plan="Revert.",
)


def decision(status: Status = Status.PENDING, problems: tuple[Problem, ...] = ()) -> Decision:
    return Decision(
        status=status,
        summary="waiting for security_officer",
        pull_number=42,
        repository="example-org/intake-routing",
        author="erin",
        base_sha=BASE,
        head_sha=HEAD,
        roles=(
            RoleDecision(
                role="reviewer",
                status=Status.APPROVED,
                owners=("@example-org/routing-reviewers",),
                min_approvals=1,
                reasons=(Reason("change_type", "CR-2026-0005 is a model change",
                                change_id="CR-2026-0005"),),
                satisfied_by=(Approval(ref(1, "rita")),),
            ),
            RoleDecision(
                role="security_officer",
                status=Status.PENDING,
                owners=("@example-org/security-officers",),
                min_approvals=1,
                reasons=(Reason("condition", f"condition external-llm-egress: {KEY.describe()}",
                                path=KEY.file, condition="external-llm-egress", key_change=KEY),),
                candidates=(Candidate("@example-org/security-officers", ("sam", "sue")),),
            ),
        ),
        change_requests=(CR,),
        governed_files=("configs/models/classifier.yaml",),
        key_changes=(KEY,),
        ignored_reviews=(IgnoredReview(ref(2, "adam", commit="0" * 40),
                                       "stale: given on 0000000, the head is now 1234567"),),
        problems=problems,
    )


def test_text_names_people_reviews_and_reasons() -> None:
    text = render_text(decision())
    assert "Decision: PENDING: waiting for security_officer" in text
    assert "  [ok] reviewer (1/1)  approved" in text
    assert "      approved by rita (review 1, 2026-03-02T11:00:00Z, on 1234567)" in text
    assert "  [..] security_officer (0/1)  pending" in text
    assert "      can still approve: @example-org/security-officers: sam, sue" in text
    assert ('      because condition external-llm-egress: configs/models/classifier.yaml: endpoint '
            'changed from "http://127.0.0.1" to "https://x.example"') in text
    assert "  CR-2026-0005 model classifier 1.0.0 -> 1.1.0" in text
    assert f"      {'c' * 64}  configs/models/classifier.yaml" in text
    assert "  - adam (review 2, 2026-03-02T11:00:00Z, on 0000000): stale" in text


def test_markdown_is_a_sticky_comment_with_a_table_per_role() -> None:
    markdown = render_markdown(decision())
    assert markdown.startswith(COMMENT_MARKER + "\n## Promotion approvals: ⏳ pending\n")
    assert "| **reviewer** | ✅ approved (1/1) | rita (review 1, 2026-03-02T11:00:00Z, `1234567`) | – |" in markdown
    assert ("| **security\\_officer** | ⏳ pending (0/1) | – | "
            "`@example-org/security-officers`: sam, sue |") in markdown
    assert f"`{'c' * 64}`" in markdown  # the full artifact hash, to compare
    assert "1.0.0 → 1.1.0" in markdown


def test_markdown_keeps_pull_request_text_inert() -> None:
    markdown = render_markdown(decision())
    row = next(line for line in markdown.splitlines() if line.startswith("| CR-2026-0005"))
    # the title's pipe cannot split the table, its HTML cannot render, its backticks stay text
    assert "Move \\| the \\<b\\>classifier\\</b\\> \\`now\\`" in row
    assert row.count(" | ") == 4
    assert "@" not in markdown.split("### What you are approving")[0].replace(
        "`@example-org/security-officers`", ""
    )  # logins are not @-mentioned: the comment is rewritten on every event


def test_markdown_lists_problems_first_when_in_error() -> None:
    problem = Problem("CODEOWNERS", "configs/models/x.yaml has no owner for role reviewer",
                      line=7, hint="add @example-org/routing-reviewers")
    markdown = render_markdown(decision(Status.ERROR, (problem,)))
    assert "## Promotion approvals: ❌ error" in markdown
    assert ("- `CODEOWNERS:7`: configs/models/x.yaml has no owner for role reviewer "
            "(add @\u200bexample-org/routing-reviewers)") in markdown  # named, not pinged


def test_json_has_the_documented_keys_and_is_serialisable() -> None:
    data = decision_to_json(decision())
    json.dumps(data)
    assert list(data) == [
        "format", "status", "summary", "pull_request", "roles", "change_requests",
        "governed_files", "config_key_changes", "blocking_reviews", "ignored_reviews",
        "unused_approvals", "membership_source", "notes", "problems",
    ]
    assert data["format"] == "promotion-bot/approvals/v1"
    assert data["roles"][0]["approvals"] == [{
        "login": "rita", "review_id": 1, "state": "APPROVED", "commit_id": HEAD,
        "submitted_at": "2026-03-02T11:00:00Z", "note": None,
    }]
    assert data["roles"][1]["reasons"][0]["key_change"] == {
        "file": "configs/models/classifier.yaml", "key": "endpoint",
        "before": '"http://127.0.0.1"', "after": '"https://x.example"',
    }
    assert data["change_requests"][0]["artifacts"] == [
        {"path": "configs/models/classifier.yaml", "sha256": "c" * 64}
    ]


# What GitHub would turn into a ping, a reference, a link or markup, if it were left live.
LIVE = {
    "team mention": r"@example-org/promotion-admins",
    "user mention": r"@mallory\b",
    "e-mail link": r"m@evil\.example",
    "bare URL": r"https?://",
    "www link": r"www\.evil",
    "issue reference": r"(?<![\w\\])#\d",
    "GH reference": r"GH-\d",
    "HTML tag": r"(?<!\\)<(?:script|img|details)",
    "entity": r"(?<!\\)&#",
    "link or image": r"(?<!\\)\]\(",
    "cell break": r"(?<!\\)\|",
    "math": r"(?<!\\)\$",
}


@pytest.mark.parametrize("title", [
    "Route @example-org/promotion-admins and @mallory",
    "mail m@evil.example or see https://evil.example and http://x and www.evil.example",
    "fixes #12, GH-34 and other/repo#5",
    "<script>alert(1)</script> <img src=x> <details open>",
    "&#64;example-org/promotion-admins &#x40;mallory",
    "![pixel](https://evil.example/p.png) [docs](https://evil.example)",
    "a | b | c", "$\\text{approved}$",
    "line one\n\n## Approved ✅\n@mallory",
], ids=["mentions", "links", "references", "html", "entities", "images-and-links", "pipes",
        "math", "newlines"])
def test_a_hostile_change_request_title_stays_inert(title: str) -> None:
    hostile = dataclasses.replace(decision(), change_requests=(
        dataclasses.replace(CR, title=title),))
    row = next(line for line in render_markdown(hostile).splitlines()
               if line.startswith("| CR-2026-0005"))
    cells = re.split(r"(?<!\\)\|", row)
    title_cell = cells[1]
    assert len(cells) == 7, row  # five cells and the row's two edges
    for name, pattern in LIVE.items():
        assert not re.search(pattern, title_cell), (name, title_cell)
