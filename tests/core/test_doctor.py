"""The doctor's judgement on GitHub's answers (core/doctor.py, pure): cases the loopback GitHub
of tests/cli/test_doctor.py does not reach."""

from __future__ import annotations

from typing import Any

from promotion_bot.core.doctor import GitHubSetup, Reading, diagnose

SHOWN = Reading([])


def setup(**changes: Any) -> GitHubSetup:
    values: dict[str, Any] = dict(
        repository="acme/rules", default_branch="main", repo=Reading({"allow_rebase_merge": False}),
        branch_rules=SHOWN, rulesets=SHOWN, ruleset_details={}, environments={},
        branch_policies={}, environment_secrets={}, repository_secrets=SHOWN,
        organization_secrets=SHOWN, workflow_permissions=Reading({}), installations=SHOWN,
        codeowners_errors=Reading({"errors": []}), workflows=Reading({}))
    values.update(changes)
    return GitHubSetup(**values)


def items(given: GitHubSetup) -> dict[str, tuple[bool, str]]:
    return {item.name: (item.holds, item.detail) for item in diagnose(given).items}


def pull_request(ruleset: int, **parameters: Any) -> dict[str, Any]:
    defaults = {"required_approving_review_count": 0, "dismiss_stale_reviews_on_push": False,
                "require_code_owner_review": False, "require_last_push_approval": False,
                "required_review_thread_resolution": False}
    return {"type": "pull_request", "parameters": defaults | parameters, "ruleset_id": ruleset}


def test_an_organisation_ruleset_and_a_repository_ruleset_add_up() -> None:
    rules = [pull_request(1, require_code_owner_review=True, required_approving_review_count=1),
             pull_request(2, dismiss_stale_reviews_on_push=True,
                          require_last_push_approval=True)]
    judged = items(setup(branch_rules=Reading(rules)))
    assert judged["code-owner review, fresh approvals, at least one approval"] == (True, "all on")


def test_a_setting_github_refuses_to_show_fails_and_says_which_token() -> None:
    refused = Reading(None, 403, "Resource not accessible by personal access token")
    judged = items(setup(branch_rules=refused, workflow_permissions=refused))
    holds, detail = judged["rules on main"]
    assert not holds and "administrator" in detail and "403" in detail
    assert judged["workflow token read-only; Actions cannot approve pull requests"][0] is False


def test_a_repository_owned_by_a_user_cannot_have_the_app_read_its_teams() -> None:
    user_owned = Reading(None, 0, "acme/rules belongs to a user, not an organisation: roles "
                         "need organisation teams")
    holds, detail = items(setup(installations=user_owned))[
        "the promotion-bot App is installed with its permissions"]
    assert not holds and "belongs to a user" in detail


def test_nothing_configured_fails_every_item_that_needs_a_setting() -> None:
    """Empty answers everywhere: only the items that ask for an absence hold (no merge queue,
    no bypass, no leaked secret, no CODEOWNERS error); everything that needs a setting fails."""
    judged = diagnose(setup())
    assert not judged.healthy
    assert [item.name for item in judged.items if item.holds] == [
        "no merge queue (the gate does not support one)",
        "no bypass beyond the documented break-glass",
        "no repository or organisation secret named PROMOTION_BOT_*",
        "valid as GitHub reads it"]
    assert len(judged.failing) == 14
