"""Rollback planning (promotion_bot.core.rollback_plan): what is restored, or why it is refused. Pure."""

from __future__ import annotations

import datetime as dt

import pytest

from promotion_bot.core.models import Artifact, ChangeRequest, ModelPin, PromptRef
from promotion_bot.core.rollback_plan import (
    FileRestore,
    Promotion,
    Refusal,
    RollbackPlan,
    live_promotions,
    next_change_id,
    plan_rollback,
    pull_body,
    restored_files,
    rollback_change_request,
)

RULES = "configs/routing_tables/routing_rules_v{}.json"


def promo(
    change_id: str,
    before: str | None,
    after: str,
    *,
    target: str = "routing-rules",
    rollback_of: str | None = None,
    merged_with: tuple[str, ...] = (),
    parents: int = 2,
) -> Promotion:
    number = int(change_id[-4:])
    return Promotion(
        change_id=change_id,
        target=target,
        change_type="ruleset",
        from_version=before,
        to_version=after,
        rollback_of=rollback_of,
        commit=f"{number:04d}" * 10,
        parents=tuple(f"{number + 50 + p:04d}" * 10 for p in range(parents)),
        merged_at=dt.datetime(2026, 3, number % 28 + 1, tzinfo=dt.UTC),
        state="recorded",
        tag=f"promotion/{change_id}",
        pull_number=100 + number,
        pull_url=f"https://github.com/o/r/pull/{100 + number}",
        artifacts=(Artifact(RULES.format(after), "a" * 64),),
        merged_with=merged_with,
    )


FIRST = promo("CR-2026-0001", None, "1.0.0", merged_with=("CR-2026-0002",))
MODEL = promo("CR-2026-0002", None, "1.0.0", target="classifier", merged_with=("CR-2026-0001",))
FIVE = promo("CR-2026-0005", "1.0.0", "1.1.0")
SIX = promo("CR-2026-0006", "1.1.0", "1.2.0")
SEVEN_RB_SIX = promo("CR-2026-0007", "1.2.0", "1.1.0", rollback_of="CR-2026-0006")
HISTORY = [FIRST, MODEL, FIVE, SIX]


def ids(promotions: tuple[Promotion, ...]) -> list[str]:
    return [p.change_id for p in promotions]


@pytest.mark.parametrize(
    "history, change_id, to, undone, rollback_of, restore, restored_from, now",
    [
        # the newest promotion: revert it, restore what it replaced
        (HISTORY, "CR-2026-0006", None, ["CR-2026-0006"], "CR-2026-0006", "1.1.0",
         "CR-2026-0005", "1.2.0"),
        # --to an earlier promotion: revert everything after it, newest first
        (HISTORY, "CR-2026-0005", "CR-2026-0001", ["CR-2026-0006", "CR-2026-0005"],
         "CR-2026-0005", "1.0.0", "CR-2026-0001", "1.2.0"),
        # naming the newest with --to further back: rollback_of is the oldest undone
        (HISTORY, "CR-2026-0006", "CR-2026-0001", ["CR-2026-0006", "CR-2026-0005"],
         "CR-2026-0005", "1.0.0", "CR-2026-0001", "1.2.0"),
        # after the newest was rolled back, the one before is the newest in effect
        ([*HISTORY, SEVEN_RB_SIX], "CR-2026-0005", None, ["CR-2026-0005"], "CR-2026-0005",
         "1.0.0", "CR-2026-0001", "1.1.0"),
        # a rollback in effect can itself be rolled back: re-promotes what it removed
        ([*HISTORY, SEVEN_RB_SIX], "CR-2026-0007", None, ["CR-2026-0007"], "CR-2026-0007",
         "1.2.0", "CR-2026-0006", "1.1.0"),
        # a squash merge (one parent) is planned the same way
        ([FIRST, promo("CR-2026-0008", "1.0.0", "1.3.0", parents=1)], "CR-2026-0008", None,
         ["CR-2026-0008"], "CR-2026-0008", "1.0.0", "CR-2026-0001", "1.3.0"),
    ],
)
def test_plans(
    history: list[Promotion],
    change_id: str,
    to: str | None,
    undone: list[str],
    rollback_of: str,
    restore: str,
    restored_from: str,
    now: str,
) -> None:
    plan = plan_rollback(change_id, history, to=to)
    assert isinstance(plan, RollbackPlan), plan
    assert ids(plan.undone) == undone
    assert (plan.rollback_of, plan.restore_version, plan.version_now) == (
        rollback_of,
        restore,
        now,
    )
    assert plan.restored_from is not None and plan.restored_from.change_id == restored_from
    assert plan.branch == f"rollback/{change_id}"
    assert plan.marker == f"<!-- promotion-bot:rollback-of={rollback_of} -->"


@pytest.mark.parametrize(
    "history, change_id, to, code, message",
    [
        (HISTORY, "CR-2026-0042", None, "UNKNOWN_CHANGE",
         "refused: CR-2026-0042 is unknown: no change request of that id is merged on main"),
        (HISTORY, "CR-2026-0009", None, "NOT_PROMOTED",
         "refused: CR-2026-0009 was never promoted: it is not merged on main"),
        (HISTORY, "CR-2026-0003", None, "NOT_GOVERNED",
         "refused: CR-2026-0003 was merged on main before the policy existed; it is not a "
         "governed promotion"),
        (HISTORY, "CR-2026-0005", None, "LATER_PROMOTIONS",
         "refused: rolling back CR-2026-0005 would silently undo later promotions of "
         "routing-rules: CR-2026-0006 (routing-rules 1.1.0 -> 1.2.0, merged 2026-03-07 in "
         "000600060006)"),
        ([*HISTORY, SEVEN_RB_SIX], "CR-2026-0006", None, "ALREADY_ROLLED_BACK",
         "refused: CR-2026-0006 was already rolled back by CR-2026-0007 (routing-rules 1.2.0 -> "
         "1.1.0, merged 2026-03-08 in 000700070007); routing-rules is at 1.1.0 on main now"),
        # a rollback --to further back undid everything in between
        ([*HISTORY, promo("CR-2026-0007", "1.2.0", "1.0.0", rollback_of="CR-2026-0005")],
         "CR-2026-0006", None, "ALREADY_ROLLED_BACK", None),
        ([FIRST, MODEL], "CR-2026-0001", None, "NOTHING_TO_RESTORE",
         "refused: CR-2026-0001 is the first promotion of routing-rules; there is no earlier "
         "promoted version to restore"),
        ([FIRST, promo("CR-2026-0008", "1.0.0", "1.1.0", merged_with=("CR-2026-0009",))],
         "CR-2026-0008", None, "SHARED_MERGE",
         "refused: CR-2026-0008 was merged in 000800080008 together with CR-2026-0009; reverting "
         "that merge would undo them too"),
        (HISTORY, "CR-2026-0006", "CR-2026-0002", "TO_OTHER_TARGET",
         "refused: --to CR-2026-0002 promoted classifier, but CR-2026-0006 promoted "
         "routing-rules"),
        (HISTORY, "CR-2026-0005", "CR-2026-0006", "TO_NOT_EARLIER",
         "refused: --to CR-2026-0006 was merged after CR-2026-0005; it must name a promotion "
         "of routing-rules in effect before it"),
        (HISTORY, "CR-2026-0006", "CR-2026-0042", "UNKNOWN_CHANGE",
         "refused: --to CR-2026-0042 is unknown: no change request of that id is merged on main"),
        ([*HISTORY, SEVEN_RB_SIX, promo("CR-2026-0008", "1.1.0", "1.2.1")], "CR-2026-0008",
         "CR-2026-0006", "TO_ROLLED_BACK",
         "refused: --to CR-2026-0006 was rolled back by CR-2026-0007; its version is not one "
         "to return to"),
        ([*HISTORY, SEVEN_RB_SIX], "CR-2026-0006", "CR-2026-0005", "ALREADY_ROLLED_BACK", None),
    ],
)
def test_refusals(
    history: list[Promotion], change_id: str, to: str | None, code: str, message: str | None
) -> None:
    refused = plan_rollback(
        change_id, history, to=to, known_elsewhere={"CR-2026-0009"}, ungoverned={"CR-2026-0003"}
    )
    assert isinstance(refused, Refusal), refused
    assert refused.code == code
    if message is not None:
        assert refused.message == message
    assert refused.hint


def test_the_later_promotions_refusal_offers_to() -> None:
    refused = plan_rollback("CR-2026-0005", HISTORY)
    assert isinstance(refused, Refusal)
    assert refused.hint == (
        "to return to 1.0.0 and revert these 2 promotions explicitly: promotion-bot rollback "
        "CR-2026-0005 --to CR-2026-0001; to roll back the newest only: promotion-bot rollback "
        "CR-2026-0006"
    )


def test_live_promotions_pop_what_a_rollback_undid() -> None:
    back_to_one = promo("CR-2026-0007", "1.2.0", "1.0.0", rollback_of="CR-2026-0005")
    again = promo("CR-2026-0008", "1.0.0", "1.3.0")
    live, undone_by = live_promotions([FIRST, FIVE, SIX, back_to_one, again])
    assert [p.change_id for p in live] == ["CR-2026-0001", "CR-2026-0008"]
    assert {k: v.change_id for k, v in undone_by.items()} == {
        "CR-2026-0005": "CR-2026-0007",
        "CR-2026-0006": "CR-2026-0007",
    }


@pytest.mark.parametrize(
    "used, year, expected",
    [
        ([], 2026, "CR-2026-0001"),
        (["CR-2026-0006", "CR-2026-0041", "CR-2025-0099", "junk"], 2026, "CR-2026-0042"),
        (["CR-2026-9999"], 2026, "CR-2026-10000"),
        (["CR-2026-0006"], 2027, "CR-2027-0001"),
    ],
)
def test_next_change_id(used: list[str], year: int, expected: str) -> None:
    assert next_change_id(used, year) == expected


def test_restored_files_are_the_governed_changes_and_the_restored_artifacts() -> None:
    files = restored_files(
        {
            RULES.format("1.2.0"): ("b" * 64, None),  # added by the undone promotion
            "configs/routing_tables/shared.json": ("c" * 64, "d" * 64),
            "pack/SHA256SUMS": ("e" * 64, "f" * 64),  # governance, not an artifact
        },
        ("configs/routing_tables/**",),
        [RULES.format("1.1.0"), RULES.format("0.9.0")],  # 0.9.0 no longer exists
        {RULES.format("1.1.0"): "a" * 64},
    )
    assert [(f.path, f.action) for f in files] == [
        ("configs/routing_tables/routing_rules_v1.1.0.json", "unchanged"),
        ("configs/routing_tables/routing_rules_v1.2.0.json", "removed"),
        ("configs/routing_tables/shared.json", "reverted"),
    ]
    assert FileRestore("x", None, "a").action == "restored"


def plan_for(change_type: str = "ruleset") -> RollbackPlan:
    plan = plan_rollback("CR-2026-0006", HISTORY)
    assert isinstance(plan, RollbackPlan)
    return RollbackPlan(**{**plan.__dict__, "change_type": change_type})


def test_the_rollback_change_request() -> None:
    files = [
        FileRestore(RULES.format("1.1.0"), "a" * 64, "a" * 64),
        FileRestore(RULES.format("1.2.0"), "b" * 64, None),
    ]
    cr = rollback_change_request(plan_for(), "CR-2026-0007", "change-requests", files, None)
    assert isinstance(cr, ChangeRequest)
    assert cr.as_data() == {
        "change_id": "CR-2026-0007",
        "change_type": "ruleset",
        "target": "routing-rules",
        "title": "Roll back routing-rules to 1.1.0 (revert CR-2026-0006)",
        "proposed_version": "1.1.0",
        "current_version": "1.2.0",
        "artifacts": [{"path": RULES.format("1.1.0"), "sha256": "a" * 64}],
        "rollback_plan": "Revert this pull request; routing-rules 1.2.0 becomes current again.",
        "rollback_of": "CR-2026-0006",
    }
    assert cr.source_path == "change-requests/CR-2026-0007.yaml"
    nothing = rollback_change_request(plan_for(), "CR-2026-0007", "cr", files[1:], None)
    assert isinstance(nothing, Refusal) and nothing.code == "NOTHING_TO_DECLARE"


def test_model_and_prompt_rollbacks_carry_the_restored_pins_and_hashes() -> None:
    config = "configs/models/classifier.yaml"
    prompt = "prompts/classify_prompt.md"
    restored = ChangeRequest(
        "CR-2026-0005", "model", "routing-rules", "t", "1.1.0", "1.0.0",
        (Artifact(config, "1" * 64),), "plan",
        models=(ModelPin("classifier", "ollama/x@sha256:" + "2" * 64),),
        prompts=(PromptRef(prompt, "1.1.0", "3" * 64),),
    )
    files = [FileRestore(config, "9" * 64, "1" * 64), FileRestore(prompt, "8" * 64, "4" * 64)]
    model = rollback_change_request(plan_for("model"), "CR-2026-0007", "cr", files, restored)
    assert isinstance(model, ChangeRequest) and model.models == restored.models
    assert model.prompts == ()
    prompt_cr = rollback_change_request(plan_for("prompt"), "CR-2026-0007", "cr", files, restored)
    assert isinstance(prompt_cr, ChangeRequest)
    assert prompt_cr.prompts == (PromptRef(prompt, "1.1.0", "4" * 64),)  # hashed after revert
    unknown = rollback_change_request(plan_for("model"), "CR-2026-0007", "cr", files, None)
    assert isinstance(unknown, Refusal) and "pinned models" in unknown.message


def test_the_pull_request_body_links_and_tabulates() -> None:
    plan = plan_for()
    files = [FileRestore(RULES.format("1.2.0"), "b" * 64, None)]
    cr = rollback_change_request(
        plan, "CR-2026-0007", "change-requests", [*files, FileRestore("x", "a" * 64, "a" * 64)],
        None,
    )
    assert isinstance(cr, ChangeRequest)
    body = pull_body(plan, cr, files, repository_url="https://github.com/o/r")
    assert body.splitlines()[0] == "<!-- promotion-bot:rollback-of=CR-2026-0006 -->"
    assert "| CR-2026-0006 | 1.1.0 → 1.2.0 |" in body
    assert "[#106](https://github.com/o/r/pull/106)" in body
    assert (
        "[`promotion/CR-2026-0006`](https://github.com/o/r/releases/tag/promotion/CR-2026-0006)"
        in body
    )
    assert f"| `{RULES.format('1.2.0')}` | `bbbbbbbbbbbb…` | (absent) | removed |" in body
