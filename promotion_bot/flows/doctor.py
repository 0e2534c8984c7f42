"""`promotion-bot doctor`: read the repository's GitHub configuration, judge it (core/doctor.py).

Every read is one GET; a refusal or an absence is judged as an item (what is missing and how to
fix it), only an unreachable GitHub or an unknown repository stops the run (exit 2).
"""

from __future__ import annotations

from urllib.parse import quote

from promotion_bot.adapters.github import GitHubClient, GitHubError, SettingsReader
from promotion_bot.core.doctor import (
    ENVIRONMENTS,
    Diagnosis,
    Expectations,
    GitHubSetup,
    Reading,
    diagnose,
)

WORKFLOW_FOLDER = ".github/workflows"


def run_doctor(client: GitHubClient, repository: str,
               expected: Expectations | None = None) -> Diagnosis:
    return diagnose(read_setup(SettingsReader(client), repository), expected or Expectations())


def read_setup(reader: SettingsReader, repository: str) -> GitHubSetup:
    base = f"/repos/{repository}"
    repo = reader.get(base)
    if not repo.ok or not isinstance(repo.data, dict):
        if repo.absent:
            raise GitHubError(f"{repository}: no such repository, or the token cannot see it")
        raise GitHubError(f"could not read {repository}: {repo.why()}")
    branch = str(repo.data.get("default_branch") or "main")
    owner = repo.data.get("owner") or {}
    branch_rules = reader.get_list(f"{base}/rules/branches/{quote(branch, safe='')}")
    rulesets = reader.get_list(f"{base}/rulesets", params={"includes_parents": "true"})
    ids = {rule.get("ruleset_id") for rule in branch_rules.data or []
           if isinstance(rule, dict)} if branch_rules.ok else set()
    if rulesets.ok:
        ids |= {item.get("id") for item in rulesets.data or []
                if isinstance(item, dict) and item.get("target") == "tag"}
    details = {ruleset_id: reader.get(f"{base}/rulesets/{ruleset_id}",
                                      {"includes_parents": "true"})
               for ruleset_id in sorted(i for i in ids if isinstance(i, int))}
    environments: dict[str, Reading] = {}
    policies: dict[str, Reading] = {}
    secrets: dict[str, Reading] = {}
    for name in ENVIRONMENTS:
        where = f"{base}/environments/{quote(name, safe='')}"
        environments[name] = reader.get(where)
        if environments[name].ok:
            policies[name] = reader.get_list(f"{where}/deployment-branch-policies",
                                             key="branch_policies")
            secrets[name] = reader.get_list(f"{where}/secrets", key="secrets")
    if owner.get("type") == "Organization":
        installations = reader.get_list(f"/orgs/{owner.get('login')}/installations",
                                        key="installations")
    else:
        installations = Reading(None, 0, f"{repository} belongs to a user, not an "
                                "organisation: roles need organisation teams")
    return GitHubSetup(
        repository=repository,
        default_branch=branch,
        repo=repo,
        branch_rules=branch_rules,
        rulesets=rulesets,
        ruleset_details=details,
        environments=environments,
        branch_policies=policies,
        environment_secrets=secrets,
        repository_secrets=reader.get_list(f"{base}/actions/secrets", key="secrets"),
        organization_secrets=reader.get_list(f"{base}/actions/organization-secrets",
                                             key="secrets"),
        workflow_permissions=reader.get(f"{base}/actions/permissions/workflow"),
        installations=installations,
        codeowners_errors=reader.get(f"{base}/codeowners/errors", {"ref": branch}),
        workflows=reader.file_texts(repository, WORKFLOW_FOLDER, branch),
    )
