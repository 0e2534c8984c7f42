"""The git adapter: every git subprocess goes through `run_git`.

Batch modes (`cat-file --batch`, `-z` listings) keep the number of processes small on long
histories. Failures become `GitError` with the command and git's own words.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from promotion_bot.core.errors import GitError
from promotion_bot.core.git_facts import Change, TrackedFile


def git_environment() -> dict[str, str]:
    """The caller's environment without GIT_* overrides that would point git elsewhere."""
    keep = {
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_DATE",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_CONFIG_COUNT",
    }
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("GIT_") or key in keep or key.startswith("GIT_CONFIG_")
    }
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"
    return env


def run_git(
    repo: Path, *args: str, input_bytes: bytes | None = None, ok_codes: Sequence[int] = (0,)
) -> subprocess.CompletedProcess[bytes]:
    command = ["git", "-C", str(repo), *args]
    try:
        result = subprocess.run(
            command, input=input_bytes, capture_output=True, env=git_environment(), check=False
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH; install git and retry") from None
    if result.returncode not in ok_codes:
        stderr = result.stderr.decode("utf-8", "replace").strip()
        raise GitError(
            f"`git {' '.join(args)}` failed in {repo} (exit {result.returncode}): "
            f"{stderr or 'no message'}"
        )
    return result


def git_text(repo: Path, *args: str) -> str:
    return run_git(repo, *args).stdout.decode("utf-8", "surrogateescape").strip()


# a directory's work tree and its place in it, for the life of the process: a command asks for
# them several times (the governed root, the ledger, the branch it checks) and neither moves
# while it runs. Only answers are kept, never a refusal.
_PLACES: dict[str, tuple[Path, str]] = {}


def _place(directory: Path) -> tuple[Path, str] | None:
    """(top level, prefix) of the work tree containing `directory`, with one `rev-parse`."""
    key = os.path.realpath(directory)
    if key not in _PLACES:
        result = run_git(directory, "rev-parse", "--show-toplevel", "--show-prefix",
                         ok_codes=(0, 128))
        lines = result.stdout.decode("utf-8", "surrogateescape").split("\n")
        if result.returncode != 0 or len(lines) != 3 or not lines[0] or lines[2]:
            return None
        top = Path(lines[0])
        _PLACES[key] = (top, lines[1])
        _PLACES.setdefault(os.path.realpath(top), (top, ""))
    return _PLACES[key]


def toplevel(path: Path) -> Path:
    """The root of the git work tree that contains `path`."""
    start = path if path.is_dir() else path.parent
    place = _place(start) if start.is_dir() else None
    if place is None:
        raise GitError(
            f"{path} is not inside a git repository; run from the governed "
            "repository or pass --repo"
        )
    return place[0]


def prefix_in_toplevel(repo: Path) -> str:
    """`repo` relative to its git top level ('' at the top, 'examples/x/' below it)."""
    place = _place(repo) if repo.is_dir() else None
    if place is None:  # not a work tree (a bare repository, a missing folder): git's own answer
        return git_text(repo, "rev-parse", "--show-prefix")
    return place[1]


def rev_parse(repo: Path, rev: str) -> str:
    try:
        return git_text(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except GitError:
        raise GitError(f"{rev!r} is not a commit in {repo}; fetch it or check the name") from None


_HEX = frozenset("0123456789abcdef")
# where a short branch name may live; a tag is never taken for a branch
_BRANCH_NAMESPACES = ("refs/heads/", "refs/remotes/")


def default_branch(repo: Path, candidates: Sequence[str]) -> str | None:
    """The first of `candidates` (e.g. origin/main, main) that is a branch here, checked
    through full ref names like `resolve_branch` (a tag imitating it is refused), or None.
    One `for-each-ref` lists every name the candidates answer to. The name is what git
    resolves later, so refs/<name>, which git takes before the tag and the branch, imitates it
    too."""
    found = _refs_named(repo, [ref for name in candidates for ref in _names_git_may_take(name)])
    for name in candidates:
        mine = [ref for ref in found if ref.name in _names_git_may_take(name)]
        if any(ref.name.startswith(_BRANCH_NAMESPACES) for ref in mine):
            _branch_of(repo, name, mine)  # raises when a tag or a second branch imitates it
            return name
    return None


def _names_git_may_take(name: str) -> list[str]:
    """The full ref names git may resolve the short name `name` to (refs/<name> first)."""
    return [f"refs/{name}", *_short_name_refs(name)]


def first_ref(repo: Path, names: Sequence[str]) -> tuple[str, str] | None:
    """(full name, commit) of the first of the full ref names `names` that exists, with one
    `for-each-ref` (what is not a commit is peeled or refused by git, as `rev_parse` does)."""
    found = {ref.name: ref for ref in _refs_named(repo, list(names))}
    for name in names:
        if name in found:
            return name, _commit_of(repo, found[name])
    return None


def _short_name_refs(name: str) -> list[str]:
    """The full names a short branch name answers to: the branch namespaces, and the tag git
    would take first."""
    return [f"{space}{name}" for space in _BRANCH_NAMESPACES] + [f"refs/tags/{name}"]


def branch_ref_names(name: str) -> list[str]:
    """The full ref names `resolve_branch` looks `name` up under (none for HEAD), for a caller
    that lists them with other refs in one `list_refs`."""
    if name == "HEAD":
        return []
    if name.startswith("refs/"):
        return [name]
    return _short_name_refs(name)


def resolve_branch(repo: Path, name: str, listed: Sequence[Ref] | None = None) -> tuple[str, str]:
    """(full ref name, commit) of the trusted branch `name`, resolved through full ref names.

    git resolves a short name to refs/tags/<name> before refs/heads and refs/remotes, so a tag
    named `origin/main` (anyone who can push a tag can make one) would replace the branch.
    Accepted: HEAD, a full name (refs/...), a commit id, or a name that is exactly one of
    refs/heads/<name> and refs/remotes/<name>; a name that is also a tag, or both a local
    and a remote-tracking branch, is ambiguous and refused. A full commit id is the commit,
    never a branch named like it (a mirror clone has a ref for every branch anyone pushed);
    an abbreviated one that a ref answers to is refused. `listed`: what a `list_refs` that
    asked for `branch_ref_names(name)` (among others) found, so that nothing is listed twice."""
    if name == "HEAD":
        return name, rev_parse(repo, name)
    wanted = branch_ref_names(name)
    found = (_refs_named(repo, wanted) if listed is None
             else [ref for ref in listed if ref.name in wanted])
    if name.startswith("refs/"):
        if not found:
            raise GitError(f"no ref {name!r} in {repo}; fetch it or check the name")
        return name, _commit_of(repo, found[0])
    return _branch_of(repo, name, found)


def _branch_of(repo: Path, name: str, found: list[Ref]) -> tuple[str, str]:
    """(full ref name, commit) of the short name `name`, judged by the refs it answers to. A
    full commit id is the commit, as git reads it, whatever ref is named like it; an
    abbreviated one that a ref answers to is refused."""
    if _is_object_id(name):
        return name, rev_parse(repo, name)
    if found and _abbreviated_id(name):
        raise _named_like_an_id(name, found)
    branches = [ref for ref in found if not ref.name.startswith("refs/tags/")]
    if len(found) > 1:
        raise GitError(
            f"{name!r} is ambiguous here: it names {', '.join(ref.name for ref in found)}; pass "
            "the full name of the branch (e.g. refs/remotes/origin/main), and delete a tag that "
            "imitates it"
        )
    if branches:
        return branches[0].name, _commit_of(repo, branches[0])
    if found:
        raise GitError(
            f"{name!r} is a tag ({found[0].name}), not a branch: main is a branch; pass its full "
            "name (refs/heads/... or refs/remotes/...)"
        )
    if 7 <= len(name) <= 40 and set(name) <= _HEX:
        return name, rev_parse(repo, name)
    raise GitError(
        f"no branch {name!r} in {repo} (neither refs/heads/{name} nor refs/remotes/{name}); "
        "fetch it or pass its full ref name"
    )


def unambiguous_name(repo: Path, name: str) -> str:
    """`name` as given, once it is sure to name at most one ref; an explicit --base goes
    through this before git resolves it.

    git takes refs/tags/<name> before refs/heads/<name> and refs/remotes/<name>, so a tag named
    like the base branch (`origin/main`: anyone who can push a tag can make one) would replace
    it, and a check comparing the head with "the base" would compare the head with itself. A
    name that several refs answer to is refused, and so is an abbreviated commit id that a ref
    answers to (git takes the ref before the commit: a tag pushed under the id would be what is
    judged); a full commit id (always the object), HEAD~1, a full ref name or a name only one
    ref has passes unchanged."""
    if name == "HEAD" or name.startswith(("refs/", "-")) or _is_object_id(name):
        return name
    found = _refs_named(repo, _names_git_may_take(name))
    if len(found) > 1:
        raise GitError(
            f"{name!r} is ambiguous here: it names {', '.join(ref.name for ref in found)}; pass "
            "the full name of the one you mean (e.g. refs/remotes/origin/main), and delete a tag "
            "that imitates a branch"
        )
    if found and _abbreviated_id(name):
        raise _named_like_an_id(name, found)
    return name


def _abbreviated_id(name: str) -> bool:
    """Whether git could read `name` as an abbreviated commit id."""
    return 7 <= len(name) < 64 and set(name) <= _HEX and not _is_object_id(name)


def _named_like_an_id(name: str, found: Sequence[Ref]) -> GitError:
    return GitError(
        f"{name!r} is ambiguous here: it names {', '.join(ref.name for ref in found)} and may "
        "also be an abbreviated commit id; pass the full commit id, or the full ref name"
    )


@dataclass(frozen=True)
class Ref:
    name: str
    kind: str  # the type of the object it names: commit, or tag for an annotated tag
    object_id: str
    size: int  # of that object


def list_refs(repo: Path, patterns: Sequence[str]) -> list[Ref]:
    """The refs one `for-each-ref` lists for `patterns` (a pattern also matches what lies
    below it: refs/heads/main lists refs/heads/main/x), with the type and size of what each
    names."""
    listing = git_text(
        repo, "for-each-ref", "--format=%(objectname) %(objecttype) %(objectsize) %(refname)",
        *patterns,
    )
    found = []
    for line in listing.splitlines():
        object_id, kind, size, name = line.split(" ", 3)
        found.append(Ref(name, kind, object_id, int(size)))
    return found


def _refs_named(repo: Path, candidates: list[str]) -> list[Ref]:
    """Which of the full ref names `candidates` exist, with what they name (only exact names
    count)."""
    return [ref for ref in list_refs(repo, candidates) if ref.name in candidates]


def _commit_of(repo: Path, ref: Ref) -> str:
    """The commit a ref names: its own object when that is a commit, else git peels it (an
    annotated tag) or refuses (a tree, a blob)."""
    if ref.kind == "commit" and _is_object_id(ref.object_id):
        return ref.object_id
    return rev_parse(repo, ref.name)


@dataclass(frozen=True)
class RevisionFacts:
    prefix: str  # as prefix_in_toplevel
    shallow: bool
    commits: tuple[str, ...]  # the commit of each rev asked for, in order
    # the merge base of the first two commits, when asked for and git finds exactly one
    merge_base: str | None = None


def revision_facts(
    repo: Path, revs: Sequence[str], *, merge_base: bool = False
) -> RevisionFacts | None:
    """The prefix, whether the clone is shallow, and the commit of each of `revs`, with one
    `git rev-parse`; None when that one call cannot tell plainly (a rev that is not exactly one
    commit, or looks like an option or a range): then ask `prefix_in_toplevel` and
    `rev_parse`, whose refusals say what is wrong.

    With `merge_base`, the same process gives the merge base of the first two revs: rev-parse
    prints `A...B` as B, A and each merge base negated. Exactly one is the answer `git
    merge-base` gives; none (no common history) or several (criss-cross merges) leave
    `merge_base` None, for the caller to ask `merge_base`, which refuses or picks as before."""
    if any(not rev or rev.startswith("-") or ".." in rev for rev in revs):
        return None
    asked = [f"{rev}^{{commit}}" for rev in revs]
    if merge_base:
        asked.append(f"{asked[0]}...{asked[1]}")
    result = run_git(
        repo, "rev-parse", "--show-prefix", "--is-shallow-repository", *asked, "--",
        ok_codes=(0, 128),
    )
    lines = result.stdout.decode("utf-8", "surrogateescape").split("\n")
    if result.returncode != 0 or len(lines) < len(revs) + 4 or lines[-2:] != ["--", ""]:
        return None
    prefix, shallow, *answers = lines[:-2]
    commits, rest = answers[: len(revs)], answers[len(revs) :]
    if shallow not in ("true", "false") or not all(_is_object_id(c) for c in commits):
        return None
    if not merge_base:
        return None if rest else RevisionFacts(prefix, shallow == "true", tuple(commits))
    if rest[:2] != [commits[1], commits[0]]:
        return None
    bases = [line.removeprefix("^") for line in rest[2:]]
    if not all(line.startswith("^") for line in rest[2:]) or not all(map(_is_object_id, bases)):
        return None
    return RevisionFacts(prefix, shallow == "true", tuple(commits),
                         bases[0] if len(bases) == 1 else None)


def _is_object_id(text: str) -> bool:
    return len(text) in (40, 64) and set(text) <= _HEX


def merge_base(repo: Path, first: str, second: str) -> str:
    return git_text(repo, "merge-base", first, second)


def tracked_files(repo: Path, paths: Iterable[str] = ()) -> dict[str, TrackedFile]:
    """Files git tracks in the index below `repo`, relative to `repo`, with their modes."""
    output = run_git(repo, "ls-files", "-s", "-z", "--", *paths).stdout
    files: dict[str, TrackedFile] = {}
    for entry in output.split(b"\0"):
        if not entry:
            continue
        meta, name = entry.split(b"\t", 1)
        mode, blob, _stage = meta.decode().split(" ")
        path = name.decode("utf-8", "surrogateescape")
        files[path] = TrackedFile(path, mode, blob)
    return files


def stage(repo: Path, paths: Sequence[str]) -> None:
    """`git add` these paths (relative to `repo`); a path git ignores is an error."""
    result = run_git(repo, "add", "--", *paths, ok_codes=(0, 1))
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(
            f"cannot add {', '.join(paths)} to git: {message[0] if message else 'git add failed'}"
            " (is it in .gitignore?)"
        )


def files_added_on_any_ref(repo: Path, directory: str) -> set[str]:
    """The names of the files ever added under `directory` (relative to `repo`) on any branch
    or remote-tracking branch git knows, in one `git log --all`."""
    output = run_git(
        repo, "log", "--all", "--format=", "--name-only", "--diff-filter=A", "--", directory
    ).stdout.decode("utf-8", "surrogateescape")
    return {line.rsplit("/", 1)[-1] for line in output.splitlines() if line.strip()}


def uncommitted_paths(repo: Path) -> list[str]:
    """Files below `repo` that differ from HEAD: staged, modified, or untracked (not ignored);
    relative to the git top level."""
    output = run_git(
        repo, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", "."
    ).stdout
    paths: list[str] = []
    entries = output.split(b"\0")
    index = 0
    while index < len(entries):
        entry = entries[index].decode("utf-8", "surrogateescape")
        index += 1
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":  # a rename or copy is followed by its source path
            index += 1
    return paths


def tree_files(repo: Path, rev: str, paths: Iterable[str] = ()) -> dict[str, TrackedFile]:
    """Files in the tree of commit `rev` (recursive), relative to the repository root."""
    output = run_git(repo, "ls-tree", "-r", "-z", "--full-tree", rev, "--", *paths).stdout
    files: dict[str, TrackedFile] = {}
    for entry in output.split(b"\0"):
        if not entry:
            continue
        meta, name = entry.split(b"\t", 1)
        mode, _kind, blob = meta.decode().split(" ")
        path = name.decode("utf-8", "surrogateescape")
        files[path] = TrackedFile(path, mode, blob)
    return files


def read_blobs(repo: Path, specs: Sequence[str]) -> dict[str, bytes | None]:
    """Contents of many `rev:path` (or blob ids) with one `git cat-file --batch` process."""
    if not specs:
        return {}
    request = b"".join(spec.encode("utf-8", "surrogateescape") + b"\n" for spec in specs)
    output = run_git(repo, "cat-file", "--batch", input_bytes=request).stdout
    result: dict[str, bytes | None] = {}
    offset = 0
    for spec in specs:
        end = output.index(b"\n", offset)
        header = output[offset:end].decode("utf-8", "surrogateescape")
        offset = end + 1
        if header.endswith(" missing") or header.endswith(" ambiguous"):
            result[spec] = None
            continue
        size = int(header.rsplit(" ", 1)[1])
        kind = header.split(" ")[1]
        content = output[offset : offset + size]
        offset += size + 1
        result[spec] = content if kind == "blob" else None
    return result


def read_blob(repo: Path, rev: str, path: str) -> bytes | None:
    return read_blobs(repo, [f"{rev}:{path}"])[f"{rev}:{path}"]


def diff_changes(repo: Path, base: str, head: str, paths: Iterable[str] = ()) -> list[Change]:
    """Files that differ between `base` and `head` (renames detected)."""
    output = run_git(
        repo, "diff", "--name-status", "-z", "-M", "--no-ext-diff", base, head, "--", *paths
    ).stdout
    fields = [f.decode("utf-8", "surrogateescape") for f in output.split(b"\0") if f]
    changes: list[Change] = []
    index = 0
    while index < len(fields):
        status = fields[index]
        kind = status[0]
        if kind in ("R", "C"):
            changes.append(Change(kind, fields[index + 2], fields[index + 1]))
            index += 3
        else:
            changes.append(Change(kind, fields[index + 1]))
            index += 2
    return changes


def diff_with_head_files(
    repo: Path, base: str, head: str, paths: Iterable[str] = ()
) -> list[tuple[Change, TrackedFile | None]]:
    """`diff_changes`, each change with the file as it is at `head` (mode and blob id; None
    when deleted), from one `git diff --raw`: what the head adds is readable by blob id,
    without listing the head's whole tree."""
    output = run_git(
        repo, "diff", "--raw", "--no-abbrev", "-z", "-M", "--no-ext-diff", base, head, "--",
        *paths,
    ).stdout
    fields = [f.decode("utf-8", "surrogateescape") for f in output.split(b"\0") if f]
    found: list[tuple[Change, TrackedFile | None]] = []
    index = 0
    while index < len(fields):
        _old_mode, new_mode, _old_blob, new_blob, status = fields[index].lstrip(":").split(" ")
        kind = status[0]
        if kind in ("R", "C"):
            change = Change(kind, fields[index + 2], fields[index + 1])
            index += 3
        else:
            change = Change(kind, fields[index + 1])
            index += 2
        deleted = kind == "D" or set(new_blob) == {"0"}
        found.append((change, None if deleted else TrackedFile(change.path, new_mode, new_blob)))
    return found


def added_in_order(repo: Path, rev: str, directory: str) -> list[tuple[str, str]]:
    """(commit, path) for each file added below `directory`, oldest first, on `rev`'s
    first-parent history; one `git log` for the whole history."""
    output = run_git(
        repo,
        "log",
        "--first-parent",
        "--reverse",
        "-m",
        "--diff-filter=A",
        "--name-only",
        "-z",
        "--format=%x01%H",
        rev,
        "--",
        directory,
    ).stdout
    result: list[tuple[str, str]] = []
    for block in output.split(b"\x01"):
        if not block.strip(b"\0\n"):
            continue
        sha, _, names = block.partition(b"\n")
        for name in names.split(b"\0"):
            name = name.strip(b"\n")
            if name:
                commit = sha.strip(b"\0\n").decode()
                result.append((commit, name.decode("utf-8", "surrogateescape")))
    return result


@contextlib.contextmanager
def detached_worktree(repo: Path, sha: str, destination: Path) -> Iterator[Path]:
    """A detached work tree of `sha` at `destination` (hooks off), removed afterwards."""
    with detached_worktree_started(repo, sha, destination) as ready:
        yield ready()


@contextlib.contextmanager
def detached_worktree_started(
    repo: Path, sha: str, destination: Path
) -> Iterator[Callable[[], Path]]:
    """`detached_worktree`, made in the background: the call it gives waits until the work
    tree is there (GitError when git could not make it). Leaving removes it."""
    args = ("-c", "core.hooksPath=/dev/null", "worktree", "add", "--detach", "--force",
            str(destination), sha)
    try:
        process = subprocess.Popen(
            ["git", "-C", str(repo), *args], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=git_environment(),
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH; install git and retry") from None
    errors: list[bytes] = []

    def finished() -> int:
        if not errors:
            errors.append(process.communicate()[1] or b"")
        return process.returncode

    def ready() -> Path:
        if finished() != 0:
            stderr = errors[0].decode("utf-8", "replace").strip()
            raise GitError(
                f"`git {' '.join(args)}` failed in {repo} (exit {process.returncode}): "
                f"{stderr or 'no message'}"
            )
        return destination

    try:
        yield ready
    finally:
        finished()
        removed = run_git(repo, "worktree", "remove", "--force", str(destination),
                          ok_codes=(0, 128))
        if removed.returncode != 0:  # e.g. a check left a file git cannot delete
            shutil.rmtree(destination, ignore_errors=True)
            run_git(repo, "worktree", "prune", ok_codes=(0, 128))


class GitRevisionReader:
    """RevisionReader over a local git repository (one process per read, few reads).
    `merge_bases`: (base, head) -> merge base, as the caller already knows them."""

    def __init__(self, repo: Path, merge_bases: Mapping[tuple[str, str], str] | None = None
                 ) -> None:
        self.repo = repo
        self.prefix = prefix_in_toplevel(repo)  # '' unless repo is a subfolder
        self.merge_bases = dict(merge_bases or {})

    def read(self, rev: str, path: str) -> bytes | None:
        return read_blob(self.repo, rev, self.prefix + path)

    def changes(self, base: str, head: str) -> list[Change]:
        start = self.merge_bases.get((base, head)) or merge_base(self.repo, base, head)
        # "." limits the diff to the governed repository when it is a subfolder (git -C
        # resolves pathspecs from there); git still prints paths from the top level
        found = diff_changes(self.repo, start, head, ["."] if self.prefix else [])
        if not self.prefix:
            return found
        return [
            Change(
                change.status,
                change.path.removeprefix(self.prefix),
                change.old_path.removeprefix(self.prefix) if change.old_path else None,
            )
            for change in found
        ]


def remote_url(repo: Path, name: str = "origin") -> str | None:
    """The fetch URL of remote `name`, None when there is no such remote."""
    result = run_git(repo, "remote", "get-url", name, ok_codes=(0, 2, 128))
    if result.returncode != 0:
        return None
    return result.stdout.decode("utf-8", "replace").strip() or None


# who writes the record tags when git knows nobody: promotion-bot itself (a reserved domain, so
# the address can never belong to a person)
BOT_IDENTITY = ("promotion-bot", "promotion-bot@noreply.invalid")


def identity_args(repo: Path) -> tuple[str, ...]:
    """`-c user.name=... -c user.email=...` with promotion-bot's own identity when git has no
    committer identity here (no user.name/user.email, no GIT_COMMITTER_*; a fresh runner or
    container), where `git tag` would stop with "Committer identity unknown". An identity git
    has is never replaced."""
    probe = run_git(repo, "var", "GIT_COMMITTER_IDENT", ok_codes=(0, 128))
    if probe.returncode == 0:
        return ()
    name, email = BOT_IDENTITY
    return ("-c", f"user.name={name}", "-c", f"user.email={email}")
