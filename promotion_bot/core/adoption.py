"""What `promotion-bot init` proposes for an existing repository. Pure: the facts are given.

From the repository's tracked files (and the few it reads: model configurations, a Makefile, an
existing CODEOWNERS) it proposes

- a policy: change types from the paths it finds (rulesets, models, prompts, templates), the
  checks the repository already has (check scripts, Makefile targets, a SHA-256 manifest, and the
  built-ins that fit), the four roles of the promotion workflow, the conditions that add the
  security officer (a model's provider or endpoint changes) and the privacy officer (privacy
  templates), governance over the files that define "approved";
- CODEOWNERS lines that give every governed path an owner for each role it needs, appended to an
  existing CODEOWNERS (the last matching line wins) or as a new one;
- the five caller workflows, with promotion-bot's repository and commit filled in.

Whatever it cannot fill in is a `Question` named after the option that answers it; a proposal
with open questions writes nothing. The proposal is checked before it is offered: the policy
loads without a problem, and CODEOWNERS gives every tracked governed file an owner for each role.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from promotion_bot.core.approvals import coverage_problems
from promotion_bot.core.codeowners import CODEOWNERS_LOCATIONS, parse_codeowners
from promotion_bot.core.errors import InputError, Problem
from promotion_bot.core.formats.documents import POLICY_PATH, load_policy
from promotion_bot.core.globs import match_any
from promotion_bot.core.models import Policy
from promotion_bot.core.policy import FileChange, KeyChange, parse_config, required_roles

ROLES = ("reviewer", "administrator", "security_officer", "privacy_officer")
ROLE_OPTIONS = {
    "reviewer": "--reviewers",
    "administrator": "--administrators",
    "security_officer": "--security-officers",
    "privacy_officer": "--privacy-officers",
}
DEFAULT_TEAMS = {
    "reviewer": "promotion-reviewers",
    "administrator": "promotion-admins",
    "security_officer": "security-officers",
    "privacy_officer": "privacy-officers",
}
ROLE_DESCRIPTIONS = {
    "reviewer": "Reviews the content of rulesets, models, prompts and templates.",
    "administrator": "Owns production promotion; approves every promotion, rollback and "
    "governance change.",
    "security_officer": "Approves any change of where model traffic goes (LLM egress).",
    "privacy_officer": "Approves templates that answer privacy requests.",
}
CHANGE_TYPES = ("ruleset", "model", "prompt", "template")
# a directory whose name contains one of these words holds artifacts of that change type
TYPE_WORDS = {
    "ruleset": ("rule", "routing"),
    "model": ("model", "llm"),
    "prompt": ("prompt",),
    "template": ("template",),
}
DATA_SUFFIXES = frozenset({
    ".json", ".yaml", ".yml", ".md", ".txt", ".toml", ".j2", ".jinja", ".jinja2", ".tmpl",
    ".tpl", ".html", ".htm", ".mustache", ".hbs", ".prompt", ".csv", ".tsv", ".xml", ".ini",
    ".cfg", ".conf", ".rules",
})
SKIPPED_DIRS = frozenset({
    "test", "tests", "spec", "specs", "doc", "docs", "example", "examples", "node_modules",
    "vendor", "third_party", "dist", "build", "venv", "site-packages", "fixtures",
})
PRIVACY_WORDS = ("privacy", "gdpr", "dsar")
EGRESS_KEYS = ("provider", "endpoint", "base_url", "api_base", "api_url")
CHECK_SCRIPT = re.compile(r"^(verify|check|lint|validate|test)([_.-][\w.-]*)?\.(sh|bash|py)$")
MAKE_TARGET = re.compile(r"^((?:verify|check|lint|validate|test)[\w-]*)\s*:(?!=)", re.MULTILINE)
MANIFEST_NAMES = re.compile(r"(?i)^(sha256sums(\.txt)?|[\w.-]+\.sha256sums)$")
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
OWNER = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(/[A-Za-z0-9._-]+)?$")
ORG = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
TEMPLATE_REPOSITORY = "OWNER/promotion-bot"
TEMPLATE_COMMIT = "0" * 40
WORKFLOW_DIR = ".github/workflows"
CHANGE_REQUEST_DIR = "change-requests"


# --- what init is given ----------------------------------------------------------------------


@dataclass(frozen=True)
class RepositoryFacts:
    """The repository as it stands. `read` returns a tracked file's bytes (None: absent)."""

    files: tuple[str, ...]
    read: Callable[[str], bytes | None]
    origin_owner: str | None = None  # the GitHub owner of the `origin` remote, if on GitHub
    bot_repository: str | None = None  # where the installed promotion-bot came from
    bot_commit: str | None = None


@dataclass(frozen=True)
class Answers:
    """What the person running init said (options or answers to the questions)."""

    org: str | None = None
    bot_repository: str | None = None
    bot_ref: str | None = None
    owners: Mapping[str, str] = field(default_factory=dict)  # role -> @org/team or @user
    change_types: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # type -> globs
    checks: Mapping[str, str] = field(default_factory=dict)  # name -> command
    signing_key: SigningKeyEntry | None = None


@dataclass(frozen=True)
class SigningKeyEntry:
    keyid: str
    public_key_pem: str


# --- what init proposes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """A placeholder init cannot fill: answered by `option` (or interactively)."""

    option: str
    prompt: str
    why: str
    default: str | None = None


@dataclass(frozen=True)
class ProposedFile:
    path: str
    content: str  # the whole file as it will be written
    action: str  # create | append | unchanged
    added: str = ""  # for append: the lines added at the end
    summary: str = ""


@dataclass(frozen=True)
class Proposal:
    files: tuple[ProposedFile, ...]
    found: tuple[str, ...]  # what init found and how it used it, one line each
    notes: tuple[str, ...]  # what it left for the person to decide
    questions: tuple[Question, ...]
    problems: tuple[Problem, ...]  # answers that cannot be used, or a proposal that fails

    @property
    def ready(self) -> bool:
        return not self.questions and not self.problems

    @property
    def to_write(self) -> tuple[ProposedFile, ...]:
        return tuple(f for f in self.files if f.action != "unchanged")


@dataclass(frozen=True)
class _Check:
    name: str
    lines: tuple[str, ...]  # its YAML body under checks.<name>
    source: str  # where init found it
    governs: str | None = None  # a glob for the files the check runs (governance)
    only_for: str | None = None  # required by this change type only (else: every type, rollback)


# --- proposing ----------------------------------------------------------------------------


def propose(
    facts: RepositoryFacts,
    answers: Answers,
    templates: Mapping[str, str],
    now: dt.datetime,
) -> Proposal:
    """The files init would write, what it found, and the questions still open."""
    problems = _answer_problems(answers)
    questions: list[Question] = []
    found: list[str] = []
    notes: list[str] = []

    existing_policy = facts.read(POLICY_PATH) is not None
    if existing_policy:
        problems.append(Problem(POLICY_PATH, "this repository already has a policy",
                                hint="init adopts repositories without one; edit the policy "
                                "instead (docs/policy.md)"))

    org = answers.org or facts.origin_owner
    if org is None:
        questions.append(Question(
            "--org", "GitHub organisation that owns the repository and its teams",
            "the origin remote is not a GitHub repository, so init cannot tell"))
    repository = answers.bot_repository or facts.bot_repository
    if repository is None:
        questions.append(Question(
            "--bot-repository", "promotion-bot's repository on GitHub (OWNER/NAME)",
            "this promotion-bot was not installed from GitHub, so init cannot tell where the "
            "workflows should take it from"))
    commit = answers.bot_ref or facts.bot_commit
    if commit is None:
        questions.append(Question(
            "--bot-ref", "the promotion-bot commit to adopt (the full 40-character SHA)",
            "this promotion-bot was not installed from a git commit; pick a reviewed commit "
            "(docs/adopting.md)"))

    types = _change_types(facts, answers, found)
    if not types:
        questions.append(Question(
            "--change-type", "a governed change type and its paths, as TYPE=GLOB "
            "(e.g. ruleset=configs/rules/**)",
            "init found no folder of rulesets, models, prompts or templates"))
    checks = _checks(facts, answers, types, found, notes)
    if not checks:
        questions.append(Question(
            "--check", "a command that checks the artifacts, as NAME=COMMAND "
            "(e.g. lint='make lint')",
            "init found no check script, Makefile target or SHA-256 manifest"))

    if problems or questions:
        return Proposal((), tuple(found), tuple(notes), tuple(questions), tuple(problems))
    assert org is not None and repository is not None and commit is not None

    owners = {role: answers.owners.get(role) or f"@{org}/{DEFAULT_TEAMS[role]}" for role in ROLES}
    found += [f"role       {role}: {owners[role]} ({ROLE_OPTIONS[role]})" for role in ROLES]
    codeowners_path = next((p for p in CODEOWNERS_LOCATIONS if p in facts.files), None)
    governance = _governance(codeowners_path or "CODEOWNERS", checks)
    conditions = _conditions(facts, types, found)
    policy_text = _policy_text(owners, types, checks, governance, conditions, answers, now)
    codeowners_file = _codeowners(facts, codeowners_path, owners, types, governance, conditions)
    workflows = _workflows(facts, templates, repository, commit, problems)
    files = (ProposedFile(POLICY_PATH, policy_text, "create",
                          summary="roles, change types, checks, governance"),
             codeowners_file, *workflows)
    problems += _proposal_problems(facts, policy_text, codeowners_file)
    if answers.signing_key is None:
        notes.append("no signing key in the policy yet: make one with `promotion-bot keys "
                     "generate -o signing-key.pem` and run init with --signing-key "
                     "signing-key.pem, or paste the entry it prints under signing:")
    return Proposal(files, tuple(found), tuple(notes), (), tuple(problems))


def _answer_problems(answers: Answers) -> list[Problem]:
    problems: list[Problem] = []

    def bad(option: str, message: str, hint: str) -> None:
        problems.append(Problem(option, message, hint=hint))

    if answers.org is not None and not ORG.match(answers.org):
        bad("--org", f"{answers.org!r} is not a GitHub organisation name",
            "letters, digits and single hyphens")
    if answers.bot_repository is not None and (
            not REPOSITORY.match(answers.bot_repository)
            or answers.bot_repository == TEMPLATE_REPOSITORY):
        bad("--bot-repository", f"{answers.bot_repository!r} is not a repository",
            "OWNER/NAME of the promotion-bot repository the workflows take it from")
    if answers.bot_ref is not None and (not COMMIT.match(answers.bot_ref)
                                        or answers.bot_ref == TEMPLATE_COMMIT):
        bad("--bot-ref", f"{answers.bot_ref!r} is not a full commit SHA",
            "40 lower-case hex digits: a branch or tag would move under the workflows")
    for role, owner in answers.owners.items():
        if not OWNER.match(owner):
            bad(ROLE_OPTIONS[role], f"{owner!r} is not a CODEOWNERS owner",
                "@org/team or @user")
    for type_name, globs in answers.change_types.items():
        if type_name not in CHANGE_TYPES:
            bad("--change-type", f"{type_name!r} is not a change type",
                "one of " + ", ".join(CHANGE_TYPES))
        for glob in globs:
            if not glob or glob.startswith("/") or any(c.isspace() for c in glob):
                bad("--change-type", f"{type_name}={glob}: not a repository-relative glob",
                    "such as configs/rules/** (no leading slash, no spaces)")
    for name, command in answers.checks.items():
        if not NAME.match(name) or name in YAML_WORDS:
            bad("--check", f"{name!r} is not a check name",
                "lower-case letters, digits, '_' and '-', starting with a letter; not a word "
                "YAML reads as true, false or null (yes, no, on, off, ...)")
        if not command.strip():
            bad("--check", f"{name}: the command is empty", "--check NAME='COMMAND ARGS'")
    return problems


# --- change types --------------------------------------------------------------------------


def _candidate(path: str) -> bool:
    parts = PurePosixPath(path).parts
    if any(part.startswith(".") for part in parts) or len(parts) < 2:
        return False
    if parts[0].lower() in SKIPPED_DIRS or parts[0] == CHANGE_REQUEST_DIR:
        return False
    return PurePosixPath(path).suffix.lower() in DATA_SUFFIXES


def _type_of(directory: str) -> str | None:
    name = directory.lower()
    for type_name in CHANGE_TYPES:
        if any(word in name for word in TYPE_WORDS[type_name]):
            return type_name
    return None


def _change_types(facts: RepositoryFacts, answers: Answers,
                  found: list[str]) -> dict[str, tuple[str, ...]]:
    """type -> governed globs: the outermost folder named like the type that holds data files."""
    folders: dict[str, dict[str, int]] = {}
    for path in facts.files:
        if not _candidate(path):
            continue
        parts = PurePosixPath(path).parts[:-1]
        for depth, part in enumerate(parts):
            type_name = _type_of(part)
            if type_name is not None:
                folder = "/".join(parts[: depth + 1])
                counts = folders.setdefault(type_name, {})
                counts[folder] = counts.get(folder, 0) + 1
                break
    types: dict[str, tuple[str, ...]] = {}
    for type_name in CHANGE_TYPES:
        if type_name in answers.change_types:
            types[type_name] = tuple(answers.change_types[type_name])
            found.append(f"{type_name:10} {', '.join(types[type_name])} (--change-type)")
        elif type_name in folders:
            counts = folders[type_name]
            types[type_name] = tuple(f"{folder}/**" for folder in sorted(counts))
            described = ", ".join(f"{folder}/** ({counts[folder]} file"
                                  f"{'s' if counts[folder] != 1 else ''})"
                                  for folder in sorted(counts))
            found.append(f"{type_name:10} {described}")
    return types


def _files_under(facts: RepositoryFacts, globs: Sequence[str]) -> list[str]:
    return sorted(path for path in facts.files if match_any(tuple(globs), path))


# --- checks --------------------------------------------------------------------------------


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"check-{slug}".rstrip("-")
    return slug[:64]


def _checks(facts: RepositoryFacts, answers: Answers, types: Mapping[str, tuple[str, ...]],
            found: list[str], notes: list[str]) -> dict[str, _Check]:
    checks: dict[str, _Check] = {}

    def add(check: _Check) -> None:
        if check.name not in checks:
            checks[check.name] = check
            found.append(f"check      {check.name}: {check.source}")

    for path in sorted(facts.files):
        parts = PurePosixPath(path).parts
        if len(parts) > 3 or any(part.startswith(".") for part in parts):
            continue
        if parts[0].lower() in SKIPPED_DIRS:
            continue
        if CHECK_SCRIPT.match(parts[-1]):
            interpreter = "python3" if path.endswith(".py") else "bash"
            governs = f"{parts[0]}/**" if len(parts) > 1 else path
            add(_Check(_slug(PurePosixPath(path).stem), (f"run: {interpreter} {path}",),
                       f"{interpreter} {path}", governs))
    makefile = facts.read("Makefile") if "Makefile" in facts.files else None
    if makefile is not None:
        text = makefile.decode("utf-8", "replace")
        for target in dict.fromkeys(MAKE_TARGET.findall(text)):
            add(_Check(_slug(f"make-{target}"), (f"run: make {target}",), f"make {target}",
                       "Makefile"))
    for path in sorted(facts.files):
        if MANIFEST_NAMES.match(PurePosixPath(path).name) and _candidate_manifest(path):
            add(_Check(_slug(f"{PurePosixPath(path).parent.name or 'sha256'}-manifest"),
                       ("builtin: sha256-manifest", "with:", f"  manifest: {_q(path)}"),
                       f"built-in sha256-manifest of {path}", path))
    if "model" in types:
        identifiers = [p for p in _files_under(facts, types["model"]) if _config(p)
                       and "identifier" in _keys(facts, p)]
        if identifiers:
            add(_Check("pinned-models", ("builtin: pinned-models",),
                       f"built-in pinned-models (identifier in {identifiers[0]})",
                       only_for="model"))
        else:
            notes.append("no `identifier` key in the model configurations: the built-in "
                         "pinned-models check is left out (docs/checks.md)")
    if "prompt" in types:
        add(_Check("prompt-hashes", ("builtin: prompt-hashes",),
                   "built-in prompt-hashes (prompts are versioned and hashed)", only_for="prompt"))
    if "template" in types:
        notes.append("templates: add the built-in template-policy check with your prohibited "
                     "phrases when you have them (docs/checks.md)")
    for name, command in answers.checks.items():
        checks[name] = _Check(name, (f"run: {_q(command)}",), f"{command} (--check)",
                              _governed_by_command(facts, command))
        found.append(f"check      {name}: {command} (--check)")
    return checks


def _governed_by_command(facts: RepositoryFacts, command: str) -> str | None:
    """The folder (or file) of the repository's own script a command runs: a pull request that
    edits it could make its own check pass, so the administrators govern it."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    for word in words:
        path = word.removeprefix("./")
        if path in facts.files:
            parts = PurePosixPath(path).parts
            return f"{parts[0]}/**" if len(parts) > 1 else path
    return None


def _candidate_manifest(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return not any(p.startswith(".") or p.lower() in SKIPPED_DIRS for p in parts[:-1])


def _config(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in (".yaml", ".yml", ".json")


def _keys(facts: RepositoryFacts, path: str) -> dict[str, str]:
    """Every key of a YAML/JSON config: key name -> its dotted path ('*' for list items)."""
    raw = facts.read(path)
    if raw is None:
        return {}
    try:
        data = parse_config(raw, path)
    except InputError:
        return {}
    keys: dict[str, str] = {}

    def walk(node: Any, prefix: tuple[str, ...]) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                dotted = (*prefix, str(key))
                keys.setdefault(str(key), ".".join(dotted))
                walk(value, dotted)
        elif isinstance(node, list):
            for item in node:
                walk(item, (*prefix, "*"))

    walk(data, ())
    return keys


# --- conditions, governance ----------------------------------------------------------------


@dataclass(frozen=True)
class _Condition:
    name: str
    description: str
    roles: tuple[str, ...]
    paths: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # config_keys files
    keys: tuple[str, ...] = ()


def _conditions(facts: RepositoryFacts, types: Mapping[str, tuple[str, ...]],
                found: list[str]) -> list[_Condition]:
    conditions = []
    if "model" in types:
        configs = [p for p in _files_under(facts, types["model"]) if _config(p)]
        keys: dict[str, None] = {}
        for path in configs:
            for name, dotted in _keys(facts, path).items():
                if name in EGRESS_KEYS:
                    keys[dotted] = None
        watched = tuple(keys) or ("provider", "endpoint")
        suffixes = sorted({PurePosixPath(p).suffix.lower() for p in configs}) or [".yaml"]
        files = tuple(f"{glob.removesuffix('/**')}/**/*{suffix}"
                      for glob in types["model"] for suffix in suffixes)
        conditions.append(_Condition(
            "external-llm-egress",
            "The model provider or endpoint changed; traffic may leave the network.",
            ("security_officer",), files=files, keys=watched))
        found.append(f"condition  external-llm-egress: {', '.join(watched)} in the model "
                     "configurations need the security officer")
    if "template" in types:
        privacy: dict[str, None] = {}
        for path in _files_under(facts, types["template"]):
            parts = PurePosixPath(path).parts[:-1]
            for depth, part in enumerate(parts):
                if any(word in part.lower() for word in PRIVACY_WORDS):
                    privacy["/".join(parts[: depth + 1]) + "/**"] = None
                    break
        if privacy:
            conditions.append(_Condition(
                "privacy-templates", "Templates that answer data subject requests.",
                ("privacy_officer", "administrator"), paths=tuple(privacy)))
            found.append(f"condition  privacy-templates: {', '.join(privacy)} need the privacy "
                         "officer")
    return conditions


def _governance(codeowners_path: str, checks: Mapping[str, _Check]) -> tuple[str, ...]:
    paths = [".promotion/**", codeowners_path, ".github/**"]
    for check in checks.values():
        if check.governs and check.governs not in paths:
            paths.append(check.governs)
    return tuple(paths)


# --- the policy ----------------------------------------------------------------------------


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _flow(items: Sequence[str], quote: bool = True) -> str:
    return "[" + ", ".join(_q(i) if quote else i for i in items) + "]"


def _policy_text(owners: Mapping[str, str], types: Mapping[str, tuple[str, ...]],
                 checks: Mapping[str, _Check], governance: Sequence[str],
                 conditions: Sequence[_Condition], answers: Answers, now: dt.datetime) -> str:
    common = [name for name, check in checks.items() if check.only_for is None]
    lines = [
        "# Promotion policy (schemas/policy.schema.json, docs/policy.md), proposed by",
        "# `promotion-bot init`. It is read from the base branch on every evaluation, so a pull",
        "# request cannot lower its own bar: change it through a pull request like any governed",
        "# file (the administrators approve).",
        "version: 1",
        "",
        "roles:",
    ]
    for role in ROLES:
        lines += [f"  {role}:", f"    description: {_q(ROLE_DESCRIPTIONS[role])}",
                  f"    owners: {_flow([owners[role]])}"]
    lines += ["", "change_types:"]
    for type_name, globs in types.items():
        required = [name for name, check in checks.items()
                    if check.only_for in (None, type_name)]
        lines += [f"  {type_name}:", f"    paths: {_flow(globs)}",
                  "    required_roles: [reviewer, administrator]",
                  f"    required_checks: {_flow(required, quote=False)}"]
    lines += ["", "governance:", f"  paths: {_flow(governance)}",
              "  required_roles: [administrator]"]
    if conditions:
        lines += ["", "conditions:"]
        for condition in conditions:
            lines += [f"  - name: {condition.name}",
                      f"    description: {_q(condition.description)}", "    when:"]
            if condition.paths:
                lines.append(f"      paths: {_flow(condition.paths)}")
            if condition.keys:
                lines += ["      config_keys:", f"        - files: {_flow(condition.files)}",
                          f"          keys: {_flow(condition.keys, quote=False)}"]
            lines.append(f"    require_roles: {_flow(condition.roles, quote=False)}")
    lines += ["", "checks:"]
    for name, check in checks.items():
        lines.append(f"  {name}:")
        lines += [f"    {line}" for line in check.lines]
    lines += ["", "rollback:", "  required_roles: [administrator]",
              f"  required_checks: {_flow(common, quote=False)}",
              "", "approvals:", "  request_reviews: true",
              "", "membership:", "  source: github"]
    if answers.signing_key is not None:
        not_before = now.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines += ["", "signing:", "  keys:", f"    - keyid: {answers.signing_key.keyid}",
                  f'      not_before: "{not_before}"', "      public_key: |"]
        lines += [f"        {line}" for line in answers.signing_key.public_key_pem.splitlines()]
    return "\n".join(lines) + "\n"


# --- CODEOWNERS ----------------------------------------------------------------------------


def _codeowners_pattern(glob: str) -> str:
    if glob.endswith("/**"):
        return "/" + glob.removesuffix("**")
    return "/" + glob


def _codeowners(facts: RepositoryFacts, path: str | None, owners: Mapping[str, str],
                types: Mapping[str, tuple[str, ...]], governance: Sequence[str],
                conditions: Sequence[_Condition]) -> ProposedFile:
    roles_of: dict[str, list[str]] = {}

    def need(glob: str, roles: Sequence[str]) -> None:
        wanted = roles_of.setdefault(glob, [])
        wanted.extend(role for role in roles if role not in wanted)

    for glob in governance:
        need(glob, ["administrator"])
    for globs in types.values():
        for glob in globs:
            need(glob, ["reviewer", "administrator"])
            for condition in conditions:
                if any(f.startswith(glob.removesuffix("**")) for f in condition.files):
                    need(glob, condition.roles)
    for condition in conditions:
        for glob in condition.paths:
            parent = next((g for gs in types.values() for g in gs
                           if glob.startswith(g.removesuffix("**"))), None)
            need(glob, [*(roles_of.get(parent, []) if parent else []), *condition.roles])
    # deeper paths last: the last matching line wins
    ordered = sorted(roles_of, key=lambda g: (g.count("/"), g))
    width = max(len(_codeowners_pattern(g)) for g in ordered) + 2
    block = ["# promotion-bot: an owner of each role on every governed path (the policy maps",
             "# each role to these owners). The last matching line wins: keep these lines last."]
    block += [f"{_codeowners_pattern(g):<{width}}"
              + " ".join(owners[role] for role in ROLES if role in roles_of[g])
              for g in ordered]
    added = "\n".join(block) + "\n"
    if path is None:
        return ProposedFile("CODEOWNERS", added, "create",
                            summary="owners of the governed paths, per role")
    existing = (facts.read(path) or b"").decode("utf-8", "replace")
    if existing.endswith(added):
        return ProposedFile(path, existing, "unchanged")
    separator = "" if not existing or existing.endswith("\n\n") else (
        "\n" if existing.endswith("\n") else "\n\n")
    return ProposedFile(path, existing + separator + added, "append", added=added,
                        summary=f"{len(block) - 2} lines at the end (they override earlier "
                        "lines for these paths)")


# --- workflows -----------------------------------------------------------------------------


def _workflows(facts: RepositoryFacts, templates: Mapping[str, str], repository: str,
               commit: str, problems: list[Problem]) -> list[ProposedFile]:
    files = []
    for name, template in sorted(templates.items()):
        text = template.replace(TEMPLATE_REPOSITORY, repository).replace(TEMPLATE_COMMIT, commit)
        text = _drop_placeholder_advice(text)
        path = f"{WORKFLOW_DIR}/{name}"
        current = facts.read(path)
        if current is None:
            files.append(ProposedFile(path, text, "create", summary=_pin_line(text)))
        elif current.decode("utf-8", "replace") == text:
            files.append(ProposedFile(path, text, "unchanged"))
        else:
            problems.append(Problem(path, "exists with other content; init never overwrites a "
                                    "workflow", hint="move it aside (or delete it) and run init "
                                    "again, or copy the changes you want by hand"))
    return files


def _drop_placeholder_advice(text: str) -> str:
    """The templates tell a human to replace OWNER and the zeros; once filled, drop that."""
    kept = [line for line in text.splitlines(keepends=True)
            if not (line.startswith("#") and ("Replace OWNER" in line
                                              or "full commit SHA you adopt" in line))]
    return "".join(kept)


def _pin_line(text: str) -> str:
    match = re.search(r"uses:\s*(\S+@[0-9a-f]{40})", text)
    return f"calls {match.group(1)}" if match else "no promotion-bot call (review trigger)"


# --- the proposal checks itself ------------------------------------------------------------


def _proposal_problems(facts: RepositoryFacts, policy_text: str,
                       codeowners: ProposedFile) -> list[Problem]:
    loaded = load_policy(policy_text.encode("utf-8"), POLICY_PATH)
    if loaded.value is None:
        return list(loaded.problems)
    policy: Policy = loaded.value
    owners = parse_codeowners(codeowners.content, codeowners.path)
    governed = [FileChange("A", path) for path in facts.files
                if match_any(_all_paths(policy), path)]
    watched = [KeyChange(path, key, None, "changed")
               for condition in policy.conditions for watch in condition.config_keys
               for path in facts.files if match_any(watch.files, path) for key in watch.keys]
    requirements = required_roles(policy, [], governed, watched)
    return [*requirements.problems, *coverage_problems(policy, owners, requirements.roles)]


def _all_paths(policy: Policy) -> tuple[str, ...]:
    patterns = [g for rule in policy.change_types.values() for g in rule.paths]
    patterns += policy.governance.paths
    patterns += [g for condition in policy.conditions for g in condition.paths]
    return tuple(patterns)
