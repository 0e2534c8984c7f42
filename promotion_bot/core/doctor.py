"""`promotion-bot doctor`: is the repository's GitHub configuration what docs/adopting.md says?
Pure: judges the answers GitHub gave (in its REST shapes), item by item, each with its fix.

An item holds only when GitHub's answer shows it: a setting the token cannot read, an answer that
is missing a field, an App that cannot be identified, all fail with what to do. Nothing is assumed.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

APPROVALS_CONTEXT = "promotion/approvals"
CHECKS_CONTEXT = "promotion / checks"
RECORD_TAG = "refs/tags/promotion/CR-2026-0001"  # any promotion/* tag: the rulesets must cover it
ENVIRONMENTS: Mapping[str, tuple[str, ...]] = {
    "promotion-bot": ("PROMOTION_BOT_APP_ID", "PROMOTION_BOT_APP_PRIVATE_KEY"),
    "promotion-record": ("PROMOTION_BOT_SIGNING_KEY", "PROMOTION_BOT_APP_ID",
                         "PROMOTION_BOT_APP_PRIVATE_KEY"),
}
SECRET_PREFIX = "PROMOTION_BOT_"
APP_PERMISSIONS: Mapping[str, tuple[str, ...]] = {  # permission -> levels that suffice
    "members": ("read", "write"),
    "statuses": ("write",),
    "contents": ("write",),
    "pull_requests": ("write",),
    "checks": ("read", "write"),
    "actions": ("read", "write"),
}
CALLERS = ("promotion-checks.yml", "promotion-gate.yml", "promotion-record.yml",
           "promotion-rollback.yml")
REVIEW_TRIGGER = "promotion review trigger"
_CALL = re.compile(r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/\.github/workflows/"
                   r"(promotion-[a-z-]+\.yml)@([0-9a-f]{40})$")
GUIDE = "docs/adopting.md"


@dataclass(frozen=True)
class Reading:
    """One answer from GitHub: its JSON, or why there is none. `status` 404 means GitHub says
    the thing does not exist; any other failure means it could not be read."""

    data: Any = None
    status: int = 200
    message: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def absent(self) -> bool:
        return self.status == 404

    def why(self) -> str:
        said = f"{self.status}: {self.message}" if self.message else str(self.status)
        if self.status in (401, 403):
            return (f"GitHub refused to show it ({said}); run doctor with a token of a "
                    "repository administrator who is also an organisation owner")
        return f"GitHub could not be read ({self.status or 'no answer'}: {self.message})"


@dataclass(frozen=True)
class GitHubSetup:
    """What doctor read. `rulesets` maps ruleset id -> the full ruleset; `workflows` maps the
    file names under .github/workflows on the default branch to their text."""

    repository: str
    default_branch: str
    repo: Reading
    branch_rules: Reading
    rulesets: Reading  # the list
    ruleset_details: Mapping[int, Reading]
    environments: Mapping[str, Reading]
    branch_policies: Mapping[str, Reading]
    environment_secrets: Mapping[str, Reading]
    repository_secrets: Reading
    organization_secrets: Reading
    workflow_permissions: Reading
    installations: Reading
    codeowners_errors: Reading
    workflows: Reading  # {name: text}


@dataclass(frozen=True)
class Expectations:
    app_slug: str | None = None  # --app: the App that must set promotion/approvals


@dataclass(frozen=True)
class Item:
    group: str
    name: str
    holds: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Diagnosis:
    repository: str
    items: tuple[Item, ...]
    app: str | None = None  # the App doctor identified (slug, id)

    @property
    def healthy(self) -> bool:
        return all(item.holds for item in self.items)

    @property
    def failing(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if not item.holds)


@dataclass
class _Report:
    items: list[Item] = field(default_factory=list)

    def add(self, group: str, name: str, holds: bool, detail: str, fix: str) -> None:
        self.items.append(Item(group, name, holds, detail, "" if holds else fix))

    def unreadable(self, group: str, name: str, reading: Reading, fix: str = "") -> None:
        self.items.append(Item(group, name, False, reading.why(), fix or
                               "read it again with an administrator's token"))


def diagnose(setup: GitHubSetup, expected: Expectations | None = None) -> Diagnosis:
    expected = expected or Expectations()
    report = _Report()
    branch = setup.default_branch
    rules = _branch_rules(setup, report)
    app_report = _Report()
    app_id, app_label = _app(setup, rules, expected, app_report)
    if rules is not None:
        _pull_request_rule(rules, setup, branch, report)
        _protection_rules(rules, branch, report)
        _status_checks(rules, app_id, app_label, branch, report)
        _bypass(setup, rules, branch, report)
    report.items += app_report.items
    _tag_rulesets(setup, app_id, app_label, report)
    _environments(setup, branch, report)
    _secrets(setup, report)
    _actions(setup, report)
    _codeowners(setup, report)
    _workflows(setup, report)
    return Diagnosis(setup.repository, tuple(report.items), app_label)


# --- main's branch ruleset -----------------------------------------------------------------

MAIN_RULESET = ("Settings → Rules → Rulesets → 'protect main' (a branch ruleset on the default "
                f"branch; {GUIDE}, step 7)")


def _branch_rules(setup: GitHubSetup, report: _Report) -> list[Mapping[str, Any]] | None:
    group = f"{setup.default_branch} (branch ruleset)"
    if not setup.branch_rules.ok:
        report.unreadable(group, f"rules on {setup.default_branch}", setup.branch_rules)
        return None
    rules = [r for r in setup.branch_rules.data or [] if isinstance(r, Mapping)]
    report.add(group, f"an active ruleset protects {setup.default_branch}", bool(rules),
               f"{len({r.get('ruleset_id') for r in rules})} ruleset(s), "
               f"{len(rules)} rule(s)" if rules else "no active rule applies to it",
               f"{MAIN_RULESET}; enforcement Active")
    return rules


def _rule(rules: Sequence[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [r for r in rules if r.get("type") == kind]


def _pull_request_rule(rules: Sequence[Mapping[str, Any]], setup: GitHubSetup, branch: str,
                       report: _Report) -> None:
    group = f"{branch} (branch ruleset)"
    found = _rule(rules, "pull_request")
    report.add(group, "changes only through pull requests", bool(found),
               "a pull_request rule applies" if found else "no pull_request rule",
               f"{MAIN_RULESET}: turn on Require a pull request before merging")
    if not found:
        return
    merged: dict[str, Any] = {}
    methods: set[str] | None = None
    for rule in found:  # several rulesets: the strictest value of each setting applies
        parameters = rule.get("parameters") or {}
        for key in ("dismiss_stale_reviews_on_push", "require_code_owner_review",
                    "require_last_push_approval"):
            merged[key] = merged.get(key, False) or parameters.get(key) is True
        count = parameters.get("required_approving_review_count")
        merged["count"] = max(merged.get("count", 0), count if isinstance(count, int) else 0)
        if isinstance(parameters.get("allowed_merge_methods"), list):
            allowed = set(parameters["allowed_merge_methods"])
            methods = allowed if methods is None else methods & allowed
    missing = [label for key, label in (
        ("require_code_owner_review", "Require review from Code Owners"),
        ("dismiss_stale_reviews_on_push", "Dismiss stale pull request approvals when new "
                                          "commits are pushed"),
        ("require_last_push_approval", "Require approval of the most recent reviewable push"),
    ) if not merged[key]]
    if merged["count"] < 1:
        missing.append("Required approvals: 1")
    report.add(group, "code-owner review, fresh approvals, at least one approval", not missing,
               "all on" if not missing else "off: " + "; ".join(missing),
               f"{MAIN_RULESET}: in Require a pull request, turn on " + "; ".join(missing))
    if methods is None:  # the ruleset does not restrict them: the repository's settings apply
        repo = setup.repo.data if setup.repo.ok and isinstance(setup.repo.data, Mapping) else {}
        rebase = repo.get("allow_rebase_merge")
        if rebase is None:
            report.add(group, "no rebase merges", False,
                       "the ruleset allows every merge method and the repository's setting "
                       "cannot be read", f"{MAIN_RULESET}: Allowed merge methods: Merge "
                       "(and Squash), not Rebase")
            return
        methods = {"rebase"} if rebase else set()
    report.add(group, "no rebase merges (they rewrite the approved commits)",
               "rebase" not in methods,
               "rebase is allowed" if "rebase" in methods else "rebase is not allowed",
               f"{MAIN_RULESET}: Allowed merge methods: Merge (and Squash), not Rebase")


def _protection_rules(rules: Sequence[Mapping[str, Any]], branch: str, report: _Report) -> None:
    group = f"{branch} (branch ruleset)"
    missing = [label for kind, label in (("deletion", "Restrict deletions"),
                                         ("non_fast_forward", "Block force pushes"))
               if not _rule(rules, kind)]
    report.add(group, "no force pushes, no deletion", not missing,
               "both blocked" if not missing else "not set: " + ", ".join(missing),
               f"{MAIN_RULESET}: turn on " + " and ".join(missing))
    queued = bool(_rule(rules, "merge_queue"))
    report.add(group, "no merge queue (the gate does not support one)", not queued,
               "a merge queue is required" if queued else "no merge queue",
               f"{MAIN_RULESET}: turn off Require merge queue")


def _status_checks(rules: Sequence[Mapping[str, Any]], app_id: int | None, app_label: str | None,
                   branch: str, report: _Report) -> None:
    group = f"{branch} (branch ruleset)"
    checks: dict[str, set[int | None]] = {}
    strict = False
    for rule in _rule(rules, "required_status_checks"):
        parameters = rule.get("parameters") or {}
        strict = strict or parameters.get("strict_required_status_checks_policy") is True
        for check in parameters.get("required_status_checks") or []:
            if isinstance(check, Mapping) and isinstance(check.get("context"), str):
                integration = check.get("integration_id")
                checks.setdefault(check["context"], set()).add(
                    integration if isinstance(integration, int) else None)
    fix = f"{MAIN_RULESET}: Require status checks to pass, add {APPROVALS_CONTEXT}"
    sources = checks.get(APPROVALS_CONTEXT)
    if sources is None:
        report.add(group, f"{APPROVALS_CONTEXT} is required, set by the App only", False,
                   f"{APPROVALS_CONTEXT} is not a required status", f"{fix} with the "
                   "promotion-bot App as its source")
    elif None in sources:
        report.add(group, f"{APPROVALS_CONTEXT} is required, set by the App only", False,
                   "required from any source: anyone with write access can set it to success",
                   f"{fix} and pick the promotion-bot App as its source (not any source)")
    else:
        good = app_id is not None and sources == {app_id}
        named = ", ".join(sorted(str(s) for s in sources))
        report.add(group, f"{APPROVALS_CONTEXT} is required, set by the App only", good,
                   f"source: {app_label}" if good else
                   f"source: App {named}, not the promotion-bot App doctor found installed",
                   f"{fix} with the promotion-bot App (the one installed on the organisation, "
                   "holding members: read) as its only source")
    check_sources = checks.get(CHECKS_CONTEXT)
    report.add(group, f"{CHECKS_CONTEXT} is required, from GitHub Actions",
               check_sources is not None and None not in check_sources,
               "not required" if check_sources is None else
               ("required from any source" if None in check_sources else "required"),
               f"{MAIN_RULESET}: Require status checks to pass, add {CHECKS_CONTEXT} with the "
               "source GitHub Actions")
    report.add(group, "branches must be up to date before merging", strict,
               "on" if strict else "off: checks may have run against an older main",
               f"{MAIN_RULESET}: in Require status checks, turn on Require branches to be up "
               "to date before merging")


def _break_glass(actor: Mapping[str, Any]) -> bool:
    """The one documented break-glass: organisation admins, through pull requests only (they
    can edit rulesets anyway; each use is a pull request the recorder signs as a violation)."""
    return actor.get("actor_type") == "OrganizationAdmin" and actor.get("bypass_mode") == \
        "pull_request"


def _bypass(setup: GitHubSetup, rules: Sequence[Mapping[str, Any]], branch: str,
            report: _Report) -> None:
    group = f"{branch} (branch ruleset)"
    name = "no bypass beyond the documented break-glass"
    ids = sorted({r["ruleset_id"] for r in rules if isinstance(r.get("ruleset_id"), int)})
    others: list[str] = []
    glass = False
    for ruleset_id in ids:
        reading = setup.ruleset_details.get(ruleset_id, Reading(None, 0, "not read"))
        if not reading.ok:
            report.unreadable(group, name, reading)
            return
        actors = reading.data.get("bypass_actors") if isinstance(reading.data, Mapping) else None
        if actors is None:
            report.add(group, name, False, f"ruleset {ruleset_id}: GitHub does not show its "
                       "bypass list to this token", "run doctor with a token of a repository "
                       "administrator (GitHub shows bypass lists to them only)")
            return
        for actor in actors:
            if isinstance(actor, Mapping) and _break_glass(actor):
                glass = True
            else:
                others.append(f"{reading.data.get('name', ruleset_id)}: {_actor(actor)}")
    detail = ("bypass: " + "; ".join(others)) if others else (
        "only organisation admins, through pull requests (break-glass)" if glass else
        "nobody can bypass")
    report.add(group, name, not others, detail,
               f"Settings → Rules → Rulesets → the ruleset(s) above → Bypass list: remove "
               f"everyone (or keep only Organization admin, For pull requests only: {GUIDE}, "
               "step 7)")


def _actor(actor: Any) -> str:
    if not isinstance(actor, Mapping):
        return repr(actor)
    who = str(actor.get("actor_type"))
    if actor.get("actor_id") is not None:
        who += f" {actor['actor_id']}"
    return f"{who} ({actor.get('bypass_mode', 'always')})"


# --- the App --------------------------------------------------------------------------------


def _app(setup: GitHubSetup, rules: Sequence[Mapping[str, Any]] | None, expected: Expectations,
         report: _Report) -> tuple[int | None, str | None]:
    """The App that must set promotion/approvals: the source the ruleset pins (or --app)."""
    group = "GitHub App"
    pinned: set[int] = {check["integration_id"]
              for rule in _rule(rules or [], "required_status_checks")
              for check in (rule.get("parameters") or {}).get("required_status_checks") or []
              if isinstance(check, Mapping) and check.get("context") == APPROVALS_CONTEXT
              and isinstance(check.get("integration_id"), int)}
    if not setup.installations.ok:
        report.unreadable(group, "the promotion-bot App is installed with its permissions",
                          setup.installations,
                          "run doctor with an organisation owner's token (the organisation's "
                          "installations are visible to owners only)")
        only = next(iter(pinned)) if len(pinned) == 1 else None
        return only, (f"App {only}" if only is not None else None)
    installations = [i for i in (setup.installations.data or []) if isinstance(i, Mapping)]
    if expected.app_slug is not None:
        chosen = [i for i in installations if i.get("app_slug") == expected.app_slug]
    else:
        chosen = [i for i in installations if i.get("app_id") in pinned]
    if len(chosen) != 1:
        if expected.app_slug is not None:
            detail = f"no App {expected.app_slug!r} is installed on the organisation"
        elif not pinned:
            detail = (f"{APPROVALS_CONTEXT} names no App as its source, so doctor cannot tell "
                      "which App is promotion-bot's (or pass --app SLUG)")
        else:
            detail = (f"the App {', '.join(map(str, sorted(pinned)))} that the ruleset names is "
                      "not installed on the organisation")
        report.add(group, "the promotion-bot App is installed", False, detail,
                   f"create and install the App ({GUIDE}, step 5), and pick it as the source of "
                   f"{APPROVALS_CONTEXT}")
        return None, None
    installation = chosen[0]
    app_id = installation.get("app_id")
    label = f"{installation.get('app_slug')} (App {app_id})"
    suspended = installation.get("suspended_at") is not None
    report.add(group, "the promotion-bot App is installed", not suspended,
               f"{label}, installation {installation.get('id')}"
               + (", suspended" if suspended else ""),
               "Organisation settings → GitHub Apps → the App → Unsuspend")
    permissions = installation.get("permissions")
    permissions = permissions if isinstance(permissions, Mapping) else {}
    missing = [f"{name}: {levels[-1]}" for name, levels in APP_PERMISSIONS.items()
               if permissions.get(name) not in levels]
    report.add(group, "the App's permissions (members: read, statuses/contents/pull requests: "
               "write, checks/actions: read)", not missing,
               "as documented" if not missing else "missing " + ", ".join(missing),
               f"the App's settings → Permissions: grant {', '.join(missing)}, then accept the "
               f"new permissions on the installation ({GUIDE}, step 5)")
    return (app_id if isinstance(app_id, int) else None), label


# --- the records' tags -----------------------------------------------------------------------


def _covers(ruleset: Mapping[str, Any], ref: str) -> bool:
    condition = (ruleset.get("conditions") or {}).get("ref_name") or {}
    include = condition.get("include") or []
    exclude = condition.get("exclude") or []

    def hit(pattern: Any) -> bool:
        return isinstance(pattern, str) and (pattern == "~ALL"
                                             or fnmatch.fnmatchcase(ref, pattern))

    return any(hit(p) for p in include) and not any(hit(p) for p in exclude)


def _tag_rulesets(setup: GitHubSetup, app_id: int | None, app_label: str | None,
                  report: _Report) -> None:
    group = "promotion/* tags (tag rulesets)"
    immutable = "records are immutable: no update, deletion or force push, no bypass"
    creation = "only the App creates records"
    if not setup.rulesets.ok:
        report.unreadable(group, immutable, setup.rulesets)
        report.unreadable(group, creation, setup.rulesets)
        return
    relevant = []
    for summary in setup.rulesets.data or []:
        if not isinstance(summary, Mapping) or summary.get("target") != "tag":
            continue
        ruleset_id = summary.get("id")
        reading = setup.ruleset_details.get(ruleset_id, Reading(None, 0, "not read")) \
            if isinstance(ruleset_id, int) else Reading(None, 0, "a ruleset without an id")
        if not reading.ok or not isinstance(reading.data, Mapping):
            report.unreadable(group, immutable, reading)
            return
        if reading.data.get("enforcement") == "active" and _covers(reading.data, RECORD_TAG):
            relevant.append(reading.data)
    if any(r.get("bypass_actors") is None for r in relevant):
        fix = "run doctor with a token of a repository administrator"
        report.add(group, immutable, False, "GitHub does not show the bypass lists to this "
                   "token", fix)
        report.add(group, creation, False, "GitHub does not show the bypass lists to this "
                   "token", fix)
        return
    kinds = {"update", "deletion", "non_fast_forward"}
    locked = set()
    leaks = []
    for ruleset in relevant:
        types = {r.get("type") for r in ruleset.get("rules") or [] if isinstance(r, Mapping)}
        if types & kinds:
            locked |= types & kinds
            if ruleset["bypass_actors"]:
                leaks.append(f"{ruleset.get('name')}: " + ", ".join(
                    _actor(a) for a in ruleset["bypass_actors"]))
    missing = sorted(kinds - locked)
    detail = ("restricted, nobody bypasses" if not missing and not leaks else
              "; ".join(filter(None, [f"not restricted: {', '.join(missing)}" if missing else "",
                                      f"bypass: {'; '.join(leaks)}" if leaks else ""])))
    report.add(group, immutable, not missing and not leaks, detail,
               "Settings → Rules → Rulesets → New tag ruleset 'promotion records are "
               "immutable' on promotion/*: Restrict updates, Restrict deletions, Block force "
               f"pushes, empty bypass list ({GUIDE}, step 8)")
    creators = [r for r in relevant if any(isinstance(x, Mapping) and x.get("type") == "creation"
                                           for x in r.get("rules") or [])]
    wanted = {("Integration", app_id)}
    bypassing = {(a.get("actor_type"), a.get("actor_id")) for r in creators
                 for a in r["bypass_actors"] if isinstance(a, Mapping)}
    holds = bool(creators) and app_id is not None and bypassing == wanted
    if not creators:
        detail = "anyone with write access can create promotion/* tags"
    elif app_id is None:
        detail = "creation is restricted, but which App is promotion-bot's cannot be told"
    else:
        detail = ("only " + (app_label or "the App") if holds else
                  "bypass: " + (", ".join(f"{t} {i}" for t, i in sorted(bypassing, key=str))
                                or "nobody, not even the App"))
    report.add(group, creation, holds, detail,
               "Settings → Rules → Rulesets → New tag ruleset 'only the bot records' on "
               "promotion/*: Restrict creations, bypass list: the promotion-bot App only "
               f"({GUIDE}, step 8)")


# --- environments and secrets ---------------------------------------------------------------


def _environments(setup: GitHubSetup, branch: str, report: _Report) -> None:
    for name, secrets in ENVIRONMENTS.items():
        group = f"environment {name}"
        fix_where = f"Settings → Environments → {name} ({GUIDE}, step 5)"
        reading = setup.environments.get(name, Reading(None, 0, "not read"))
        if reading.absent:
            report.add(group, f"only {branch} may use it", False, "the environment does not "
                       "exist", f"Settings → Environments → New environment {name}: "
                       f"deployment branches: Selected branches, {branch} only; secrets "
                       f"{', '.join(secrets)} ({GUIDE}, step 5)")
            continue
        if not reading.ok:
            report.unreadable(group, f"only {branch} may use it", reading)
            continue
        policy = reading.data.get("deployment_branch_policy") if isinstance(
            reading.data, Mapping) else None
        policies = setup.branch_policies.get(name, Reading(None, 0, "not read"))
        names: list[str] = []
        if isinstance(policy, Mapping) and policy.get("custom_branch_policies") is True:
            if not policies.ok:
                report.unreadable(group, f"only {branch} may use it", policies)
                continue
            names = [f"{p.get('type', 'branch')} {p.get('name')}"
                     for p in (policies.data or []) if isinstance(p, Mapping)]
        holds = (isinstance(policy, Mapping) and policy.get("custom_branch_policies") is True
                 and policy.get("protected_branches") is False
                 and names == [f"branch {branch}"])
        if policy is None:
            detail = "every branch may use it (and read its secrets)"
        elif policy.get("protected_branches") is True:
            detail = "every protected branch may use it, not only " + branch
        else:
            detail = "deployment branches: " + (", ".join(names) or "none")
        report.add(group, f"only {branch} may use it", holds, detail,
                   f"{fix_where}: Deployment branches and tags: Selected branches and tags, "
                   f"exactly one rule: branch {branch}")
        secret_reading = setup.environment_secrets.get(name, Reading(None, 0, "not read"))
        if not secret_reading.ok:
            report.unreadable(group, "holds its secrets", secret_reading)
            continue
        present = {s.get("name") for s in secret_reading.data or [] if isinstance(s, Mapping)}
        missing = [s for s in secrets if s not in present]
        report.add(group, "holds " + ", ".join(secrets), not missing,
                   "all present" if not missing else "missing " + ", ".join(missing),
                   f"{fix_where}: Add environment secret " + ", ".join(missing))


def _secrets(setup: GitHubSetup, report: _Report) -> None:
    group = "secrets"
    name = f"no repository or organisation secret named {SECRET_PREFIX}*"
    leaked: list[str] = []
    for where, reading in (("repository", setup.repository_secrets),
                           ("organisation", setup.organization_secrets)):
        if not reading.ok:
            report.unreadable(group, name, reading)
            return
        leaked += [f"{where} secret {s.get('name')}" for s in reading.data or []
                   if isinstance(s, Mapping) and str(s.get("name", "")).startswith(SECRET_PREFIX)]
    report.add(group, name, not leaked,
               "; ".join(leaked) + ": any workflow on any branch can read it" if leaked
               else "none: the keys live in the environments only",
               "delete them (Settings → Secrets and variables → Actions); keep the keys in the "
               f"environments only ({GUIDE}, step 5)")


def _actions(setup: GitHubSetup, report: _Report) -> None:
    group = "Actions settings"
    reading = setup.workflow_permissions
    where = f"Settings → Actions → General ({GUIDE}, step 7)"
    if not reading.ok or not isinstance(reading.data, Mapping):
        report.unreadable(group, "workflow token read-only; Actions cannot approve pull requests",
                          reading)
        return
    default = reading.data.get("default_workflow_permissions")
    report.add(group, "the workflow token is read-only by default", default == "read",
               f"default: {default}",
               f"{where}: Workflow permissions: Read repository contents and packages "
               "permissions")
    approve = reading.data.get("can_approve_pull_request_reviews")
    report.add(group, "GitHub Actions cannot create or approve pull requests",
               approve is False, "allowed" if approve else ("not allowed" if approve is False
                                                            else "not reported"),
               f"{where}: turn off Allow GitHub Actions to create and approve pull requests")


def _codeowners(setup: GitHubSetup, report: _Report) -> None:
    group = "CODEOWNERS"
    reading = setup.codeowners_errors
    name = "valid as GitHub reads it"
    if reading.absent:
        report.add(group, name, False, f"GitHub finds no CODEOWNERS on {setup.default_branch}",
                   "add CODEOWNERS (promotion-bot init proposes its lines) and merge it")
        return
    if not reading.ok:
        report.unreadable(group, name, reading)
        return
    errors = [e for e in (reading.data or {}).get("errors", []) if isinstance(e, Mapping)]
    lines = [f"{e.get('path')}:{e.get('line')}:{e.get('column')}: {e.get('kind')}: "
             f"{(e.get('source') or '').strip()}"
             + (f" ({e['suggestion']})" if e.get("suggestion") else "") for e in errors]
    report.add(group, name, not errors, "no errors" if not errors else "; ".join(lines),
               "fix each line above: an owner GitHub does not know, or one without write "
               "access, is skipped, so nobody owns those paths")


def _workflows(setup: GitHubSetup, report: _Report) -> None:
    group = "workflows"
    name = "the five promotion workflows, pinned to one promotion-bot commit"
    reading = setup.workflows
    if reading.absent:
        report.add(group, name, False, f"no .github/workflows on {setup.default_branch}",
                   "add the workflow files (promotion-bot init writes them) and merge them")
        return
    if not reading.ok or not isinstance(reading.data, Mapping):
        report.unreadable(group, name, reading)
        return
    pins: dict[str, tuple[str, str]] = {}  # file -> (repository, commit)
    problems: list[str] = []
    trigger = False
    for file_name, text in sorted(reading.data.items()):
        try:
            workflow = yaml.safe_load(text)
        except yaml.YAMLError:
            problems.append(f"{file_name} is not valid YAML")
            continue
        if not isinstance(workflow, Mapping):
            continue
        trigger = trigger or workflow.get("name") == REVIEW_TRIGGER
        for job in (workflow.get("jobs") or {}).values():
            uses = job.get("uses") if isinstance(job, Mapping) else None
            match = _CALL.match(uses) if isinstance(uses, str) else None
            if match is None:
                continue
            repository, called, commit = match.groups()
            given = job.get("with") or {}
            if given.get("bot-ref") != commit or given.get("bot-repository") != repository:
                problems.append(f"{file_name}: bot-ref/bot-repository differ from the pin "
                                f"{repository}@{commit[:12]}")
            pins[called] = (repository, commit)
    missing = [f for f in CALLERS if f not in pins]
    if missing:
        problems.append("no caller of " + ", ".join(missing))
    if not trigger:
        problems.append(f"no workflow named {REVIEW_TRIGGER!r} (reviews would not re-run the "
                        "gate)")
    distinct = sorted(set(pins.values()))
    if len(distinct) > 1:
        problems.append("pinned to different commits: " + ", ".join(
            f"{repository}@{commit[:12]}" for repository, commit in distinct))
    detail = "; ".join(problems) if problems else (
        f"all call {distinct[0][0]}@{distinct[0][1][:12]}" if distinct else "")
    report.add(group, name, not problems, detail,
               "pin every caller and its bot-ref to the same full SHA (promotion-bot init "
               f"writes them; {GUIDE}, step 3)")
