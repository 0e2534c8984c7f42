"""What init proposes, from a repository's files alone (core/adoption.py, pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pytest

from promotion_bot.core.adoption import (
    Answers,
    Proposal,
    RepositoryFacts,
    _proposal_problems,
    propose,
)
from promotion_bot.core.formats.documents import load_policy
from promotion_bot.core.models import Policy

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
SHA = "0123456789abcdef0123456789abcdef01234567"
TEMPLATES = {"promotion-gate.yml": "uses: OWNER/promotion-bot/x.yml@" + "0" * 40 + "\n"}
PINNED = Answers(org="acme", bot_repository="acme/promotion-bot", bot_ref=SHA)


def facts(files: Mapping[str, str]) -> RepositoryFacts:
    contents = {path: text.encode() for path, text in files.items()}
    return RepositoryFacts(tuple(sorted(contents)), contents.get)


def proposal(files: Mapping[str, str], answers: Answers = PINNED) -> Proposal:
    return propose(facts(files), answers, TEMPLATES, NOW)


def policy_of(result: Proposal) -> Policy:
    assert result.ready, (result.questions, result.problems)
    text = next(f.content for f in result.files if f.path == ".promotion/policy.yaml")
    loaded = load_policy(text.encode())
    assert loaded.value is not None, loaded.problems
    return loaded.value


CHECK = {"scripts/verify.sh": "exit 0\n"}


@pytest.mark.parametrize("files, expected", [
    pytest.param({"configs/routing_tables/r_v1.json": "{}", "configs/models/c.yaml": "a: 1",
                  "prompts/p.md": "x", "templates/a/ack.md": "x"},
                 {"ruleset": ("configs/routing_tables/**",), "model": ("configs/models/**",),
                  "prompt": ("prompts/**",), "template": ("templates/**",)},
                 id="the example's layout"),
    pytest.param({"src/app/models/user.py": "", "rules/r.json": "{}"},
                 {"ruleset": ("rules/**",)}, id="code folders are not artifacts"),
    pytest.param({"tests/fixtures/rules/r.json": "{}", "docs/prompts/p.md": "",
                  ".github/ISSUE_TEMPLATE/bug.md": "", "business_rules/r.yaml": "a: 1"},
                 {"ruleset": ("business_rules/**",)}, id="tests, docs and hidden folders skipped"),
    pytest.param({"a/prompts/x.md": "", "b/prompts/y.md": ""},
                 {"prompt": ("a/prompts/**", "b/prompts/**")}, id="two folders of one type"),
    pytest.param({"prompts/templates/x.md": "", "rules/r.json": "{}"},
                 {"prompt": ("prompts/**",), "ruleset": ("rules/**",)},
                 id="the outermost folder decides"),
])
def test_change_types_come_from_the_folders_that_hold_artifacts(
        files: dict[str, str], expected: dict[str, tuple[str, ...]]) -> None:
    policy = policy_of(proposal({**files, **CHECK}))
    assert {name: rule.paths for name, rule in policy.change_types.items()} == expected


@pytest.mark.parametrize("files, expected", [
    pytest.param({"scripts/verify_pack.sh": "", "scripts/update_pack.sh": ""},
                 {"verify-pack": ("bash", "scripts/verify_pack.sh")},
                 id="a check script, not an update script"),
    pytest.param({"tools/check_rules.py": "", "lint.sh": ""},
                 {"lint": ("bash", "lint.sh"), "check-rules": ("python3", "tools/check_rules.py")},
                 id="python and root scripts"),
    pytest.param({"Makefile": "build:\n\tcc\nlint: deps\n\truff\ntest:\n\tpytest\nX := 1\n"},
                 {"make-lint": ("make", "lint"), "make-test": ("make", "test")},
                 id="Makefile targets"),
])
def test_checks_the_repository_already_has_become_policy_checks(
        files: dict[str, str], expected: dict[str, tuple[str, ...]]) -> None:
    policy = policy_of(proposal({"rules/r.json": "{}", **files}))
    assert {name: check.run for name, check in policy.checks.items()} == expected
    assert policy.change_types["ruleset"].required_checks == tuple(expected)
    assert policy.rollback.required_checks == tuple(expected)


def test_a_check_given_by_option_governs_the_script_it_runs() -> None:
    answers = Answers(org="acme", bot_repository="acme/promotion-bot", bot_ref=SHA,
                      checks={"rules-lint": "python3 tools/ctl.py rules lint"})
    policy = policy_of(proposal({"rules/r.json": "{}", "tools/ctl.py": ""}, answers))
    assert policy.checks["rules-lint"].run == ("python3", "tools/ctl.py", "rules", "lint")
    assert "tools/**" in policy.governance.paths


def test_a_sha256_manifest_becomes_the_builtin_check_and_is_governed() -> None:
    policy = policy_of(proposal({"rules/r.json": "{}", "pack/SHA256SUMS": ""}))
    assert policy.checks["pack-manifest"].builtin == "sha256-manifest"
    assert dict(policy.checks["pack-manifest"].settings) == {"manifest": "pack/SHA256SUMS"}
    assert "pack/SHA256SUMS" in policy.governance.paths


def test_model_configs_give_pinned_models_and_the_egress_keys_they_use() -> None:
    files = {"models/a.yaml": "identifier: x@sha256:1\nclient:\n  base_url: http://h\n",
             "models/b.json": '{"provider": "p", "fallbacks": [{"endpoint": "e"}]}', **CHECK}
    policy = policy_of(proposal(files))
    assert policy.change_types["model"].required_checks == ("verify", "pinned-models")
    (egress,) = policy.conditions
    assert egress.require_roles == ("security_officer",)
    (watch,) = egress.config_keys
    assert set(watch.keys) == {"client.base_url", "provider", "fallbacks.*.endpoint"}
    assert watch.files == ("models/**/*.json", "models/**/*.yaml")


def test_model_configs_without_identifiers_leave_pinned_models_out_with_a_note() -> None:
    result = proposal({"models/a.yaml": "temperature: 0\n", **CHECK})
    assert "pinned-models" not in policy_of(result).checks
    assert any("pinned-models" in note for note in result.notes)
    (egress,) = policy_of(result).conditions
    assert egress.config_keys[0].keys == ("provider", "endpoint")  # watched before they exist


def test_privacy_templates_need_the_privacy_officer_and_their_codeowners_say_so() -> None:
    result = proposal({"templates/replies/a.md": "", "templates/gdpr/access.md": "", **CHECK})
    (privacy,) = policy_of(result).conditions
    assert privacy.paths == ("templates/gdpr/**",)
    assert privacy.require_roles == ("privacy_officer", "administrator")
    codeowners = next(f.content for f in result.files if f.path == "CODEOWNERS")
    last = codeowners.splitlines()[-1].split()
    assert last == ["/templates/gdpr/", "@acme/promotion-reviewers", "@acme/promotion-admins",
                    "@acme/privacy-officers"]


def test_what_init_cannot_fill_in_is_one_named_question_each() -> None:
    result = propose(facts({"src/app.py": ""}), Answers(), TEMPLATES, NOW)
    assert [q.option for q in result.questions] == [
        "--org", "--bot-repository", "--bot-ref", "--change-type", "--check"]
    assert result.files == ()


def test_the_origin_and_the_installation_fill_in_org_and_pin() -> None:
    given = RepositoryFacts(("rules/r.json", "lint.sh"), {}.get, origin_owner="acme",
                            bot_repository="acme/promotion-bot", bot_commit=SHA)
    result = propose(given, Answers(), TEMPLATES, NOW)
    assert result.ready
    gate = next(f for f in result.files if f.path == ".github/workflows/promotion-gate.yml")
    assert gate.content == f"uses: acme/promotion-bot/x.yml@{SHA}\n"


def test_the_proposal_check_catches_codeowners_that_miss_a_role() -> None:
    """The self-check init runs before offering anything can fail: CODEOWNERS without the
    security officer on the model configurations is a problem."""
    files = {"models/a.yaml": "provider: p\n", **CHECK}
    result = proposal(files)
    policy_text = next(f.content for f in result.files if f.path == ".promotion/policy.yaml")
    codeowners = next(f for f in result.files if f.path == "CODEOWNERS")
    weakened = type(codeowners)(codeowners.path, codeowners.content.replace(
        " @acme/security-officers", ""), "create")
    assert _proposal_problems(facts(files), policy_text, codeowners) == []
    problems = _proposal_problems(facts(files), policy_text, weakened)
    assert [p.message for p in problems] == [
        "models/a.yaml: the rule '/models/' gives it to @acme/promotion-reviewers "
        "@acme/promotion-admins, none of which fills role security_officer"]
