"""The trust properties of the GitHub Actions workflows, read from the workflow files themselves.

Every workflow of this project (.github/workflows: the reusable promotion workflows and CI) and of
the example governed repository (examples/governed-repo/.github/workflows: the callers an adopter
copies) is audited by `audit()`. A workflow's *role* comes from its file name; an unknown file
fails the suite, so a new workflow cannot slip past the audit.

The audit is checked against itself: every rule has at least one mutation of a real, clean
workflow file that it must catch (`MUTATIONS`), so no rule can pass vacuously.

Workflow files are read with PyYAML's BaseLoader (every scalar stays a string, so the key `on`
stays "on" rather than YAML 1.1's True), extended to reject duplicate keys and merge keys: the
audit must see the same document GitHub sees, not the last of two `permissions:` keys.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT = Path(__file__).resolve().parent.parent
REUSABLE_DIR = PROJECT / ".github" / "workflows"
CALLER_DIR = PROJECT / "examples" / "governed-repo" / ".github" / "workflows"
WORKFLOW_DIRS = (REUSABLE_DIR, CALLER_DIR)
ADOPTING = PROJECT / "docs" / "adopting.md"

# file stem -> role
ROLES = {
    "ci": "ci",
    "promotion-checks": "checks",
    "promotion-gate": "gate",
    "promotion-record": "record",
    "promotion-rollback": "rollback",
    "promotion-review-trigger": "review-trigger",
}
UNTRUSTED_ROLES = frozenset({"ci", "checks", "review-trigger"})  # run PR code or PR context
PRIVILEGED_ROLES = frozenset({"gate", "record", "rollback"})  # hold the App or signing key
REQUIRED_CHECK_ROLES = frozenset({"checks", "gate"})  # a skipped job would count as success
PRIVILEGED_TRIGGERS = frozenset({"pull_request_target", "workflow_run"})

# The most the workflow token (GITHUB_TOKEN) may be granted, per role. Nothing writes with it:
# statuses, tags and pull requests are written with the GitHub App's token, whose credentials
# live in an environment only main may use.
MAX_PERMISSIONS: dict[str, dict[str, str]] = {
    "ci": {"contents": "read"},
    "checks": {"contents": "read"},
    "gate": {},
    "record": {"contents": "read"},
    "rollback": {"contents": "read"},
    "review-trigger": {},
}
# The only actions a privileged job may run (by repository, any pinned commit).
PRIVILEGED_ACTIONS = {
    "gate": frozenset({"actions/setup-python", "actions/checkout"}),  # the bot's own code only
    "record": frozenset({"actions/setup-python", "actions/checkout",
                         "actions/create-github-app-token"}),
    "rollback": frozenset({"actions/setup-python", "actions/checkout",
                           "actions/create-github-app-token"}),
}
# The promotion-bot command each role's job must run, and the only one it may run.
BOT_COMMANDS = {"checks": "check", "gate": "gate", "record": "record", "rollback": "rollback"}
# Other read-only commands a role's job may also run (record delivers the records it wrote).
ALSO_ALLOWED = {"record": {"export"}}
# The events each role's workflow is triggered by: reusable (workflow_call) or caller.
CALLER_TRIGGERS = {
    "ci": {"push", "pull_request"},
    "checks": {"pull_request", "merge_group"},
    "gate": {"pull_request_target", "workflow_run", "schedule"},
    "record": {"push"},
    "rollback": {"workflow_dispatch"},
    "review-trigger": {"pull_request_review"},
}

PINNED_ACTION = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[^@\s]+)?@[0-9a-f]{40}$")
PINNED_IMAGE = re.compile(r"^docker://[^@\s]+@sha256:[0-9a-f]{64}$")
BOT_INVOCATION = re.compile(r"""promotion-bot["']?\s+([A-Za-z-]+)""")
FAIL_OPEN_SHELL = re.compile(r"\|\|\s*(?:true|:)(?:\s|$|;)|\|\|\s*exit\s+0\b|\bset\s+\+e\b")
RUN_ID_IN_GROUP = re.compile(r"github\.(?:sha|run_id|run_number|run_attempt)\b")
# Ways a shell step runs code from the repository or installs something other than the bot.
REPOSITORY_CODE = (
    (re.compile(r"(?:^|[\s;&|(])\.\.?/"), "runs a file from the checkout"),
    (re.compile(r"(?:^|[\s;&|(])(?:bash|sh|zsh|source)\s+[^-\s]"), "runs a shell script"),
    (re.compile(r"(?:^|[\s;&|(])\.\s+\S"), "sources a file"),
    (re.compile(r"\b(?:make|npm|npx|yarn|pnpm|tox|nox|pytest|pre-commit|mvn|gradle|cargo)\b"),
     "runs a build or test tool"),
    (re.compile(r"""\bpython[0-9.]*["']?\s+(?!-m\s+(?:venv|pip)\b)\S"""),
     "runs Python other than `-m venv` / `-m pip`"),
    (re.compile(r"\bpip[0-9.]*\b.*\binstall\b"),
     "installs something: the bot is installed by its own composite action only"),
)
# promotion-bot's own code at the pinned commit: the one checkout the gate may make, and the one
# checkout of another repository the other privileged jobs may make. Its composite action
# (action.yml) then installs it from there.
BOT_CHECKOUT_WITH = {"repository": "${{ inputs.bot-repository }}", "ref": "${{ inputs.bot-ref }}",
                     "path": ".promotion-bot", "persist-credentials": "false"}
BOT_ACTION = "./.promotion-bot"
PINNED_REF_CHECK = re.compile(r'"\$BOT_REF" =~ \^\[0-9a-f\]\{40\}\$')


# --- loading -------------------------------------------------------------------------------


class WorkflowLoader(yaml.BaseLoader):
    """Every scalar a string (`on` stays "on"); duplicate keys and merge keys are errors."""


def _construct_mapping(loader: WorkflowLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key == "<<":
            raise yaml.constructor.ConstructorError(
                None, None, "merge keys (<<) are not allowed in workflows", key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


WorkflowLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_workflow(text: str) -> dict[str, Any]:
    document = yaml.load(text, Loader=WorkflowLoader)  # a BaseLoader: no object construction
    assert isinstance(document, dict), "a workflow is a mapping"
    return document


def workflow_files() -> list[Path]:
    return sorted(path for folder in WORKFLOW_DIRS for path in folder.glob("*.y*ml"))


def role_of(path: Path) -> str:
    return ROLES[path.stem]


def is_reusable(path: Path) -> bool:
    return path.parent == REUSABLE_DIR and role_of(path) != "ci"


def audit_file(path: Path, workflow: dict[str, Any] | None = None) -> list[Finding]:
    if workflow is None:
        workflow = load_workflow(path.read_text(encoding="utf-8"))
    return audit(workflow, role_of(path), reusable=is_reusable(path))


# --- the audit -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    rule: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.where}: {self.detail}"


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow.get("on", {})
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list):
        return {event: {} for event in on}
    return {event: (config if isinstance(config, dict) else {}) for event, config in on.items()}


def steps_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = job.get("steps", [])
    return steps if isinstance(steps, list) else []


def action_repository(uses: str) -> str:
    return "/".join(uses.split("@", 1)[0].split("/")[:2])


def shell_lines(script: str) -> Iterator[str]:
    """The script's command lines: continuations joined, comments and echo/printf dropped."""
    for raw in script.replace("\\\n", " ").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and not re.match(r"(?:echo|printf)\b", line):
            yield line


def is_truthy(value: Any) -> bool:
    return value not in (None, "", "false", False)


def is_checkout(step: dict[str, Any]) -> bool:
    return action_repository(str(step.get("uses", ""))) == "actions/checkout"


def is_bot_checkout(step: dict[str, Any]) -> bool:
    return is_checkout(step) and step.get("with") == BOT_CHECKOUT_WITH


def bot_checked_out(job: dict[str, Any], index: int) -> bool:
    """The last checkout before step `index` is promotion-bot's own, at bot-ref."""
    checkouts = [step for step in steps_of(job)[:index] if is_checkout(step)]
    return bool(checkouts) and is_bot_checkout(checkouts[-1])


def bot_install_problems(job: dict[str, Any]) -> list[str]:
    """A reusable workflow installs the bot first: bot-ref checked to be a full SHA, then
    promotion-bot checked out at it, then its composite action; before any other checkout and
    before the bot runs."""
    steps = steps_of(job)

    def first(predicate: Callable[[dict[str, Any]], bool]) -> int | None:
        return next((i for i, step in enumerate(steps) if predicate(step)), None)

    check = first(lambda s: bool(PINNED_REF_CHECK.search(str(s.get("run", "")))))
    fetch = first(is_bot_checkout)
    install = first(lambda s: s.get("uses") == BOT_ACTION)
    if check is None or fetch is None or install is None:
        return ["installs promotion-bot by checking bot-ref is a full SHA, checking out "
                "promotion-bot at it and running its action (./.promotion-bot)"]
    problems = []
    if not check < fetch < install:
        problems.append("checks bot-ref, then fetches, then installs: in this order")
    others = [i for i, step in enumerate(steps) if is_checkout(step) and not is_bot_checkout(step)]
    runs_bot = [i for i, step in enumerate(steps) if BOT_INVOCATION.search(str(step.get("run", "")))]
    if any(i < install for i in others + runs_bot):
        problems.append("installs the bot before any other checkout and before it runs")
    return problems


def audit(workflow: dict[str, Any], role: str, *, reusable: bool) -> list[Finding]:
    """Every violation of the trust properties in one workflow of the given role.

    `reusable`: one of this project's reusable workflows (triggered only by workflow_call),
    as opposed to a caller in the adopting repository (or this project's own CI).
    """
    findings: list[Finding] = []

    def find(rule: str, where: str, detail: str) -> None:
        findings.append(Finding(rule, where, detail))

    on = triggers(workflow)
    expected = {"workflow_call"} if reusable else CALLER_TRIGGERS[role]
    if set(on) != expected:
        find("unexpected-trigger", "on", f"triggers {sorted(on)}, expected {sorted(expected)}")
    privileged_trigger = bool(PRIVILEGED_TRIGGERS & set(on))
    if privileged_trigger and role != "gate":
        find("privileged-trigger", "on",
             f"{sorted(PRIVILEGED_TRIGGERS & set(on))} run with secrets and a write token; "
             "only the gate caller may use them")
    if role in REQUIRED_CHECK_ROLES:
        for event, config in on.items():
            for key in ("paths", "paths-ignore"):
                if key in config:
                    find("paths-filter", f"on.{event}.{key}",
                         "a required check that does not run never reports")

    if workflow.get("permissions") != {}:
        find("top-permissions", "permissions",
             f"top-level permissions must be {{}}, not {workflow.get('permissions')!r}")
    workflow_concurrency = workflow.get("concurrency")

    jobs = workflow.get("jobs", {})
    for job_id, job in jobs.items():
        where = f"jobs.{job_id}"
        privileged = role in PRIVILEGED_ROLES or privileged_trigger
        calls = job.get("uses")

        # Least privilege for the workflow token.
        permissions = job.get("permissions")
        if not isinstance(permissions, dict):
            find("job-permissions", f"{where}.permissions",
                 f"every job states its permissions as a mapping, not {permissions!r}")
        else:
            allowed = MAX_PERMISSIONS[role]
            for scope, level in permissions.items():
                if level != "none" and allowed.get(scope) != level:
                    find("job-permissions", f"{where}.permissions.{scope}",
                         f"{role} may grant at most {allowed or 'nothing'}, not {scope}: {level}")

        # Secrets: never inherited, never in the untrusted tier, only through an environment.
        if job.get("secrets") == "inherit":
            find("secrets-inherit", f"{where}.secrets", "pass each secret by name")
        mentions_secrets = "secrets." in json.dumps(job) or isinstance(job.get("secrets"), dict)
        if role in UNTRUSTED_ROLES and (mentions_secrets or "environment" in job):
            find("secrets-in-untrusted", where,
                 "the untrusted tier runs pull request code and gets no secret or environment")

        if role in REQUIRED_CHECK_ROLES and "if" in job:
            find("skippable-required-job", f"{where}.if",
                 "a skipped job reports success, even as a required check")
        if is_truthy(job.get("continue-on-error")):
            find("fail-open", f"{where}.continue-on-error", "a failure must fail the job")

        if calls is not None:
            if not str(calls).startswith("./") and not PINNED_ACTION.match(str(calls)):
                find("unpinned-uses", f"{where}.uses", f"{calls} is not pinned to a commit SHA")
            if privileged_trigger and not str(calls).split("@")[0].endswith(
                    "/.github/workflows/promotion-gate.yml"):
                find("privileged-trigger", f"{where}.uses",
                     "a pull_request_target/workflow_run workflow only calls the gate")
            continue

        # A job with steps.
        if privileged_trigger:
            find("privileged-trigger", where,
                 "a pull_request_target/workflow_run workflow runs no steps of its own")
        if "timeout-minutes" not in job:
            find("no-timeout", where, "every job has timeout-minutes")
        if role in PRIVILEGED_ROLES:
            if "environment" not in job:
                find("no-environment", where,
                     "privileged credentials come from an environment only main may use")
            concurrency = job.get("concurrency", workflow_concurrency)
            if not isinstance(concurrency, dict) or "group" not in concurrency:
                find("concurrency", where, "one run at a time: a concurrency group")
            else:
                if is_truthy(concurrency.get("cancel-in-progress")):
                    find("concurrency", f"{where}.concurrency.cancel-in-progress",
                         "a cancelled run may leave a merge unrecorded or a status half-written")
                if RUN_ID_IN_GROUP.search(str(concurrency["group"])):
                    find("concurrency", f"{where}.concurrency.group",
                         "a group per commit or run serialises nothing")
        if mentions_secrets and "environment" not in job:
            find("secrets-outside-environment", where, "secrets only from an environment")

        bot_commands: set[str] = set()
        for index, step in enumerate(steps_of(job)):
            at = f"{where}.steps[{index}]"
            uses = step.get("uses")
            if is_truthy(step.get("continue-on-error")):
                find("fail-open", f"{at}.continue-on-error", "a failure must fail the job")
            if role == "gate" and "if" in step:
                find("skippable-required-job", f"{at}.if", "every gate step always runs")
            if uses is not None:
                uses = str(uses)
                if uses.startswith("./"):
                    if privileged and not (uses == BOT_ACTION and bot_checked_out(job, index)):
                        find("privileged-action", f"{at}.uses",
                             f"{uses} is code from the checkout")
                elif uses.startswith("docker://"):
                    if not PINNED_IMAGE.match(uses):
                        find("unpinned-uses", f"{at}.uses", f"{uses} is not pinned by digest")
                elif not PINNED_ACTION.match(uses):
                    find("unpinned-uses", f"{at}.uses", f"{uses} is not pinned to a commit SHA")
                elif privileged and action_repository(uses) not in PRIVILEGED_ACTIONS.get(
                        role, frozenset()):
                    find("privileged-action", f"{at}.uses",
                         f"{action_repository(uses)} may not run where the credentials are")
                with_ = step.get("with", {}) if isinstance(step.get("with"), dict) else {}
                if action_repository(uses) == "actions/checkout" and not uses.startswith("./"):
                    if with_.get("persist-credentials") != "false":
                        find("checkout-credentials", f"{at}.with",
                             "actions/checkout must set persist-credentials: false")
                    if is_bot_checkout(step):
                        pass  # promotion-bot's own code at bot-ref, validated before
                    elif role == "gate" or privileged_trigger:
                        find("gate-checkout", f"{at}.uses",
                             "the gate checks out nothing but promotion-bot at bot-ref: it reads "
                             "the pull request through the API")
                    elif privileged and ("ref" in with_ or "repository" in with_):
                        find("privileged-checkout-ref", f"{at}.with",
                             "a privileged job checks out only the commit it runs for")
                if "${{" in str(with_.get("script", "")):
                    find("expression-in-run", f"{at}.with.script",
                         "expressions reach scripts only through env:")
            script = step.get("run")
            if script is None:
                continue
            script = str(script)
            if "${{" in script:
                find("expression-in-run", f"{at}.run",
                     "expressions reach scripts only through env:, never ${{ }} in run:")
            if FAIL_OPEN_SHELL.search(script):
                find("fail-open", f"{at}.run", "`|| true`, `|| exit 0` or `set +e` hides failures")
            for line in shell_lines(script):
                bot_commands.update(BOT_INVOCATION.findall(line))
                if privileged:
                    for pattern, what in REPOSITORY_CODE:
                        if pattern.search(line):
                            find("privileged-runs-code", f"{at}.run", f"{what}: {line!r}")
        if reusable and role in BOT_COMMANDS:
            for detail in bot_install_problems(job):
                find("bot-install", where, detail)
        expected_command = BOT_COMMANDS.get(role)
        if expected_command is not None:
            others = bot_commands - {expected_command, "--version", *ALSO_ALLOWED.get(role, ())}
            if expected_command not in bot_commands:
                find("bot-command", where, f"runs no `promotion-bot {expected_command}`")
            if others:
                find("privileged-runs-code" if privileged else "bot-command", where,
                     f"runs promotion-bot {sorted(others)}; {role} runs only {expected_command}")
    return findings


# --- the real workflows --------------------------------------------------------------------


def test_there_are_workflows_and_each_has_a_known_role() -> None:
    files = workflow_files()
    assert len(files) >= 10, files
    unknown = [str(path.relative_to(PROJECT)) for path in files if path.stem not in ROLES]
    assert not unknown, f"workflows without a role in tests/test_workflows.py: {unknown}"
    for folder in WORKFLOW_DIRS:
        assert not list(folder.glob("*.yaml")), "use .yml: the audit globs both, keep one"


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: str(p.relative_to(PROJECT)))
def test_workflow_satisfies_every_trust_property(path: Path) -> None:
    findings = audit_file(path)
    assert not findings, "\n".join(map(str, findings))


# --- the audit catches every violation (mutations of the real, clean files) ----------------

Mutation = Callable[[dict[str, Any]], object]
CHECKOUT_SHA = "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8"


def job(workflow: dict[str, Any]) -> dict[str, Any]:
    jobs = workflow["jobs"]
    assert len(jobs) == 1, "the promotion workflows have one job each"
    return next(iter(jobs.values()))  # type: ignore[no-any-return]


def step(workflow: dict[str, Any], name_part: str) -> dict[str, Any]:
    for candidate in steps_of(job(workflow)):
        if name_part in str(candidate.get("name", "")) or name_part in str(candidate.get("uses")):
            return candidate
    raise AssertionError(f"no step matching {name_part!r}")


def append_run(name_part: str, text: str) -> Mutation:
    def mutate(workflow: dict[str, Any]) -> None:
        target = step(workflow, name_part)
        target["run"] = target["run"] + text + "\n"
    return mutate


def add_step(new_step: dict[str, Any], position: int = 0) -> Mutation:
    return lambda workflow: steps_of(job(workflow)).insert(position, new_step)


def set_in(path: tuple[str, ...], value: Any) -> Mutation:
    def mutate(workflow: dict[str, Any]) -> None:
        target = workflow
        for key in path[:-1]:
            target = job(workflow) if key == "<job>" else target[key]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return mutate


DELETE = object()
GATE = REUSABLE_DIR / "promotion-gate.yml"
CHECKS = REUSABLE_DIR / "promotion-checks.yml"
RECORD = REUSABLE_DIR / "promotion-record.yml"
ROLLBACK = REUSABLE_DIR / "promotion-rollback.yml"
CALL_GATE = CALLER_DIR / "promotion-gate.yml"
CALL_CHECKS = CALLER_DIR / "promotion-checks.yml"
CALL_RECORD = CALLER_DIR / "promotion-record.yml"
TRIGGER = CALLER_DIR / "promotion-review-trigger.yml"
CI = REUSABLE_DIR / "ci.yml"
PR_HEAD_CHECKOUT = {"uses": CHECKOUT_SHA, "with": {
    "ref": "${{ github.event.pull_request.head.sha }}", "persist-credentials": "false"}}

# (rule, file, mutation, what it models)
MUTATIONS: list[tuple[str, Path, Mutation, str]] = [
    ("top-permissions", GATE, set_in(("permissions",), DELETE), "no top-level permissions"),
    ("top-permissions", CALL_CHECKS, set_in(("permissions",), {"contents": "read"}),
     "workflow-wide grant"),
    ("job-permissions", GATE, set_in(("<job>", "permissions"), {"statuses": "write"}),
     "gate writes statuses with the forgeable workflow token"),
    ("job-permissions", CHECKS, set_in(("<job>", "permissions"), {"contents": "write"}),
     "untrusted tier with a write token"),
    ("job-permissions", RECORD, set_in(("<job>", "permissions"), "write-all"), "write-all"),
    ("job-permissions", CALL_RECORD, set_in(("<job>", "permissions"), DELETE),
     "caller job without permissions (gets the repository default)"),
    ("unpinned-uses", CHECKS, lambda w: step(w, "Check out").update(
        uses="actions/checkout@v5"), "action pinned to a movable tag"),
    ("unpinned-uses", CALL_GATE, set_in(("<job>", "uses"),
     "OWNER/promotion-bot/.github/workflows/promotion-gate.yml@main"),
     "reusable workflow pinned to a branch"),
    ("unpinned-uses", CHECKS, add_step({"uses": "docker://alpine:3"}), "image by tag"),
    ("expression-in-run", CHECKS, append_run("Run the required checks",
     'echo "${{ github.event.pull_request.title }}"'), "PR title inside run"),
    ("expression-in-run", CHECKS, append_run("Run the required checks",
     "git log origin/${{ github.head_ref }}"), "branch name inside run"),
    ("expression-in-run", ROLLBACK, append_run("revert", "echo ${{ inputs.change_id }}"),
     "dispatch input inside run"),
    ("checkout-credentials", CHECKS, lambda w: step(w, "Check out")["with"].pop(
        "persist-credentials"), "checkout keeps the token in .git/config"),
    ("checkout-credentials", RECORD, lambda w: step(w, "Check out")["with"].update(
        {"persist-credentials": "true"}), "persist-credentials: true"),
    ("gate-checkout", GATE, add_step(PR_HEAD_CHECKOUT), "gate checks out the PR head"),
    ("gate-checkout", GATE, add_step({"uses": CHECKOUT_SHA,
     "with": {"persist-credentials": "false"}}), "gate checks out anything at all"),
    ("gate-checkout", GATE, lambda w: step(w, "Fetch promotion-bot")["with"].update(
        ref="main"), "the bot fetched at a branch instead of bot-ref"),
    ("privileged-checkout-ref", RECORD, lambda w: step(w, "Check out")["with"].update(
        ref="${{ github.event.workflow_run.head_sha }}"), "recorder checks out a run's head"),
    ("privileged-checkout-ref", ROLLBACK, lambda w: step(w, "Check out")["with"].update(
        repository="${{ github.event.pull_request.head.repo.full_name }}"), "fork checkout"),
    ("privileged-runs-code", GATE, append_run("Evaluate",
     '"$RUNNER_TEMP/promotion-bot/bin/promotion-bot" check --base origin/main'),
     "gate runs the checks (repository code)"),
    ("privileged-runs-code", RECORD, append_run("Record", "bash scripts/verify_pack.sh"),
     "recorder runs a repository script"),
    ("privileged-runs-code", ROLLBACK, append_run("revert", "python3 tools/ieimctl.py rules lint"),
     "rollback runs repository Python"),
    ("privileged-runs-code", RECORD, append_run("Record", 'python -m pip install -e .'),
     "recorder installs the checked-out repository"),
    ("privileged-runs-code", GATE, append_run("Evaluate", "./scripts/hook"),
     "gate runs a file by path"),
    ("privileged-runs-code", RECORD, append_run("Record", "make record"), "make"),
    ("privileged-action", GATE, add_step({"uses": "actions/github-script@"
     "f28e40c7f34bde8b3046d885e986cb6290c5673b", "with": {"script": "return 1"}}),
     "another action next to the App credentials"),
    ("privileged-action", RECORD, add_step({"uses": "./.github/actions/sign"}, 2),
     "local action from the checkout in the recorder"),
    ("privileged-action", RECORD, add_step({"uses": "./.promotion-bot"}, 6),
     "the bot's action run again after main was checked out over it"),
    ("privileged-action", GATE, lambda w: step(w, "Fetch promotion-bot")["with"].update(
        ref="${{ github.event.pull_request.head.sha }}"), "the bot's action from the PR head"),
    ("bot-install", RECORD, lambda w: steps_of(job(w)).remove(step(w, "Refuse anything")),
     "bot-ref not checked to be a full SHA"),
    ("bot-install", CHECKS, lambda w: steps_of(job(w)).insert(
        1, steps_of(job(w)).pop(4)), "the pull request checked out before the bot installs"),
    ("bot-install", ROLLBACK, lambda w: steps_of(job(w)).remove(step(w, "Install promotion-bot")),
     "bot fetched but never installed"),
    ("skippable-required-job", GATE, set_in(("<job>", "if"),
     "github.event.pull_request.draft == false"), "gate skipped for drafts reports success"),
    ("skippable-required-job", CALL_GATE, set_in(("<job>", "if"),
     "github.actor != 'dependabot[bot]'"), "caller skips the gate"),
    ("skippable-required-job", CHECKS, set_in(("<job>", "if"), "always()"), "checks job if"),
    ("skippable-required-job", GATE, lambda w: step(w, "Evaluate").update(
        {"if": "github.event_name == 'pull_request_target'"}), "gate step skipped"),
    ("paths-filter", CALL_GATE, lambda w: w["on"]["pull_request_target"].update(
        paths=["change-requests/**"]), "gate only for some paths"),
    ("paths-filter", CALL_CHECKS, lambda w: w["on"]["pull_request"].update(
        {"paths-ignore": ["docs/**"]}), "checks skip some paths"),
    ("fail-open", GATE, lambda w: step(w, "Evaluate").update(
        {"continue-on-error": "true"}), "gate step may fail"),
    ("fail-open", RECORD, set_in(("<job>", "continue-on-error"), "true"), "recorder may fail"),
    ("fail-open", RECORD, lambda w: step(w, "Record").update(
        run='"$RUNNER_TEMP/promotion-bot/bin/promotion-bot" record || true\n'), "|| true"),
    ("fail-open", GATE, append_run("Evaluate", "set +e"), "set +e"),
    ("secrets-inherit", CALL_RECORD, set_in(("<job>", "secrets"), "inherit"),
     "every secret handed over"),
    ("secrets-in-untrusted", CALL_CHECKS, set_in(("<job>", "secrets"), {
        "PROMOTION_BOT_APP_PRIVATE_KEY": "${{ secrets.PROMOTION_BOT_APP_PRIVATE_KEY }}"}),
     "App key passed to the checks"),
    ("secrets-in-untrusted", CHECKS, lambda w: step(w, "Run the required checks")["env"].update(
        GH_TOKEN="${{ secrets.GITHUB_TOKEN }}"), "token handed to PR code"),
    ("secrets-in-untrusted", TRIGGER, set_in(("<job>", "environment"), "promotion-bot"),
     "review trigger in the credentials' environment"),
    ("secrets-outside-environment", RECORD, set_in(("<job>", "environment"), DELETE),
     "signing key from a repository secret"),
    ("no-environment", GATE, set_in(("<job>", "environment"), DELETE), "gate without env"),
    ("concurrency", RECORD, lambda w: job(w)["concurrency"].update(
        {"cancel-in-progress": "true"}), "a newer merge cancels a running recorder"),
    ("concurrency", RECORD, set_in(("<job>", "concurrency"), DELETE), "parallel recorders"),
    ("concurrency", GATE, lambda w: job(w)["concurrency"].update(
        group="gate-${{ github.run_id }}"), "a group per run serialises nothing"),
    ("no-timeout", RECORD, set_in(("<job>", "timeout-minutes"), DELETE), "no timeout"),
    ("privileged-trigger", CALL_CHECKS, set_in(("on",), {"pull_request_target": {}}),
     "checks (PR code) on pull_request_target"),
    ("privileged-trigger", CALL_GATE, lambda w: w["jobs"].update(extra={
        "runs-on": "ubuntu-latest", "permissions": {}, "timeout-minutes": "5",
        "steps": [{"run": "echo hi"}]}), "steps of its own next to the gate"),
    ("unexpected-trigger", CALL_RECORD, lambda w: w["on"].update(pull_request={}),
     "recorder on pull requests"),
    ("unexpected-trigger", RECORD, set_in(("on",), {"push": {}}), "reusable workflow on push"),
    ("bot-command", CHECKS, lambda w: step(w, "Run the required checks").update(
        run='"$RUNNER_TEMP/promotion-bot/bin/promotion-bot" validate\n'),
     "checks job runs no check"),
]


def _mutation_id(case: tuple[str, Path, Mutation, str]) -> str:
    return f"{case[0]}:{case[1].relative_to(PROJECT)}:{case[3]}"


@pytest.mark.parametrize("case", MUTATIONS, ids=[_mutation_id(case) for case in MUTATIONS])
def test_audit_catches_each_violation(case: tuple[str, Path, Mutation, str]) -> None:
    rule, path, mutate, _what = case
    workflow = load_workflow(path.read_text(encoding="utf-8"))
    assert not audit_file(path, workflow), "the unmutated file must be clean"
    mutated = copy.deepcopy(workflow)
    mutate(mutated)
    rules = {finding.rule for finding in audit_file(path, mutated)}
    assert rule in rules, f"{rule} not caught; found {sorted(rules)}"


def test_every_rule_is_exercised_by_a_mutation() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    audit_source = source[source.index("def audit("):source.index("# --- the real workflows")]
    rules = set(re.findall(r'find\(\s*"([a-z-]+)"', audit_source))
    rules |= set(re.findall(r'find\("([a-z-]+)" if privileged else "([a-z-]+)"', audit_source)[0])
    exercised = {case[0] for case in MUTATIONS}
    assert rules == exercised, f"rules without a mutation: {sorted(rules - exercised)}"


@pytest.mark.parametrize("text, message", [
    ("on: push\npermissions: {}\npermissions: {contents: write}\njobs: {}\n", "duplicate key"),
    ("on: push\nx: &base {a: b}\njobs:\n  j:\n    <<: *base\n", "merge keys"),
])
def test_loader_refuses_documents_the_audit_could_misread(text: str, message: str) -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match=message):
        load_workflow(text)


def test_loader_keeps_on_and_booleans_as_strings() -> None:
    workflow = load_workflow("on: push\njobs:\n  j:\n    with: {persist-credentials: false}\n")
    assert "on" in workflow and True not in workflow
    assert workflow["jobs"]["j"]["with"]["persist-credentials"] == "false"


# --- the callers and the reusable workflows fit together ------------------------------------


def callers() -> list[tuple[Path, str, dict[str, Any]]]:
    """(caller file, job id, job) for every job of the example that calls a reusable workflow."""
    found = []
    for path in sorted(CALLER_DIR.glob("*.yml")):
        for job_id, job_ in load_workflow(path.read_text(encoding="utf-8"))["jobs"].items():
            if "uses" in job_:
                found.append((path, job_id, job_))
    return found


def test_every_promotion_workflow_has_a_caller() -> None:
    called = {Path(job_["uses"].split("@")[0]).name for _, _, job_ in callers()}
    reusable = {path.name for path in REUSABLE_DIR.glob("promotion-*.yml")}
    assert called == reusable


@pytest.mark.parametrize("caller", callers(), ids=lambda c: f"{c[0].name}:{c[1]}")
def test_caller_matches_the_reusable_workflow(caller: tuple[Path, str, dict[str, Any]]) -> None:
    path, _job_id, caller_job = caller
    target, pin = caller_job["uses"].split("@")
    callee = load_workflow((REUSABLE_DIR / Path(target).name).read_text(encoding="utf-8"))
    interface = callee["on"]["workflow_call"]
    inputs, secrets = interface.get("inputs", {}), interface.get("secrets", {})
    given_inputs, given_secrets = caller_job.get("with", {}), caller_job.get("secrets", {})

    # The bot installed is the commit the workflow was taken from.
    assert given_inputs["bot-ref"] == pin
    assert given_inputs["bot-repository"] == "/".join(target.split("/")[:2])
    # Inputs and secrets: only declared names, every required one given.
    assert set(given_inputs) <= set(inputs)
    assert {n for n, spec in inputs.items() if spec.get("required") == "true"} <= set(given_inputs)
    assert set(given_secrets) <= set(secrets)
    assert {n for n, spec in secrets.items() if spec.get("required") == "true"} <= set(given_secrets)
    for name, value in given_secrets.items():
        assert value == f"${{{{ secrets.{name} }}}}", "environment secrets are passed by name"
    # A called job gets at most what its caller job grants: the caller must cover it.
    for callee_job in callee["jobs"].values():
        for scope, level in callee_job.get("permissions", {}).items():
            assert caller_job["permissions"].get(scope) == level, (path.name, scope)


def test_reviews_retrigger_the_gate() -> None:
    trigger = load_workflow(TRIGGER.read_text(encoding="utf-8"))
    gate_caller = load_workflow(CALL_GATE.read_text(encoding="utf-8"))
    assert gate_caller["on"]["workflow_run"]["workflows"] == [trigger["name"]]
    assert gate_caller["on"]["workflow_run"]["types"] == ["completed"]
    assert set(trigger["on"]["pull_request_review"]["types"]) >= {"submitted", "dismissed"}
    # The trigger does nothing: no action, no checkout, nothing that could hand data over.
    (only_job,) = trigger["jobs"].values()
    assert [set(s) for s in only_job["steps"]] == [{"name", "run"}]
    assert "GITHUB_OUTPUT" not in only_job["steps"][0]["run"]


def test_gate_runs_on_every_pull_request_change() -> None:
    gate_caller = load_workflow(CALL_GATE.read_text(encoding="utf-8"))
    types = set(gate_caller["on"]["pull_request_target"]["types"])
    assert {"opened", "reopened", "synchronize", "edited", "ready_for_review"} <= types


def test_the_gate_re_judges_every_open_pull_request_every_30_minutes() -> None:
    """A green status must not outlive the team membership it relied on: the caller runs the
    gate on a schedule, and docs/status-model.md promises that interval."""
    gate_caller = load_workflow(CALL_GATE.read_text(encoding="utf-8"))
    [entry] = gate_caller["on"]["schedule"]
    minutes, *every = entry["cron"].split()
    assert every == ["*", "*", "*", "*"]
    marks = sorted(int(m) for m in minutes.split(","))
    gaps = [(b - a) % 60 or 60 for a, b in zip(marks, marks[1:] + marks[:1], strict=True)]
    assert max(gaps) == 30, entry["cron"]
    model = (PROJECT / "docs" / "status-model.md").read_text(encoding="utf-8")
    assert f'cron: "{entry["cron"]}"' in model and "every 30 minutes" in model


def test_record_runs_on_every_push_to_main_and_only_there() -> None:
    record_caller = load_workflow(CALL_RECORD.read_text(encoding="utf-8"))
    assert record_caller["on"] == {"push": {"branches": ["main"]}}


def test_rollback_is_a_button_with_a_change_id() -> None:
    caller = load_workflow((CALLER_DIR / "promotion-rollback.yml").read_text(encoding="utf-8"))
    change_id = caller["on"]["workflow_dispatch"]["inputs"]["change_id"]
    assert change_id["required"] == "true" and change_id["type"] == "string"


def test_actions_are_pinned_consistently() -> None:
    """One commit per action across all workflows, each with its version in a comment."""
    pins: dict[str, set[str]] = {}
    for path in workflow_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.search(r"uses:\s*(actions/[\w-]+)@([0-9a-f]{40})(\s*# v[\d.]+)?", line)
            if match:
                assert match.group(3), f"{path.name}: {line.strip()} has no version comment"
                pins.setdefault(match.group(1), set()).add(match.group(2) + match.group(3))
    assert pins and all(len(commits) == 1 for commits in pins.values()), pins


# --- linters and the adoption guide ----------------------------------------------------------


def test_zizmor_reports_nothing() -> None:
    zizmor = Path(sys.executable).parent / "zizmor"
    assert zizmor.exists(), "zizmor is part of the test extra: pip install -e '.[test]'"
    result = subprocess.run(
        [str(zizmor), "--offline", "--no-progress", *map(str, WORKFLOW_DIRS)],
        capture_output=True, text=True, cwd=PROJECT, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_adoption_guide_shows_the_example_callers_verbatim() -> None:
    guide = ADOPTING.read_text(encoding="utf-8")
    blocks = dict(re.findall(
        r"<!-- file: (examples/governed-repo/\.github/workflows/[\w.-]+) -->\n```yaml\n(.*?)```",
        guide, flags=re.S))
    assert set(blocks) == {str(p.relative_to(PROJECT)) for p in sorted(CALLER_DIR.glob("*.yml"))}
    for name, text in blocks.items():
        assert text == (PROJECT / name).read_text(encoding="utf-8"), f"{name} drifted from the guide"
