"""`promotion-bot doctor` against the loopback GitHub: it passes on a repository configured as
docs/adopting.md says, and names each missing setting (with its fix) on one that is not. Every
answer the loopback GitHub gives is checked against GitHub's OpenAPI description."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from promotion_bot.cli.main import main
from tests import openapi_shapes
from tests.conftest import EXAMPLE, git
from tests.github_server import FakeGitHub, Repo
from tests.gitrepo import built_once

NAME = "example-org/intake-routing"
BOT = "example-org/promotion-bot"
SHA = "0123456789abcdef0123456789abcdef01234567"
OTHER_SHA = "fedcba9876543210fedcba9876543210fedcba98"
APP = 4242  # the loopback GitHub's App (FakeGitHub.app_id)
ACTIONS_APP = 15368
TEAMS = ("routing-reviewers", "promotion-admins", "security-officers", "privacy-officers")

PULL_REQUEST = {"type": "pull_request", "parameters": {
    "required_approving_review_count": 1, "dismiss_stale_reviews_on_push": True,
    "require_code_owner_review": True, "require_last_push_approval": True,
    "required_review_thread_resolution": False, "allowed_merge_methods": ["merge", "squash"]}}
STATUS_CHECKS = {"type": "required_status_checks", "parameters": {
    "strict_required_status_checks_policy": True, "required_status_checks": [
        {"context": "promotion/approvals", "integration_id": APP},
        {"context": "promotion / checks", "integration_id": ACTIONS_APP}]}}
MAIN_RULES = [{"type": "deletion"}, {"type": "non_fast_forward"}, PULL_REQUEST, STATUS_CHECKS]
IMMUTABLE = [{"type": "update", "parameters": {"update_allows_fetch_and_merge": False}},
             {"type": "deletion"}, {"type": "non_fast_forward"}]
MERGE_QUEUE = {"type": "merge_queue", "parameters": {
    "check_response_timeout_minutes": 60, "grouping_strategy": "ALLGREEN",
    "max_entries_to_build": 5, "max_entries_to_merge": 5, "merge_method": "MERGE",
    "min_entries_to_merge": 1, "min_entries_to_merge_wait_minutes": 5}}
ONLY_THE_APP = [{"actor_id": APP, "actor_type": "Integration", "bypass_mode": "always"}]


@dataclass
class World:
    fake: FakeGitHub
    work: Path

    @property
    def repo(self) -> Repo:
        return self.fake.repos[NAME.lower()]

    def ruleset(self, name: str) -> dict[str, Any]:
        return next(r for r in self.repo.rulesets.values() if r["name"] == name)

    def rule(self, ruleset: str, kind: str) -> dict[str, Any]:
        return next(r for r in self.ruleset(ruleset)["rules"] if r["type"] == kind)

    def commit(self, path: str, text: str) -> None:
        (self.work / path).write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", f"edit {path}")


def adopted_example(tmp_path: Path) -> Path:
    """The example governed repository with its workflows pinned to one promotion-bot commit
    (built once per worker, then copied with its .git)."""
    work = tmp_path / "intake-routing"
    built_once("test_doctor.adopted_example", work, _adopt_example)
    return work


def _adopt_example(work: Path) -> None:
    shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns("snapshots"))
    for workflow in (work / ".github/workflows").glob("*.yml"):
        workflow.write_text(workflow.read_text().replace("OWNER/promotion-bot", BOT)
                            .replace("0" * 40, SHA))
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "adopt promotion-bot")


def configure_as_documented(fake: FakeGitHub, work: Path) -> None:
    """Steps 2 to 8 of docs/adopting.md, as an administrator would click them."""
    fake.add_repo(NAME, git_dir=work)
    repo = fake.repos[NAME.lower()]
    for team in TEAMS:
        fake.add_team("example-org", team, {f"{team}-member": "active"})
        repo.team_permissions[f"example-org/{team}"] = "push"
    fake.add_user("admin")
    fake.add_token("admin-token", "admin")
    fake.add_collaborator(NAME, "admin", "admin")
    fake.add_org_owner("example-org", "admin")
    fake.add_ruleset(NAME, "protect main", target="branch", include=["~DEFAULT_BRANCH"],
                     rules=MAIN_RULES)
    fake.add_ruleset(NAME, "promotion records are immutable", target="tag",
                     include=["refs/tags/promotion/*"], rules=IMMUTABLE)
    fake.add_ruleset(NAME, "only the bot records", target="tag",
                     include=["refs/tags/promotion/*"], rules=[{"type": "creation"}],
                     bypass_actors=ONLY_THE_APP)
    fake.add_environment(NAME, "promotion-bot", branch_policies=["main"], secrets=[
        "PROMOTION_BOT_APP_ID", "PROMOTION_BOT_APP_PRIVATE_KEY"])
    fake.add_environment(NAME, "promotion-record", branch_policies=["main"], secrets=[
        "PROMOTION_BOT_SIGNING_KEY", "PROMOTION_BOT_APP_ID", "PROMOTION_BOT_APP_PRIVATE_KEY"])
    repo.workflow_permissions = {"default_workflow_permissions": "read",
                                 "can_approve_pull_request_reviews": False}
    repo.allow_rebase_merge = True  # GitHub's default; the ruleset's merge methods decide


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with FakeGitHub() as fake:
        work = adopted_example(tmp_path)
        configure_as_documented(fake, work)
        monkeypatch.setenv("GITHUB_TOKEN", "admin-token")
        monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
        yield World(fake, work)
    assert not fake.server_errors, "\n".join(fake.server_errors)
    openapi_shapes.validate_exchanges(fake.requests)


def doctor(world: World, *args: str) -> int:
    return main(["doctor", "--repository", NAME, "--api-url", world.fake.base_url,
                 "--request-pace", "0", "--retries", "0", *args])


def failing(capsys: pytest.CaptureFixture[str], world: World) -> dict[str, dict[str, Any]]:
    assert doctor(world, "--format", "json") in (0, 1)
    data = json.loads(capsys.readouterr().out)
    return {item["name"]: item for item in data["items"] if not item["holds"]}


def test_doctor_passes_on_a_github_configured_as_documented(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor(world) == 0
    output = capsys.readouterr().out
    assert "[FAIL]" not in output
    assert "ready: all 23 items hold" in output
    assert "promotion/approvals is required, set by the App only: source: promotion-bot " \
           "(App 4242)\n" in output
    assert "all call example-org/promotion-bot@0123456789ab" in output


Mutation = Callable[[World], object]


def drop_rule(ruleset: str, kind: str) -> Mutation:
    def mutate(world: World) -> None:
        rules = world.ruleset(ruleset)["rules"]
        rules.remove(next(r for r in rules if r["type"] == kind))
    return mutate


def set_parameter(kind: str, key: str, value: Any) -> Mutation:
    return lambda world: world.rule("protect main", kind)["parameters"].update({key: value})


def set_status_checks(*checks: dict[str, Any]) -> Mutation:
    return set_parameter("required_status_checks", "required_status_checks", list(checks))


def add_bypass(ruleset: str, actor: dict[str, Any]) -> Mutation:
    return lambda world: world.ruleset(ruleset)["bypass_actors"].append(actor)


def environment(name: str, **changes: Any) -> Mutation:
    def mutate(world: World) -> None:
        for key, value in changes.items():
            setattr(world.repo.environments[name], key, value)
    return mutate


APPROVALS_ANY_SOURCE = {"context": "promotion/approvals"}
CHECKS_FROM_ACTIONS = {"context": "promotion / checks", "integration_id": ACTIONS_APP}
APPROVALS_ITEM = "promotion/approvals is required, set by the App only"
IMMUTABLE_ITEM = "records are immutable: no update, deletion or force push, no bypass"
CREATION_ITEM = "only the App creates records"
ENV_BRANCH = "only main may use it"

# (what an administrator forgot, the mutation, the items doctor must name)
MISSING: list[tuple[str, Mutation, set[str]]] = [
    # which App is promotion-bot's is then unknown, so its tag bypass cannot be judged either
    ("status from any source (forgeable)", set_status_checks(APPROVALS_ANY_SOURCE,
                                                             CHECKS_FROM_ACTIONS),
     {APPROVALS_ITEM, "the promotion-bot App is installed", CREATION_ITEM}),
    ("checks job not required", set_status_checks(
        {"context": "promotion/approvals", "integration_id": APP}),
     {"promotion / checks is required, from GitHub Actions"}),
    ("branches may be behind main", set_parameter(
        "required_status_checks", "strict_required_status_checks_policy", False),
     {"branches must be up to date before merging"}),
    ("no code-owner review", set_parameter("pull_request", "require_code_owner_review", False),
     {"code-owner review, fresh approvals, at least one approval"}),
    ("stale approvals kept", set_parameter("pull_request", "dismiss_stale_reviews_on_push",
                                           False),
     {"code-owner review, fresh approvals, at least one approval"}),
    ("rebase merges allowed", set_parameter("pull_request", "allowed_merge_methods",
                                            ["merge", "rebase"]),
     {"no rebase merges (they rewrite the approved commits)"}),
    ("merge methods left to the repository, which allows rebase", lambda w: w.rule(
        "protect main", "pull_request")["parameters"].pop("allowed_merge_methods"),
     {"no rebase merges (they rewrite the approved commits)"}),
    ("force pushes allowed", drop_rule("protect main", "non_fast_forward"),
     {"no force pushes, no deletion"}),
    ("a merge queue", lambda w: w.ruleset("protect main")["rules"].append(MERGE_QUEUE),
     {"no merge queue (the gate does not support one)"}),
    ("admins may bypass always", add_bypass("protect main", {
        "actor_id": 1, "actor_type": "RepositoryRole", "bypass_mode": "always"}),
     {"no bypass beyond the documented break-glass"}),
    ("the App may bypass main", add_bypass("protect main", ONLY_THE_APP[0]),
     {"no bypass beyond the documented break-glass"}),
    ("no pull request rule", drop_rule("protect main", "pull_request"),
     {"changes only through pull requests"}),
    ("records may be deleted", drop_rule("promotion records are immutable", "deletion"),
     {IMMUTABLE_ITEM}),
    ("the App may move records", add_bypass("promotion records are immutable", ONLY_THE_APP[0]),
     {IMMUTABLE_ITEM}),
    ("anyone may create records", lambda w: w.ruleset("only the bot records").update(
        enforcement="disabled"), {CREATION_ITEM}),
    ("a team may create records", add_bypass("only the bot records", {
        "actor_id": 8001, "actor_type": "Team", "bypass_mode": "always"}), {CREATION_ITEM}),
    ("the records' environment is missing", lambda w: w.repo.environments.pop(
        "promotion-record"), {ENV_BRANCH}),
    ("any branch may use the App's environment", environment("promotion-bot",
                                                             branch_policies=None),
     {ENV_BRANCH}),
    ("every protected branch may sign", environment("promotion-record", branch_policies=None,
                                                    protected_branches=True), {ENV_BRANCH}),
    ("a release branch may sign", environment("promotion-record",
                                              branch_policies=["main", "release/*"]),
     {ENV_BRANCH}),
    ("no signing key in the environment", lambda w: w.repo.environments[
        "promotion-record"].secrets.pop("PROMOTION_BOT_SIGNING_KEY"),
     {"holds PROMOTION_BOT_SIGNING_KEY, PROMOTION_BOT_APP_ID, PROMOTION_BOT_APP_PRIVATE_KEY"}),
    ("the signing key as a repository secret", lambda w: w.repo.secrets.update(
        PROMOTION_BOT_SIGNING_KEY="2026-01-01T00:00:00Z"),
     {"no repository or organisation secret named PROMOTION_BOT_*"}),
    ("the App key as an organisation secret", lambda w: w.fake.org_secrets.update(
        {"example-org": {"PROMOTION_BOT_APP_PRIVATE_KEY": "2026-01-01T00:00:00Z"}}),
     {"no repository or organisation secret named PROMOTION_BOT_*"}),
    ("workflow token may write", lambda w: w.repo.workflow_permissions.update(
        default_workflow_permissions="write"),
     {"the workflow token is read-only by default"}),
    ("Actions may approve pull requests", lambda w: w.repo.workflow_permissions.update(
        can_approve_pull_request_reviews=True),
     {"GitHub Actions cannot create or approve pull requests"}),
    ("the App cannot read team members", lambda w: w.fake.installation_permissions.pop(
        "members"),
     {"the App's permissions (members: read, statuses/contents/pull requests: write, "
      "checks/actions: read)"}),
    ("the App is suspended", lambda w: setattr(w.fake, "installation_suspended", True),
     {"the promotion-bot App is installed"}),
    ("a CODEOWNERS team without write access", lambda w: w.repo.team_permissions.pop(
        "example-org/privacy-officers"), {"valid as GitHub reads it"}),
    ("one workflow pinned elsewhere", lambda w: w.commit(
        ".github/workflows/promotion-record.yml",
        (w.work / ".github/workflows/promotion-record.yml").read_text().replace(SHA, OTHER_SHA)),
     {"the five promotion workflows, pinned to one promotion-bot commit"}),
    ("no review trigger", lambda w: (
        (w.work / ".github/workflows/promotion-review-trigger.yml").unlink(),
        git(w.work, "commit", "-qam", "drop the trigger")),
     {"the five promotion workflows, pinned to one promotion-bot commit"}),
]


@pytest.mark.parametrize("case", MISSING, ids=[case[0] for case in MISSING])
def test_doctor_names_each_missing_setting_with_its_fix(
        world: World, capsys: pytest.CaptureFixture[str],
        case: tuple[str, Mutation, set[str]]) -> None:
    _, mutate, expected = case
    mutate(world)
    assert doctor(world) == 1
    text = capsys.readouterr().out
    assert "NOT READY" in text
    items = failing(capsys, world)
    assert set(items) == expected
    for item in items.values():
        assert item["fix"], item
        assert f"[FAIL] {item['name']}: {item['detail']}\n         fix: {item['fix']}" in text


def test_codeowners_errors_name_the_line_github_skips(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.repo.team_permissions.pop("example-org/privacy-officers")
    item = failing(capsys, world)["valid as GitHub reads it"]
    assert item["detail"].startswith("CODEOWNERS:15:")
    assert "Unknown owner" in item["detail"] and "@example-org/privacy-officers" in item["detail"]


@pytest.mark.parametrize("actor, holds", [
    ({"actor_id": None, "actor_type": "OrganizationAdmin", "bypass_mode": "pull_request"}, True),
    ({"actor_id": None, "actor_type": "OrganizationAdmin", "bypass_mode": "always"}, False),
])
def test_the_documented_break_glass_is_the_only_bypass_allowed_on_main(
        world: World, capsys: pytest.CaptureFixture[str], actor: dict[str, Any],
        holds: bool) -> None:
    add_bypass("protect main", actor)(world)
    items = failing(capsys, world)
    assert ("no bypass beyond the documented break-glass" not in items) is holds


@pytest.mark.parametrize("app, expected", [
    ("promotion-bot", {APPROVALS_ITEM}),  # named: the tag bypass can be judged again
    ("some-other-app", {APPROVALS_ITEM, "the promotion-bot App is installed", CREATION_ITEM}),
])
def test_app_names_the_app_when_the_status_pins_none(
        world: World, capsys: pytest.CaptureFixture[str], app: str, expected: set[str]) -> None:
    set_status_checks(APPROVALS_ANY_SOURCE, CHECKS_FROM_ACTIONS)(world)
    assert doctor(world, "--app", app, "--format", "json") == 1
    items = {i["name"]: i for i in json.loads(capsys.readouterr().out)["items"]
             if not i["holds"]}
    assert set(items) == expected


def test_repository_settings_for_merge_methods_count_when_the_ruleset_is_silent(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.rule("protect main", "pull_request")["parameters"].pop("allowed_merge_methods")
    world.repo.allow_rebase_merge = False
    assert doctor(world) == 0, capsys.readouterr().out


def test_a_token_that_cannot_see_everything_fails_with_what_to_do(
        world: World, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    world.fake.add_user("dev")
    world.fake.add_token("dev-token", "dev")
    world.fake.add_collaborator(NAME, "dev", "write")
    monkeypatch.setenv("GITHUB_TOKEN", "dev-token")
    items = failing(capsys, world)
    assert {"no bypass beyond the documented break-glass", IMMUTABLE_ITEM, CREATION_ITEM,
            "the promotion-bot App is installed with its permissions"} <= set(items)
    assert "administrator" in items["no bypass beyond the documented break-glass"]["fix"]
    assert "organisation owner" in items[
        "the promotion-bot App is installed with its permissions"]["fix"]


def test_doctor_without_a_token_or_repository_is_a_usage_error(
        world: World, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    assert doctor(world) == 2
    assert "GITHUB_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("GITHUB_TOKEN", "admin-token")
    assert main(["doctor", "--repository", "example-org/nope", "--api-url",
                 world.fake.base_url, "--request-pace", "0"]) == 2
    assert "no such repository" in capsys.readouterr().err
