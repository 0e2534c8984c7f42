"""The rollback use case: a gated revert pull request restoring the version promoted before.

The rollback is prepared with local git in this clone (nothing is fetched): the ledger of the
clone (main's history and the promotion records) says which merge promoted CHANGE_ID and what
was promoted before it (promotion_bot.core.rollback_plan decides, or refuses). In a temporary
work tree, on a detached commit of the base's tip, the merge is reverted (`git revert -m 1`, or the
squash commit), the merged change requests are kept (they are immutable), and a rollback change
request is added (`rollback_of`, versions swapped, the sha256 of the restored files). The commit
becomes the branch `rollback/CHANGE_ID`; then it is pushed and the pull request is opened
through the GitHub adapter, which finds an open one instead of opening a second.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promotion_bot.adapters import git
from promotion_bot.adapters.github_settings import GitHubSettings
from promotion_bot.adapters.working_tree import (
    ChangeRequestIndex,
    RepositoryPaths,
    change_id_order,
    change_request_files,
    repository_problems,
)
from promotion_bot.core.audit import AuditReport, change_type_paths
from promotion_bot.core.errors import ConfigError, GitError, InputError
from promotion_bot.core.formats.change_request_yaml import render_change_request
from promotion_bot.core.formats.documents import POLICY_PATH, load_change_request, load_policy
from promotion_bot.core.models import Artifact, ChangeRequest, Policy
from promotion_bot.core.rollback_outcome import RollbackOutcome
from promotion_bot.core.rollback_plan import (
    CHANGE_ID,
    Promotion,
    Refusal,
    RollbackPlan,
    commit_message,
    next_change_id,
    plan_rollback,
    pull_body,
    pull_title,
    restored_files,
    rollback_change_request,
)
from promotion_bot.flows.ledger_view import Ledger, load_ledger, run_audit


@dataclass(frozen=True)
class RollbackRequest:
    root: Path
    change_id: str
    to: str | None  # return to what this earlier promotion of the same target made current
    dry_run: bool  # prepare the branch only: no push, no GitHub
    no_push: bool  # create the branch only
    remote: str
    base: str | None  # None: <remote>/main, else main
    trusted_keys: Path | None
    github: GitHubSettings
    environ: Mapping[str, str]
    today: dt.date


def rollback(request: RollbackRequest) -> RollbackOutcome | Refusal:
    """Plan, prepare the branch, push it and open (or find) the pull request; or refuse."""
    change_id, to, remote = request.change_id, request.to, request.remote
    for name, value in (("CHANGE_ID", change_id), ("--to", to)):
        if value is not None and not CHANGE_ID.match(value):
            raise ConfigError(f"{name} {value!r}: write a change id such as CR-2026-0042")
    root = request.root
    base_ref = (git.unambiguous_name(root, request.base) if request.base
                else _default_base(root, remote))
    context = _read_context(root, base_ref, request.trusted_keys)
    decided = plan_rollback(
        change_id,
        context.promotions,
        to=to,
        base_name=_branch_name(base_ref, remote),
        known_elsewhere=context.known_elsewhere,
        ungoverned=context.ungoverned,
    )
    if isinstance(decided, Refusal):
        return decided
    plan = decided
    outcome = RollbackOutcome(
        plan, dry_run=request.dry_run, no_push=request.no_push, remote=remote
    )
    pull_base = _branch_name(base_ref, remote)
    opener = None
    if not (request.dry_run or request.no_push):
        from promotion_bot.adapters.github import PullOpener  # PyGithub only when going online

        opener = PullOpener(_github_client(request.github, request.environ))
        found = opener.find_open_pull(plan.branch, pull_base, plan.marker)
        if found is not None:
            outcome.pull, outcome.pull_action = found, "found"
            return outcome
    try:
        _prepare(root, context, plan, outcome, request)
    except _Refused as refused:
        return refused.refusal
    if opener is not None:
        _push(root, remote, plan.branch)
        outcome.pushed_to = remote
        outcome.pull = opener.open_pull(plan.branch, pull_base, outcome.title, outcome.body)
        outcome.pull_action = "opened"
    return outcome


class _Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


# --- reading the clone ------------------------------------------------------------------------


@dataclass
class _Context:
    root: Path
    prefix: str
    base_sha: str
    policy: Policy
    ledger: Ledger
    promotions: list[Promotion]
    known_elsewhere: set[str]
    ungoverned: set[str]
    used_ids: set[str]


def _default_base(root: Path, remote: str) -> str:
    found = git.default_branch(root, (f"{remote}/main", "main"))
    if found is None:
        raise ConfigError(
            f"--base not given and neither {remote}/main nor main exists; pass --base"
        )
    return found


def _branch_name(ref: str, remote: str) -> str:
    for prefix in ("refs/heads/", f"refs/remotes/{remote}/", f"{remote}/"):
        if ref.startswith(prefix):
            return ref.removeprefix(prefix)
    return ref


SHALLOW = (
    "this clone is shallow: the promotions before CHANGE_ID need the full history; run "
    "git fetch --unshallow --tags"
)


def _base_revision(root: Path, base_ref: str) -> tuple[str, str]:
    """(prefix, the base's commit), refusing a shallow clone: one `git rev-parse` when it can
    tell plainly, else one question at a time (for git's own refusal)."""
    facts = git.revision_facts(root, [base_ref])
    if facts is not None:
        if facts.shallow:
            raise ConfigError(SHALLOW)
        return facts.prefix, facts.commits[0]
    prefix = git.prefix_in_toplevel(root)
    if git.git_text(root, "rev-parse", "--is-shallow-repository") == "true":
        raise ConfigError(SHALLOW)
    return prefix, git.rev_parse(root, base_ref)


def _read_context(root: Path, base_ref: str, trusted_keys: Path | None) -> _Context:
    prefix, base_sha = _base_revision(root, base_ref)
    raw = git.read_blob(root, base_sha, f"{prefix}{POLICY_PATH}")
    if raw is None:
        raise ConfigError(f"no {POLICY_PATH} on {base_ref} ({base_sha[:12]}): not governed")
    loaded = load_policy(raw, f"{POLICY_PATH} (on {base_ref})")
    if loaded.value is None:
        raise ConfigError(f"the policy on {base_ref} cannot be used", loaded.problems)
    policy = loaded.value
    ledger = load_ledger(root, base_sha, trusted_keys, commit=base_sha)
    report = run_audit(ledger, reevaluate=False)
    promotions = _promotions(report, ledger)
    on_main = {p.change_id for p in promotions}
    cr_dir = policy.change_request_dir
    merged_files = git.tree_files(root, base_sha, [f"{prefix}{cr_dir}/"])
    merged = {Path(path).stem for path in merged_files if path.endswith((".yaml", ".yml"))}
    elsewhere = {tag.change_id for tag in ledger.tags}
    elsewhere |= {Path(p).stem for p in change_request_files(root, cr_dir)}
    return _Context(
        root=root,
        prefix=prefix,
        base_sha=base_sha,
        policy=policy,
        ledger=ledger,
        promotions=promotions,
        known_elsewhere=elsewhere - on_main - merged,
        ungoverned=merged - on_main,
        used_ids=on_main | elsewhere | merged,
    )


def _promotions(report: AuditReport, ledger: Ledger) -> list[Promotion]:
    by_commit: dict[str, list[str]] = {}
    for entry in report.entries:
        by_commit.setdefault(entry.commit, []).append(entry.change_id)
    promotions = []
    for entry in report.entries:
        commit = ledger.history.commit(entry.commit)
        promotions.append(
            Promotion(
                change_id=entry.change_id,
                target=entry.target,
                change_type=entry.change_type,
                from_version=entry.from_version,
                to_version=entry.to_version,
                rollback_of=entry.rollback_of,
                commit=entry.commit,
                parents=commit.parents if commit is not None else (),
                merged_at=entry.merged_at,
                state=entry.state,
                tag=entry.tag,
                pull_number=entry.pull_number,
                pull_url=entry.pull_url,
                artifacts=tuple(Artifact(path, sha) for path, sha in entry.artifacts),
                merged_with=tuple(c for c in by_commit[entry.commit] if c != entry.change_id),
            )
        )
    return promotions


# --- preparing the branch ---------------------------------------------------------------------


@contextlib.contextmanager
def _worktree(top: Path, sha: str) -> Iterator[Path]:
    """A detached work tree of `sha` in a temporary folder, removed afterwards."""
    temp = Path(tempfile.mkdtemp(prefix="promotion-bot-rollback-"))
    try:
        with git.detached_worktree(top, sha, temp / "tree") as tree:
            yield tree
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _prepare(
    root: Path,
    context: _Context,
    plan: RollbackPlan,
    outcome: RollbackOutcome,
    request: RollbackRequest,
) -> None:
    top = git.toplevel(root)
    prefix = context.prefix
    policy = context.policy
    cr_dir = policy.change_request_dir
    with _worktree(top, context.base_sha) as tree:
        governed = tree / prefix if prefix else tree
        quiet = ("-c", "core.hooksPath=/dev/null")
        for promotion in plan.undone:
            mainline = ("-m", "1") if promotion.is_merge else ()
            result = git.run_git(
                tree,
                *quiet,
                "revert",
                "--no-commit",
                *mainline,
                promotion.commit,
                ok_codes=(0, 1),
            )
            if result.returncode != 0:
                raise _Refused(_conflict(tree, prefix, plan, promotion, result.stderr))
        # merged change requests are immutable: the revert must not delete them
        git.run_git(
            tree, "checkout", context.base_sha, "--", f":(top){prefix}{cr_dir}", ok_codes=(0, 1)
        )
        changed = _staged_changes(tree, prefix, context.base_sha)
        patterns = change_type_paths(policy)
        restored_cr = _restored_change_request(governed, cr_dir, plan)
        restored = [a.path for a in restored_cr.artifacts] if restored_cr else []
        files = restored_files(changed, patterns, restored, _sha256_of(governed, restored))
        outcome.files = files
        outcome.other_files = sorted(
            p
            for p in changed
            if p not in {f.path for f in files} and not p.startswith(f"{cr_dir}/")
        )
        new_id = next_change_id(context.used_ids, request.today.year)
        built = rollback_change_request(plan, new_id, cr_dir, files, restored_cr)
        if isinstance(built, Refusal):
            raise _Refused(built)
        cr = built
        text = render_change_request(cr)
        destination = governed / cr.source_path
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
        git.run_git(tree, "add", "--", f"{prefix}{cr.source_path}")
        _validate(governed, cr_dir, cr.source_path, text, policy)
        git.run_git(
            tree,
            *quiet,
            "commit",
            "--quiet",
            "--no-verify",
            "--file=-",
            input_bytes=commit_message(plan, cr).encode("utf-8"),
        )
        commit = git.rev_parse(tree, "HEAD")
    outcome.change_request = cr
    outcome.title = pull_title(plan, cr)
    repository_url = _repository_url(plan, request.github.repository, request.environ)
    outcome.body = pull_body(plan, cr, files, repository_url=repository_url)
    if outcome.other_files:
        outcome.body += (
            "\nThe revert also changes: "
            + ", ".join(f"`{path}`" for path in outcome.other_files)
            + "\n"
        )
    outcome.branch_sha, outcome.branch_action = _branch(root, plan, commit, context.base_sha)


def _conflict(
    tree: Path, prefix: str, plan: RollbackPlan, promotion: Promotion, stderr: bytes
) -> Refusal:
    listed = git.run_git(tree, "diff", "--name-only", "-z", "--diff-filter=U").stdout
    files = [
        name.decode("utf-8", "surrogateescape").removeprefix(prefix)
        for name in listed.split(b"\0")
        if name
    ]
    if not files:  # not a conflict: git's own words
        message = stderr.decode("utf-8", "replace").strip() or "git revert failed"
        raise GitError(f"`git revert {promotion.commit[:12]}` failed: {message}")
    return Refusal(
        "CONFLICT",
        f"refused: reverting {promotion.change_id} (commit {promotion.commit[:12]}) conflicts "
        f"with what {plan.target}'s base has merged since, in: {', '.join(files)}; nothing was "
        "committed, pushed or opened",
        f"revert it by hand: git switch -c {plan.branch} && git revert "
        f"{'-m 1 ' if promotion.is_merge else ''}{promotion.commit[:12]}, resolve the "
        f"conflicts, keep the merged change requests, and add a change request with "
        f"rollback_of: {plan.rollback_of}",
    )


def _staged_changes(
    tree: Path, prefix: str, base_sha: str
) -> dict[str, tuple[str | None, str | None]]:
    """path -> (sha256 at base, sha256 staged) for every path the revert changed."""
    output = git.run_git(
        tree,
        "diff",
        "--cached",
        "--raw",
        "-z",
        "--no-renames",
        "--no-abbrev",
        base_sha,
        "--",
        f":(top){prefix}" if prefix else ".",
    ).stdout
    fields = output.split(b"\0")
    entries: list[tuple[str, str | None, str | None]] = []
    for index in range(0, len(fields) - 1, 2):
        meta = fields[index].decode("ascii").lstrip(":").split(" ")
        if len(meta) < 5:
            continue
        path = fields[index + 1].decode("utf-8", "surrogateescape")
        old, new = (None if set(blob) == {"0"} else blob for blob in meta[2:4])
        entries.append((path.removeprefix(prefix), old, new))
    blobs = git.read_blobs(tree, sorted({b for _, o, n in entries for b in (o, n) if b}))
    digest = {
        blob: hashlib.sha256(content).hexdigest()
        for blob, content in blobs.items()
        if content is not None
    }
    return {
        path: (digest.get(old) if old else None, digest.get(new) if new else None)
        for path, old, new in entries
    }


def _sha256_of(governed: Path, paths: Sequence[str]) -> dict[str, str]:
    found = {}
    for path in paths:
        target = governed / path
        if target.is_file() and not target.is_symlink():
            found[path] = hashlib.sha256(target.read_bytes()).hexdigest()
    return found


def _restored_change_request(
    governed: Path, cr_dir: str, plan: RollbackPlan
) -> ChangeRequest | None:
    """The change request that promoted the restored version (kept in the tree: merged change
    requests are immutable): the plan's, else the newest of the target with that version
    (a promotion from before the policy)."""
    if plan.restored_from is not None:
        path = f"{cr_dir}/{plan.restored_from.change_id}.yaml"
        target = governed / path
        return load_change_request(target.read_bytes(), path).value if target.is_file() else None
    found = [
        cr
        for cr in (
            load_change_request((governed / p).read_bytes(), p).value
            for p in change_request_files(governed, cr_dir)
        )
        if cr is not None
        and cr.target == plan.target
        and cr.proposed_version == plan.restore_version
    ]
    return max(found, key=lambda cr: change_id_order(cr.change_id), default=None)


def _validate(governed: Path, cr_dir: str, path: str, text: str, policy: Policy) -> None:
    """The rollback change request must pass `validate` (a failure here is a bug)."""
    loaded = load_change_request(text.encode("utf-8"), path)
    problems = list(loaded.problems)
    if loaded.value is not None:
        others = [
            c
            for c in (
                load_change_request((governed / p).read_bytes(), p).value
                for p in change_request_files(governed, cr_dir)
                if p != path
            )
            if c is not None
        ]
        index = ChangeRequestIndex.build([*others, loaded.value])
        problems += repository_problems(
            loaded, index, policy, RepositoryPaths.scan(governed), governed
        )
    if problems:
        raise InputError(
            "the rollback change request would not be valid (nothing was committed or pushed)",
            problems,
        )


def _branch(root: Path, plan: RollbackPlan, commit: str, base_sha: str) -> tuple[str, str]:
    """Create the branch, or keep an existing one with the same content on the same base
    (a dry run before, or a run whose push or pull request failed)."""
    name = plan.branch
    probe = git.run_git(
        root, "rev-parse", "--verify", "--quiet", f"refs/heads/{name}", ok_codes=(0, 1)
    )
    existing = probe.stdout.decode().strip()
    if not existing:
        git.run_git(root, "branch", name, commit)
        return commit, "created"
    same_tree = git.git_text(root, "rev-parse", f"{existing}^{{tree}}") == git.git_text(
        root, "rev-parse", f"{commit}^{{tree}}"
    )
    parents = git.git_text(root, "rev-list", "--parents", "-n", "1", existing).split()[1:]
    if same_tree and parents == [base_sha]:
        return existing, "kept: same content"
    raise _Refused(
        Refusal(
            "BRANCH_EXISTS",
            f"refused: the branch {name} exists already (at {existing[:12]}) with other content "
            "than this rollback; nothing was pushed",
            f"inspect it (git log {name}); delete it if it is stale (git branch -D {name}) and "
            "run again",
        )
    )


def _repository_url(
    plan: RollbackPlan, repository: str | None, environ: Mapping[str, str]
) -> str | None:
    for promotion in plan.undone:
        if promotion.pull_url:
            found = re.match(r"^(https?://.+)/pull/[0-9]+$", promotion.pull_url)
            if found:
                return found.group(1)
    name = repository or environ.get("GITHUB_REPOSITORY")
    server = environ.get("GITHUB_SERVER_URL", "https://github.com")
    return f"{server}/{name}" if name else None


# --- GitHub -----------------------------------------------------------------------------------


def _github_client(settings: GitHubSettings, environ: Mapping[str, str]) -> Any:
    from promotion_bot.adapters.github import client_for

    name = settings.repository or environ.get("GITHUB_REPOSITORY")
    if not name:
        raise ConfigError(
            "--repository OWNER/NAME (or GITHUB_REPOSITORY) is needed to open the pull request; "
            "or prepare the branch only: --no-push"
        )
    return client_for(name, settings, environ)


def _push(root: Path, remote: str, branch: str) -> None:
    ref = f"refs/heads/{branch}"
    try:
        git.run_git(root, "push", "--porcelain", remote, f"{ref}:{ref}")
    except GitError as error:
        raise ConfigError(
            f"could not push {branch} to {remote}; no pull request was opened. If {remote} has "
            f"a {branch} from an earlier attempt, open its pull request or delete it (git push "
            f"{remote} --delete {branch}) and run again. git said: {error.message}"
        ) from None
