"""Declared = changed, merged change requests immutable, stale detection: pure judgement."""

from __future__ import annotations

import hashlib

import pytest

from promotion_bot.core.declarations import (
    BranchChangeRequest,
    BranchFacts,
    FileChange,
    HeadFile,
    added_change_request_paths,
    immutability_problems,
    judge,
    required_checks,
)
from promotion_bot.core.errors import Problem
from promotion_bot.core.formats.documents import load_change_request, load_policy
from promotion_bot.core.models import ChangeRequest, Policy
from promotion_bot.core.policy import KeyChange
from tests.conftest import EXAMPLE

RULES = "configs/routing_tables/routing_rules_v1.1.0.json"
OLD_RULES = "configs/routing_tables/routing_rules_v1.0.0.json"
ACK = "templates/replies/acknowledgement.md"
CR_DIR = "change-requests"


def digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


@pytest.fixture(scope="module")
def policy() -> Policy:
    loaded = load_policy((EXAMPLE / ".promotion" / "policy.yaml").read_bytes())
    assert loaded.value is not None
    return loaded.value


def branch_cr(
    change_id: str = "CR-2026-0005",
    *,
    change_type: str = "ruleset",
    target: str = "routing-rules",
    current: str | None = "1.0.0",
    proposed: str = "1.1.0",
    artifacts: dict[str, str] | None = None,
    extra: str = "",
) -> BranchChangeRequest:
    listed = artifacts if artifacts is not None else {RULES: digest(RULES)}
    lines = [
        f"change_id: {change_id}",
        f"change_type: {change_type}",
        f"target: {target}",
        "title: A promotion",
        f'proposed_version: "{proposed}"',
        f"current_version: {f'{chr(34)}{current}{chr(34)}' if current else 'null'}",
        "artifacts:",
        *[f"  - path: {p}\n    sha256: {d}" for p, d in listed.items()],
        "rollback_plan: Revert the pull request.",
    ]
    path = f"{CR_DIR}/{change_id}.yaml"
    loaded = load_change_request(("\n".join(lines) + "\n" + extra).encode(), path)
    assert loaded.value is not None and loaded.document is not None, loaded.problems
    return BranchChangeRequest(loaded.value, loaded.document)


def facts(
    changes: list[FileChange],
    head: dict[str, str] | None = None,
    merged: dict[str, ChangeRequest] | None = None,
    **kwargs: object,
) -> BranchFacts:
    files = {c.path: digest(c.path) for c in changes if c.status != "D"}
    files.update(head or {})
    return BranchFacts(
        change_request_dir=CR_DIR,
        changes=tuple(changes),
        head={path: HeadFile("100644", sha) for path, sha in files.items()},
        merged=merged or {},
        **kwargs,  # type: ignore[arg-type]
    )


def rendered(items: list[object]) -> list[str]:
    return [item.render() for item in items]  # type: ignore[attr-defined]


ADD_CR = FileChange("A", f"{CR_DIR}/CR-2026-0005.yaml")


def test_the_change_requests_a_branch_adds() -> None:
    changes = [
        FileChange("A", f"{CR_DIR}/CR-2026-0005.yaml"),
        FileChange("M", f"{CR_DIR}/CR-2026-0001.yaml"),
        FileChange("R", f"{CR_DIR}/CR-2026-0007.yaml", "drafts/CR-2026-0007.yaml"),
        FileChange("A", "configs/x.json"),
    ]
    assert added_change_request_paths(changes, CR_DIR) == [
        f"{CR_DIR}/CR-2026-0005.yaml",
        f"{CR_DIR}/CR-2026-0007.yaml",
    ]


def test_modifying_deleting_or_renaming_a_merged_change_request_is_rejected() -> None:
    problems = immutability_problems(
        [
            FileChange("M", f"{CR_DIR}/CR-2026-0001.yaml"),
            FileChange("D", f"{CR_DIR}/CR-2026-0002.yaml"),
            FileChange("R", f"{CR_DIR}/CR-2026-0009.yaml", f"{CR_DIR}/CR-2026-0003.yaml"),
            FileChange("M", "configs/x.json"),
        ],
        CR_DIR,
    )
    assert [(p.file, p.message.split(";")[0]) for p in problems] == [
        (f"{CR_DIR}/CR-2026-0001.yaml", "this branch modifies a merged change request"),
        (f"{CR_DIR}/CR-2026-0002.yaml", "this branch deletes a merged change request"),
        (
            f"{CR_DIR}/CR-2026-0003.yaml",
            f"this branch renames a merged change request (to {CR_DIR}/CR-2026-0009.yaml)",
        ),
    ]


def test_a_branch_that_changes_exactly_what_it_declares_passes(policy: Policy) -> None:
    result = judge(
        [branch_cr()],
        facts([ADD_CR, FileChange("A", RULES), FileChange("M", "pack/SHA256SUMS")]),
        policy,
        {"routing-rules": "1.0.0"},
    )
    assert result.passed, rendered(result.problems)  # type: ignore[arg-type]
    assert result.governance_changes == ["pack/SHA256SUMS"]
    assert result.declared == {RULES: "CR-2026-0005"}


def test_undeclared_changes_name_the_change_request_they_belong_in(policy: Policy) -> None:
    result = judge(
        [branch_cr()],
        facts(
            [
                ADD_CR,
                FileChange("A", RULES),
                FileChange("A", OLD_RULES[:-10] + "9.json"),
                FileChange("M", ACK),
                FileChange("M", "README.md"),
            ]
        ),
        policy,
        {"routing-rules": "1.0.0"},
    )
    messages = rendered(result.problems)  # type: ignore[arg-type]
    extra = OLD_RULES[:-10] + "9.json"
    assert messages == [
        f"{extra}: changed on this branch but declared by no change request (governed by change "
        f"type ruleset) (add it to the artifacts of CR-2026-0005 ({CR_DIR}/CR-2026-0005.yaml): "
        f"- path: {extra}, sha256: {digest(extra)})",
        f"{ACK}: changed on this branch but declared by no change request (governed by change "
        "type template) (declare it in a template change request: promotion-bot new --type "
        f"template --title ... --proposed ... {ACK})",
    ]


def test_artifact_problems_are_located_in_the_change_request(policy: Policy) -> None:
    item = branch_cr(
        artifacts={
            RULES: "ab" * 32,
            "configs/routing_tables/gone.json": "cd" * 32,
            OLD_RULES: digest(OLD_RULES),
            ACK: digest(ACK),
        }
    )
    result = judge(
        [item],
        facts(
            [ADD_CR, FileChange("A", RULES), FileChange("M", ACK)],
            head={OLD_RULES: digest(OLD_RULES)},
        ),
        policy,
        {"routing-rules": "1.0.0"},
    )
    assert rendered(result.problems) == [  # type: ignore[arg-type]
        f"{CR_DIR}/CR-2026-0005.yaml:9:13: artifacts[0].sha256: sha256 of {RULES} in the head "
        f"commit is {digest(RULES)}, not {'ab' * 32} (run: promotion-bot hash {RULES}, and commit)",
        f"{CR_DIR}/CR-2026-0005.yaml:10:11: artifacts[1].path: configs/routing_tables/gone.json "
        "does not exist in the head commit (commit the file, or fix the path)",
        f"{CR_DIR}/CR-2026-0005.yaml:12:11: artifacts[2].path: {OLD_RULES} is declared but this "
        "branch does not change it (list only the files this promotion changes)",
        f"{CR_DIR}/CR-2026-0005.yaml:14:11: artifacts[3].path: {ACK} is not under the governed "
        "paths of change type ruleset (configs/routing_tables/**) (declare it in a change "
        "request of the type that governs it)",
    ]


def test_a_symbolic_link_artifact_is_refused(policy: Policy) -> None:
    given = facts([ADD_CR, FileChange("A", RULES)])
    head = {**given.head, RULES: HeadFile("120000", digest(RULES))}
    result = judge(
        [branch_cr()],
        BranchFacts(CR_DIR, given.changes, head, {}),
        policy,
        {"routing-rules": "1.0.0"},
    )
    assert [p.message for p in result.problems] == [
        f"{RULES} is a symbolic link in the head commit; declare a regular file"
    ]


@pytest.mark.parametrize(
    ("current", "promoted", "message"),
    [
        ("1.0.0", "1.1.0", "rebase: routing-rules is at 1.1.0 on main, not 1.0.0"),
        (None, "1.0.0", "rebase: routing-rules is at 1.0.0 on main, not null"),
        (
            "1.0.0",
            None,
            "rebase: routing-rules is at no version (never promoted) on main, not 1.0.0",
        ),
    ],
)
def test_a_stale_current_version_must_rebase(
    policy: Policy, current: str | None, promoted: str | None, message: str
) -> None:
    result = judge(
        [branch_cr(current=current, proposed="1.2.0")],
        facts([ADD_CR, FileChange("A", RULES)]),
        policy,
        {"routing-rules": promoted} if promoted else {},
    )
    [problem] = result.problems
    assert problem.line == 6 and problem.field == "current_version"
    assert problem.message == message


def _first_promotion() -> ChangeRequest:
    """CR-2026-0001 promoted OLD_RULES (1.0.0): what a rollback to 1.0.0 restores."""
    return branch_cr("CR-2026-0001", current=None, proposed="1.0.0",
                     artifacts={OLD_RULES: digest(OLD_RULES)}).change_request


FIRST_PROMOTION = _first_promotion()


def test_a_rollback_may_only_restore_promoted_content(policy: Policy) -> None:
    """A rollback runs only the rollback rule's checks: it cannot bring new bytes."""
    rollback = branch_cr(
        "CR-2026-0006",
        current="1.1.0",
        proposed="1.0.0",
        artifacts={OLD_RULES: digest("rewritten")},
        extra="rollback_of: CR-2026-0005\n",
    )
    judged = judge(
        [rollback],
        facts(
            [FileChange("A", f"{CR_DIR}/CR-2026-0006.yaml"), FileChange("M", OLD_RULES)],
            head={OLD_RULES: digest("rewritten")},
            merged={"CR-2026-0001": FIRST_PROMOTION, "CR-2026-0005": branch_cr().change_request},
        ),
        policy,
        {"routing-rules": "1.1.0"},
    )
    assert [p.message for p in judged.problems] == [
        f"{OLD_RULES} with this sha256 was never promoted for routing-rules: a rollback "
        "restores earlier promoted content only"
    ]


def test_deleting_a_governed_file_needs_a_rollback_of_the_promotion_that_added_it(
    policy: Policy,
) -> None:
    promotion = branch_cr().change_request
    deletion = [FileChange("D", RULES)]
    rejected = judge([], facts(deletion), policy, {})
    assert [p.message.split(";")[0] for p in rejected.problems] == [
        "deleted on this branch (governed by change type ruleset)"
    ]
    rollback = branch_cr(
        "CR-2026-0006",
        current="1.1.0",
        proposed="1.0.0",
        artifacts={OLD_RULES: digest(OLD_RULES)},
        extra="rollback_of: CR-2026-0005\n",
    )
    accepted = judge(
        [rollback],
        facts(
            [FileChange("A", f"{CR_DIR}/CR-2026-0006.yaml"), *deletion],
            head={OLD_RULES: digest(OLD_RULES)},
            merged={"CR-2026-0001": FIRST_PROMOTION, "CR-2026-0005": promotion},
        ),
        policy,
        {"routing-rules": "1.1.0"},
    )
    assert accepted.passed, rendered(accepted.problems)  # type: ignore[arg-type]


def test_a_rollback_must_name_a_merged_promotion_of_the_same_target(policy: Policy) -> None:
    rollback = branch_cr(extra="rollback_of: CR-2026-0004\n")
    result = judge(
        [rollback], facts([ADD_CR, FileChange("A", RULES)]), policy, {"routing-rules": "1.0.0"}
    )
    assert [p.message for p in result.problems] == [
        "CR-2026-0004 is not a change request merged on main"
    ]
    other = branch_cr(target="classify-prompt", current=None).change_request
    result = judge(
        [rollback],
        facts([ADD_CR, FileChange("A", RULES)], merged={"CR-2026-0004": other}),
        policy,
        {"routing-rules": "1.0.0"},
    )
    assert [p.message for p in result.problems] == [
        "CR-2026-0004 moved classify-prompt, this rollback moves routing-rules"
    ]


def test_two_change_requests_may_not_move_one_target_or_declare_one_file(policy: Policy) -> None:
    first, second = branch_cr(), branch_cr("CR-2026-0006")
    result = judge(
        [first, second],
        facts([ADD_CR, FileChange("A", f"{CR_DIR}/CR-2026-0006.yaml"), FileChange("A", RULES)]),
        policy,
        {"routing-rules": "1.0.0"},
    )
    assert [p.message for p in result.problems] == [
        "routing-rules is also moved by CR-2026-0005 on this branch",
        f"{RULES} is also declared by CR-2026-0005",
    ]


def test_an_already_merged_change_id_and_a_stray_file_are_rejected(policy: Policy) -> None:
    item = branch_cr()
    result = judge(
        [item],
        facts(
            [ADD_CR, FileChange("A", RULES), FileChange("A", f"{CR_DIR}/notes.txt")],
            merged={"CR-2026-0005": item.change_request},
        ),
        policy,
        {"routing-rules": "1.0.0"},
    )
    assert [p.message for p in result.problems] == [
        "CR-2026-0005 is already merged on main",
        f"not a change request: files in {CR_DIR}/ are <change_id>.yaml",
    ]


def test_an_unreadable_change_request_is_mentioned_in_the_undeclared_hint(policy: Policy) -> None:
    result = judge(
        [],
        facts([ADD_CR, FileChange("A", RULES)], unreadable=(f"{CR_DIR}/CR-2026-0005.yaml",)),
        policy,
        {},
    )
    [problem] = result.problems
    assert problem.hint == (
        f"if {CR_DIR}/CR-2026-0005.yaml declares it, fix the problems reported there; else "
        "declare it in a ruleset change request"
    )


def test_required_checks_follow_the_change_types_and_the_rollback_rule(policy: Policy) -> None:
    template = branch_cr(
        "CR-2026-0006",
        change_type="template",
        target="reply-templates",
        artifacts={ACK: digest(ACK)},
    )
    rollback = branch_cr(
        "CR-2026-0007",
        target="classify-prompt",
        change_type="prompt",
        artifacts={"prompts/p.md": digest("p")},
        extra=f'prompts:\n  - path: prompts/p.md\n    version: "1.1.0"\n'
        f"    sha256: {digest('p')}\nrollback_of: CR-2026-0003\n",
    )
    assert required_checks([branch_cr(), template, rollback], policy) == {
        "rules-lint": ["CR-2026-0005"],
        "rules-simulate": ["CR-2026-0005"],
        "pack-verify": ["CR-2026-0005", "CR-2026-0006", "CR-2026-0007"],
        "template-policy": ["CR-2026-0006"],
    }


def test_a_rollback_to_an_earlier_promotion_may_delete_what_the_later_ones_added(
    policy: Policy,
) -> None:
    """`promotion-bot rollback CR-2026-0005 --to CR-2026-0001` reverts CR-2026-0005 and the
    later CR-2026-0006 of the same target: both added files, both are deleted."""
    newer = "configs/routing_tables/routing_rules_v1.2.0.json"
    first = branch_cr().change_request
    second = branch_cr(
        "CR-2026-0006", current="1.1.0", proposed="1.2.0", artifacts={newer: digest(newer)}
    ).change_request
    other_target = branch_cr(
        "CR-2026-0007",
        target="other-rules",
        current=None,
        proposed="1.0.0",
        artifacts={"configs/routing_tables/other.json": digest("o")},
    ).change_request
    rollback = branch_cr(
        "CR-2026-0008",
        current="1.2.0",
        proposed="1.0.0",
        artifacts={OLD_RULES: digest(OLD_RULES)},
        extra="rollback_of: CR-2026-0005\n",
    )
    merged = {"CR-2026-0001": FIRST_PROMOTION, "CR-2026-0005": first, "CR-2026-0006": second,
              "CR-2026-0007": other_target}
    deletions = [FileChange("D", RULES), FileChange("D", newer)]
    accepted = judge(
        [rollback],
        facts(
            [FileChange("A", f"{CR_DIR}/CR-2026-0008.yaml"), *deletions],
            head={OLD_RULES: digest(OLD_RULES)},
            merged=merged,
        ),
        policy,
        {"routing-rules": "1.2.0"},
    )
    assert accepted.passed, rendered(accepted.problems)  # type: ignore[arg-type]
    foreign = judge(
        [rollback],
        facts(
            [FileChange("A", f"{CR_DIR}/CR-2026-0008.yaml"),
             FileChange("D", "configs/routing_tables/other.json")],
            head={OLD_RULES: digest(OLD_RULES)},
            merged=merged,
        ),
        policy,
        {"routing-rules": "1.2.0"},
    )
    assert [p.file for p in foreign.problems] == ["configs/routing_tables/other.json"]


# --- keys governed as a change type (change_types.<type>.keys) -------------------------------

APP = "configs/app.yaml"
LLM_CHANGE = KeyChange(APP, "classification.llm", '{"model": "a:1.0"}', '{"model": "a:1.1"}')


@pytest.fixture(scope="module")
def key_policy() -> Policy:
    text = (EXAMPLE / ".promotion" / "policy.yaml").read_text()
    old = '    paths: ["configs/models/**"]\n'
    new = old + '    keys:\n      - files: ["configs/app.yaml"]\n        keys: [classification.llm]\n'
    loaded = load_policy(text.replace(old, new).encode())
    assert loaded.value is not None, loaded.problems
    return loaded.value


def model_cr(artifacts: dict[str, str]) -> BranchChangeRequest:
    return branch_cr(
        change_type="model", target="classifier", artifacts=artifacts,
        extra=f"models:\n  - name: classifier\n    identifier: a@sha256:{'0' * 64}\n",
    )


def test_a_changed_governed_key_must_be_declared_by_a_change_request_of_its_type(
    key_policy: Policy,
) -> None:
    result = judge([], facts([FileChange("M", APP)], key_changes=(LLM_CHANGE,)), key_policy, {})
    assert rendered(result.problems) == [
        "configs/app.yaml: its model keys changed on this branch (classification.llm) but "
        "declared by no change request (governed by change type model) (declare it in a model "
        "change request: promotion-bot new --type model --title ... --proposed ... "
        "configs/app.yaml)"
    ]


def test_other_edits_of_a_key_governed_file_need_no_change_request(key_policy: Policy) -> None:
    result = judge([], facts([FileChange("M", APP)]), key_policy, {})
    assert result.passed, rendered(result.problems)


def test_a_key_governed_file_may_be_an_artifact_of_its_change_type(key_policy: Policy) -> None:
    cr = model_cr({APP: digest(APP)})
    result = judge(
        [cr], facts([ADD_CR, FileChange("M", APP)], key_changes=(LLM_CHANGE,)), key_policy,
        {"classifier": "1.0.0"},
    )
    assert result.passed, rendered(result.problems)
    assert result.declared == {APP: "CR-2026-0005"}


def test_a_key_governed_file_is_not_an_artifact_of_another_change_type(key_policy: Policy) -> None:
    cr = branch_cr(artifacts={APP: digest(APP)})
    result = judge([cr], facts([ADD_CR, FileChange("M", APP)]), key_policy, {"routing-rules": "1.0.0"})
    assert any(
        "configs/app.yaml is not under the governed paths of change type ruleset" in p.message
        for p in result.problems
    )


def test_an_unreadable_key_governed_file_fails_the_declarations(key_policy: Policy) -> None:
    problem = Problem(file=APP, line=3, message="duplicate key 'llm'")
    result = judge([], facts([FileChange("M", APP)], key_problems=(problem,)), key_policy, {})
    assert rendered(result.problems) == ["configs/app.yaml:3: duplicate key 'llm'"]
