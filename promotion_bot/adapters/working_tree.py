"""A governed repository's working tree: its policy and change requests, validated together.

This is the filesystem side of `validate` and `new`: it reads files, asks git what is tracked
and hashes artifacts. The judgement of each document lives in documents.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from promotion_bot.adapters import git
from promotion_bot.adapters.files import sha256_file
from promotion_bot.core.errors import Problem
from promotion_bot.core.formats.documents import (
    BASELINE_PATH,
    POLICY_PATH,
    Loaded,
    load_change_request,
    load_policy,
)
from promotion_bot.core.git_facts import GITLINK_MODE, SYMLINK_MODE, TrackedFile
from promotion_bot.core.models import ChangeRequest, Policy
from promotion_bot.core.paths import path_problem


@dataclass
class ValidationReport:
    policy_checked: bool = False
    change_requests: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    config_error: str | None = None

    def summary(self) -> str:
        parts = []
        if self.change_requests:
            count = len(self.change_requests)
            parts.append(f"{count} change request" + ("s" if count != 1 else ""))
        if self.policy_checked:
            parts.append("the policy")
        return " and ".join(parts) or "nothing to validate"

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": not self.problems and not self.config_error,
            "policy_checked": self.policy_checked,
            "change_requests": self.change_requests,
            "problems": [problem.as_dict() for problem in self.problems],
            "notes": self.notes,
            "config_error": self.config_error,
        }


def read_policy(root: Path) -> Loaded[Policy]:
    path = root / POLICY_PATH
    if not path.is_file():
        problem = Problem(
            file=POLICY_PATH,
            message="no policy in this repository",
            hint="create .promotion/policy.yaml (see docs/policy.md and examples/governed-repo)",
        )
        return Loaded(None, [problem])
    return load_policy(path.read_bytes(), POLICY_PATH)


def change_request_files(root: Path, directory: str) -> list[str]:
    folder = root / directory
    if not folder.is_dir():
        return []
    return sorted(
        path.relative_to(root).as_posix()
        for path in folder.iterdir()
        if path.is_file() and path.suffix in (".yaml", ".yml")
    )


def change_id_order(change_id: str) -> tuple[int, int]:
    _, year, number = change_id.split("-")
    return int(year), int(number)


@dataclass
class ChangeRequestIndex:
    """Facts about all change requests of a repository, built once (validate is then linear)."""

    files_by_change_id: dict[str, list[str]] = field(default_factory=dict)
    newest_declaration: dict[str, tuple[int, int]] = field(default_factory=dict)
    newest_of_target: dict[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def build(cls, change_requests: list[ChangeRequest]) -> ChangeRequestIndex:
        index = cls()
        for cr in change_requests:
            index.files_by_change_id.setdefault(cr.change_id, []).append(cr.source_path)
            order = change_id_order(cr.change_id)
            index.newest_of_target[cr.target] = max(
                order, index.newest_of_target.get(cr.target, order)
            )
            for path in {a.path for a in cr.artifacts} | {p.path for p in cr.prompts}:
                index.newest_declaration[path] = max(
                    order, index.newest_declaration.get(path, order)
                )
        return index

    def moved_on(self, cr: ChangeRequest) -> bool:
        """A later change request moved this target on (e.g. a rollback that deleted files)."""
        return self.newest_of_target.get(cr.target, (0, 0)) > change_id_order(cr.change_id)

    def superseded(self, cr: ChangeRequest, path: str) -> bool:
        """A later change request moved this file on: this one's hash is history."""
        return self.newest_declaration.get(path, (0, 0)) > change_id_order(cr.change_id)


def validate_repository(root: Path, targets: list[str]) -> ValidationReport:
    """Validate the named files (or everything when `targets` is empty)."""
    report = ValidationReport()
    policy = read_policy(root)
    cr_dir = policy.value.change_request_dir if policy.value else "change-requests"
    all_cr_files = change_request_files(root, cr_dir)
    wanted = _expand_targets(root, targets, all_cr_files)
    check_policy = not targets or POLICY_PATH in wanted
    if check_policy:
        report.policy_checked = True
        report.problems.extend(policy.problems)
    elif policy.problems:
        report.config_error = (
            f"the policy cannot be used ({len(policy.problems)} problem(s)); "
            f"run: promotion-bot validate {POLICY_PATH}"
        )
        return report
    cr_targets = [path for path in wanted if path != POLICY_PATH]
    unknown = [path for path in cr_targets if not path.startswith(f"{cr_dir}/")]
    for path in unknown:
        report.problems.append(
            Problem(
                file=path,
                message=f"not a change request: change requests live in {cr_dir}/",
                hint=f"move it to {cr_dir}/<change_id>.yaml",
            )
        )
    loaded_all = {
        path: load_change_request((root / path).read_bytes(), path) for path in all_cr_files
    }
    for path in cr_targets:
        if path not in loaded_all and path not in unknown:
            loaded_all[path] = load_change_request((root / path).read_bytes(), path)
    tracked = RepositoryPaths.scan(root)
    index = ChangeRequestIndex.build([item.value for item in loaded_all.values() if item.value])
    for path in cr_targets:
        if path in unknown:
            continue
        report.change_requests.append(path)
        loaded = loaded_all[path]
        report.problems.extend(loaded.problems)
        if loaded.value is None:
            continue
        report.problems.extend(repository_problems(loaded, index, policy.value, tracked, root))
    report.problems.sort(key=lambda p: (p.file, p.line or 0, p.column or 0))
    if policy.value is None and cr_targets and not check_policy:
        report.notes.append("policy problems: change types were not checked")
    return report


def _expand_targets(root: Path, targets: list[str], all_cr_files: list[str]) -> list[str]:
    if not targets:
        return [POLICY_PATH, *all_cr_files]
    wanted: list[str] = []
    for target in targets:
        full = root / target
        if full.is_dir():
            prefix = "" if target == "." else f"{target.rstrip('/')}/"
            inside = [p for p in [POLICY_PATH, *all_cr_files] if p.startswith(prefix)]
            wanted.extend(inside or [f"{prefix}(no change requests here)"])
        else:
            wanted.append(target)
    return [w for w in dict.fromkeys(wanted) if not w.endswith("(no change requests here)")]


def repository_problems(
    loaded: Loaded[ChangeRequest],
    index: ChangeRequestIndex,
    policy: Policy | None,
    tracked: RepositoryPaths,
    root: Path,
) -> list[Problem]:
    """Checks that need the rest of the repository: uniqueness, paths, hashes, policy."""
    cr = loaded.value
    document = loaded.document
    assert cr is not None and document is not None
    problems: list[Problem] = []
    for other_path in index.files_by_change_id.get(cr.change_id, []):
        if other_path != cr.source_path:
            problems.append(
                document.problem(
                    ["change_id"],
                    f"change_id {cr.change_id} is also used by {other_path}",
                    hint="each change request needs its own change_id",
                )
            )
    if cr.rollback_of and cr.rollback_of not in index.files_by_change_id:
        problems.append(
            document.problem(
                ["rollback_of"],
                f"no change request {cr.rollback_of} in this repository",
                hint="rollback_of names the change_id of a promotion on main",
            )
        )
    for position, artifact in enumerate(cr.artifacts):
        field_path: list[str | int] = ["artifacts", position, "path"]
        path_problem = tracked.problem(artifact.path)
        if path_problem and artifact.path not in tracked.tracked and index.moved_on(cr):
            continue  # history: a later change request of this target removed the file
        if path_problem:
            problems.append(document.problem(field_path, f"{artifact.path}: {path_problem}"))
            continue
        if index.superseded(cr, artifact.path):
            continue
        actual = sha256_file(root / artifact.path)
        if actual != artifact.sha256:
            problems.append(
                document.problem(
                    ["artifacts", position, "sha256"],
                    f"sha256 of {artifact.path} does not match the working tree (it is {actual})",
                    hint="run: promotion-bot hash " + artifact.path,
                )
            )
    for position, prompt in enumerate(cr.prompts):
        path_problem = tracked.problem(prompt.path)
        if path_problem:
            problems.append(
                document.problem(["prompts", position, "path"], f"{prompt.path}: {path_problem}")
            )
            continue
        if index.superseded(cr, prompt.path):
            continue
        actual = sha256_file(root / prompt.path)
        if actual != prompt.sha256:
            problems.append(
                document.problem(
                    ["prompts", position, "sha256"],
                    f"sha256 of {prompt.path} does not match the working tree (it is {actual})",
                    hint="run: promotion-bot hash " + prompt.path,
                )
            )
    if policy is not None:
        problems.extend(_policy_fit(cr, document, policy))
    return problems


def _policy_fit(cr: ChangeRequest, document: Any, policy: Policy) -> list[Problem]:
    rule = policy.change_types.get(cr.change_type)
    if rule is None:
        known = ", ".join(policy.change_types) or "none"
        return [
            document.problem(
                ["change_type"],
                f"the policy does not govern change type {cr.change_type!r}",
                hint=f"the policy's change types are: {known}",
            )
        ]
    problems = []
    for position, artifact in enumerate(cr.artifacts):
        if not rule.governs_file(artifact.path):
            problems.append(
                document.problem(
                    ["artifacts", position, "path"],
                    f"{artifact.path} is not under the governed paths of change type "
                    f"{cr.change_type} ({', '.join(rule.paths)})",
                    hint="declare it in a change request of the type that governs it",
                )
            )
    return problems


def promoted_versions(root: Path, rev: str, directory: str) -> dict[str, str]:
    """The version of each target promoted on `rev`: the last merged change request wins.
    Each is read as it was merged, never as it reads on `rev` now.

    Merged change requests are read in first-parent order (a PR's CR counts from its merge
    commit); a rollback is a change request too, whose proposed_version is the restored one.
    `directory` is the change request folder relative to `root` (a path already prefixed with
    `root`'s place in the git work tree is accepted too). One `git log` and one `git cat-file`.
    """
    prefix = git.prefix_in_toplevel(root)
    top = directory if not prefix or directory.startswith(prefix) else f"{prefix}{directory}"
    added = git.added_in_order(root, rev, f":(top){top}")
    # each change request as merged, at the commit that added it (`git log` names paths from
    # the top): merged change requests are immutable, so one edited or replaced on main later
    # (the audit's CHANGE_REQUEST_EDITED) never moves a version
    specs = [f"{commit}:{path}" for commit, path in added]
    baseline_spec = f"{rev}:{prefix}{BASELINE_PATH}"
    blobs = git.read_blobs(root, list(dict.fromkeys([*specs, baseline_spec])))
    # the adoption baseline is where every target starts; change requests merged since move it
    versions: dict[str, str] = baseline_versions(blobs.get(baseline_spec))
    for (_commit, path), spec in zip(added, specs, strict=True):
        blob = blobs.get(spec)
        if blob is None:
            continue
        loaded = load_change_request(blob, path)
        if loaded.value is not None:
            versions[loaded.value.target] = loaded.value.proposed_version
    return versions


def baseline_versions(raw: bytes | None) -> dict[str, str]:
    """target -> version of .promotion/baseline.yaml (empty without one, or when it is not
    valid: `promotion-bot baseline` and `validate` say why)."""
    if raw is None:
        return {}
    # imported here: the baseline's module brings the governance records (and their signing
    # code), which a repository without a baseline never needs
    from promotion_bot.core.baseline import load_baseline

    declaration, _problems = load_baseline(raw, None)
    return declaration.versions() if declaration else {}


__all__ = [
    "ChangeRequestIndex",
    "ValidationReport",
    "change_id_order",
    "change_request_files",
    "promoted_versions",
    "read_policy",
    "repository_problems",
    "validate_repository",
]


@dataclass
class RepositoryPaths:
    """What git tracks in the repository, for checks that need the work tree."""

    root: Path
    tracked: dict[str, TrackedFile]

    @classmethod
    def scan(cls, root: Path) -> RepositoryPaths:
        return cls(root=root, tracked=git.tracked_files(root))

    @cached_property
    def _by_casefold(self) -> dict[str, list[str]]:
        """Tracked paths by their case-folded form, built once (not one scan per artifact)."""
        index: dict[str, list[str]] = {}
        for tracked in self.tracked:
            index.setdefault(tracked.casefold(), []).append(tracked)
        return index

    @cached_property
    def _resolved_root(self) -> Path:
        return self.root.resolve()

    def problem(self, path: str) -> str | None:
        """Repository-level problems: untracked, symlinks, escaping the root, case collisions."""
        syntactic = path_problem(path)
        if syntactic:
            return syntactic
        entry = self.tracked.get(path)
        same_but_case = self._by_casefold.get(path.casefold(), [])
        if entry is None:
            folded = same_but_case
            if folded:
                return f"no such tracked file; did you mean {folded[0]!r}? (case differs)"
            return "git does not track this file; add and commit it, or fix the path"
        if entry.mode == SYMLINK_MODE:
            return "path is a symbolic link; declare the file it points to instead"
        if entry.mode == GITLINK_MODE:
            return "path is a submodule, not a file"
        resolved = (self.root / path).resolve()
        if not resolved.is_relative_to(self._resolved_root):
            return "path resolves outside the repository (through a symbolic link)"
        for parent in PurePosixPath(path).parents:
            if str(parent) != "." and (self.root / parent).is_symlink():
                return f"directory {parent} is a symbolic link; declare the real path"
        twins = [p for p in same_but_case if p != path]
        if twins:
            return (
                f"case-only collision with tracked file {twins[0]!r}; such paths break on "
                "case-insensitive file systems: rename one"
            )
        if not resolved.is_file():
            return "file is tracked but missing from the work tree"
        return None
