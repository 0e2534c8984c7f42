"""A loopback GitHub for the test suite: a small, stateful REST server on 127.0.0.1.

The real PyGithub client talks to it over real HTTP::

    with FakeGitHub() as fake:
        repo = fake.add_repo("acme/rules", git_dir=origin)        # or no git_dir: in-memory
        fake.add_team("acme", "approvers", {"bob": "active"})
        fake.add_pull("acme/rules", 7, user="alice", base_ref="main", base_sha=base,
                      head_ref="cr-42", head_sha=head)
        fake.add_review("acme/rules", 7, user="bob", state="APPROVED", commit_id=head)
        fake.inject("GET", r"/repos/acme/rules/pulls/7/files", status=502)   # then success
        gh = fake.client()   # github.Github(base_url=fake.base_url, ..., no throttling)
        ...
        assert fake.statuses[-1]["state"] == "failure"

Responses use GitHub's shapes; tests/test_github_server.py validates every route against GitHub's
published OpenAPI description (tests/openapi_shapes.py), so the fake cannot drift from GitHub.

Repositories added with ``git_dir`` serve contents, refs, commits and compare from that real git
repository (bare or not) through the ``git`` CLI, and ref writes update it. Answers about full
commit ids (a commit, a diff, a log, a file at a commit) are kept for the process once the
repository is known to hold the commit; branch and tag names are read again on every request
(loose ref files in git's order, else ``git rev-parse``). Without ``git_dir`` a repository keeps
refs, commits and file contents in plain dicts the test fills.

Repository settings (what ``promotion-bot doctor`` reads) are plain state the test sets:
``repo.rulesets`` (:meth:`FakeGitHub.add_ruleset`), ``repo.environments``
(:meth:`FakeGitHub.add_environment`), ``repo.secrets``, ``repo.workflow_permissions``,
``repo.team_permissions`` (which teams may be code owners), ``fake.org_owners`` (who may read an
organisation's installations) and ``fake.installation_permissions``. Bypass actors are shown only
to a repository administrator, as GitHub does; CODEOWNERS errors are computed from the file.

Faults: :meth:`FakeGitHub.inject` makes the next matching request(s) fail (status, body, headers,
delay), optionally after performing the write (``then_process=True``), so tests can prove the bot
fails closed and never writes twice.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import fnmatch
import functools
import gzip
import hashlib
import io
import itertools
import json
import re
import socket
import subprocess
import threading
import traceback
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import graphql

from tests.github_fixtures import GITHUB_FIXTURES

__all__ = [
    "SECONDARY_RATE_LIMIT_MESSAGE",
    "ApiError",
    "CommitInfo",
    "FakeGitHub",
    "Fault",
    "FileChange",
    "GitError",
    "RecordedRequest",
    "Repo",
    "Route",
]

WEB_URL = "https://github.com"
DOCS_URL = "https://docs.github.com/rest"
MAX_PR_FILES = 3000  # GitHub lists at most 3000 files of a pull request
MAX_PR_COMMITS = 250  # ... and at most 250 commits
MAX_COMPARE_FILES = 300
MAX_CONTENT_BYTES = 1024 * 1024  # larger files come back with encoding "none" and empty content
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
REVIEW_STATES = frozenset({"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"})
STATUS_STATES = frozenset({"error", "failure", "pending", "success"})
CHECK_STATUSES = frozenset({"queued", "in_progress", "completed"})
CHECK_CONCLUSIONS = frozenset(
    {"action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out"}
)
SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID "
    "ABCD:1234:5678:9ABC:DEF0."
)
SECONDARY_RATE_LIMIT_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/"
    "rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
ZERO_SHA = "0" * 40
_HEX40 = re.compile(r"[0-9a-f]{40}")
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# small helpers


def iso(moment: datetime) -> str:
    """GitHub's timestamp format: UTC, seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def fake_sha(*parts: object) -> str:
    """A stable 40-hex id for in-memory objects."""
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()


class ApiError(Exception):
    """Raised by handlers; becomes a GitHub-shaped JSON error response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        docs: str = DOCS_URL,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.docs = docs
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "documentation_url": self.docs}
        if self.errors is not None:
            out["errors"] = self.errors
        out["status"] = str(self.status)
        return out


def not_found(docs: str = DOCS_URL) -> ApiError:
    return ApiError(404, "Not Found", docs=docs)


def validation_failed(resource: str, field_name: str | None, code: str, message: str) -> ApiError:
    error: dict[str, Any] = {"resource": resource, "code": code}
    if field_name is not None:
        error["field"] = field_name
    if message:
        error["message"] = message
    return ApiError(422, "Validation Failed", errors=[error])


# --------------------------------------------------------------------------------------------
# git: every subprocess goes through run_git


class GitError(RuntimeError):
    pass


def run_git(git_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(
        ["git", "-C", str(git_dir), *args], capture_output=True, check=False, timeout=30
    )
    if check and proc.returncode != 0:
        raise GitError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace').strip()}")
    return proc


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    message: str
    author_name: str = "Test Author"
    author_email: str = "author@example.com"
    author_date: str = iso(_EPOCH)
    committer_name: str = "Test Committer"
    committer_email: str = "committer@example.com"
    committer_date: str = iso(_EPOCH)


@dataclass(frozen=True)
class FileChange:
    """One entry of a diff, in GitHub's vocabulary (``status``: added, removed, modified, ...)."""

    filename: str
    status: str = "modified"
    additions: int = 0
    deletions: int = 0
    sha: str | None = None
    previous_filename: str | None = None
    patch: str | None = None  # GitHub's: the hunks of a text file's diff, from the first "@@"

    @property
    def changes(self) -> int:
        return self.additions + self.deletions


@dataclass(frozen=True)
class Blob:
    path: str
    sha: str
    data: bytes
    kind: str = "file"  # file | symlink | submodule


@dataclass(frozen=True)
class TreeEntry:
    path: str
    sha: str
    size: int
    kind: str  # file | dir | symlink | submodule


def _count(numstat: str) -> int:
    return 0 if numstat == "-" else int(numstat)  # "-": binary


_LOG_FORMAT = "%H%x1f%T%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%B%x1e"
_GIT_STATUS = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "C": "copied",
               "T": "changed"}


def _utc(git_date: str) -> str:
    return iso(datetime.fromisoformat(git_date))


# Answers about commit ids, which name the same content in every repository (kept for the
# process: the tests copy one template repository many times, so the ids recur).
_COMMITS: dict[str, CommitInfo] = {}
_ANSWERS: dict[tuple[Any, ...], Any] = {}


_PLAIN_REF = re.compile(r"(?!.*\.\.)(?!.*//)[A-Za-z0-9_][A-Za-z0-9_./-]*(?<![./])")


def _read_ref(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


class GitBackend:
    """Reads and writes a real git repository (bare or not) with the git CLI.

    What a commit id names never changes, so answers about full commit ids (a commit, a diff
    or merge base between two, a log from one, a file at one) are kept and not asked of git
    again, once this repository is known to hold those commits; names that can move
    (branches, tags, HEAD) are resolved by git every time."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir
        self._known: set[str] = set()  # full ids of commits that this repository holds
        self._commits = _COMMITS
        self._answers = _ANSWERS

    def _immutable(self, *shas: str | None) -> bool:
        return all(sha is None or sha in self._known for sha in shas)

    def _remember(self, commits: Iterable[CommitInfo]) -> None:
        for info in commits:
            self._commits[info.sha] = info
            self._known.add(info.sha)

    def _git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return run_git(self.git_dir, *args, check=check)

    def resolve(self, ref: str) -> str | None:
        """Branch, tag, full ref name or (short) sha -> commit sha, or None."""
        if not ref or ref.startswith("-"):
            return None
        if ref in self._known:
            return ref
        from_files = self._ref_from_files(ref)
        if from_files in self._known:
            return from_files
        proc = self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        sha = proc.stdout.decode().strip()
        if proc.returncode != 0 or not sha:
            return None
        self._known.add(sha)
        return sha

    def _ref_from_files(self, ref: str) -> str | None:
        """What a branch-like name points at, read from loose ref files in git's order
        (gitrevisions: refs/<name>, refs/tags/, refs/heads/, refs/remotes/, .../HEAD); None
        whenever git itself must answer: packed refs, symbolic refs, names that could be
        object ids or expressions, pseudo-refs other than HEAD."""
        git_dir = self.git_dir / ".git" if (self.git_dir / ".git").is_dir() else self.git_dir
        if (git_dir / "packed-refs").exists() or not _PLAIN_REF.fullmatch(ref):
            return None
        if ref == "HEAD":
            head = _read_ref(git_dir / "HEAD")
            if head is None or not head.startswith("ref: refs/heads/"):
                return None
            ref = head.removeprefix("ref: ")
        if re.fullmatch(r"[0-9a-f]{4,40}", ref):
            return None
        if not ref.startswith("refs/") and (git_dir / ref).exists():
            return None  # a pseudo-ref (or a stray file): git knows what it means
        rules = ("{}", "refs/{}", "refs/tags/{}", "refs/heads/{}", "refs/remotes/{}",
                 "refs/remotes/{}/HEAD")
        for rule in rules:
            candidate = rule.format(ref)
            if not candidate.startswith("refs/") or (git_dir / candidate).is_dir():
                continue
            value = _read_ref(git_dir / candidate)
            if value is not None:
                return value if _HEX40.fullmatch(value) else None
        return None

    def resolve_all(self, refs: Sequence[str]) -> list[str | None]:
        """`resolve` for many names with one git process (`cat-file --batch-check`)."""
        asked = [ref for ref in dict.fromkeys(refs) if ref not in self._known
                 and ref and not ref.startswith("-") and "\n" not in ref]
        found: dict[str, str] = {}
        for ref, line in zip(asked, self._commit_check(asked), strict=True):
            sha, _, kind = line.partition(" ")
            if kind.startswith("commit ") and _HEX40.fullmatch(sha):
                found[ref] = sha
                self._known.add(sha)
        return [ref if ref in self._known else found.get(ref) for ref in refs]

    def _commit_check(self, names: Sequence[str]) -> list[str]:
        """`git cat-file --batch-check`'s line for `name^{commit}`, for each of `names` (one
        process; none for no names)."""
        if not names:
            return []
        proc = subprocess.run(
            ["git", "-C", str(self.git_dir), "cat-file", "--batch-check"],
            input="".join(f"{name}^{{commit}}\n" for name in names).encode(),
            capture_output=True, check=False, timeout=30)
        if proc.returncode != 0:
            raise GitError(f"git cat-file --batch-check: {proc.stderr.decode().strip()}")
        return proc.stdout.decode().splitlines()

    def commits(self, *revs: str, limit: int | None = None, path: str | None = None,
                reverse: bool = False, no_walk: bool = False) -> list[CommitInfo]:
        args = ["log", f"--format={_LOG_FORMAT}"]
        if no_walk:
            args.append("--no-walk=unsorted")
        if reverse:
            args.append("--reverse")
        if limit is not None and not reverse:
            args.append(f"--max-count={limit}")
        args += [*revs, "--"]
        if path:
            args.append(path)
        key = ("log", tuple(args))
        if self._immutable(*(rev.removeprefix("^") for rev in revs)) and key in self._answers:
            cached: list[CommitInfo] = self._answers[key]
            return cached[:limit] if limit is not None else list(cached)
        out = self._git(*args).stdout.decode()
        commits = []
        for record in out.split("\x1e"):
            record = record.lstrip("\n")
            if not record:
                continue
            sha, tree, parents, an, ae, ad, cn, ce, cd, message = record.split("\x1f")
            commits.append(CommitInfo(sha, tree, tuple(parents.split()), message.rstrip("\n"),
                                      an, ae, _utc(ad), cn, ce, _utc(cd)))
        self._remember(commits)
        if self._immutable(*(rev.removeprefix("^") for rev in revs)):
            self._answers[key] = commits
        return commits[:limit] if limit is not None else commits

    def commit(self, sha: str) -> CommitInfo | None:
        resolved = self.resolve(sha)
        if resolved is None:
            return None
        return self._commits.get(resolved) or self.commits(resolved, no_walk=True)[0]

    def commits_of(self, refs: Sequence[str]) -> list[CommitInfo | None]:
        """`commit` for each of `refs` (None: no such commit), with at most two git processes."""
        shas = self.resolve_all(refs)
        missing = [sha for sha in dict.fromkeys(shas) if sha and sha not in self._commits]
        if missing:
            self.commits(*missing, no_walk=True)
        return [self._commits[sha] if sha else None for sha in shas]

    def log(self, include: str, exclude: str | None = None, *, limit: int | None = None,
            path: str | None = None, reverse: bool = False) -> list[CommitInfo]:
        revs = [include] if exclude is None else [include, f"^{exclude}"]
        return self.commits(*revs, limit=limit, path=path, reverse=reverse)

    def merge_base(self, a: str, b: str) -> str | None:
        key = ("merge-base", a, b)
        if self._immutable(a, b) and key in self._answers:
            answer: str | None = self._answers[key]
            return answer
        proc = self._git("merge-base", a, b, check=False)
        base = proc.stdout.decode().strip() or None
        if base is not None and self._immutable(a, b):
            self._known.add(base)
            self._answers[key] = base
        return base

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        key = ("is-ancestor", ancestor, descendant)
        if self._immutable(ancestor, descendant) and key in self._answers:
            answer: bool = self._answers[key]
            return answer
        proc = self._git("merge-base", "--is-ancestor", ancestor, descendant, check=False)
        if proc.returncode in (0, 1) and self._immutable(ancestor, descendant):
            self._answers[key] = proc.returncode == 0
        return proc.returncode == 0

    def diff(self, base: str | None, head: str) -> list[FileChange]:
        """Files changed from ``base`` to ``head`` (base None: against the empty tree)."""
        key = ("diff", base, head)
        if self._immutable(base, head) and key in self._answers:
            cached: list[FileChange] = self._answers[key]
            return list(cached)
        changes = self._diff(base, head)
        if self._immutable(base, head):
            self._answers[key] = list(changes)
        return changes

    def _diff(self, base: str | None, head: str) -> list[FileChange]:
        base = base or self._git("hash-object", "-t", "tree", "/dev/null").stdout.decode().strip()
        opts = ("--no-ext-diff", "--no-textconv", "-z", "-M")
        # one diff prints the --raw entries, then the --numstat ones
        out = self._git("diff", *opts, "--raw", "--numstat", "--no-abbrev", base, head).stdout
        tokens = out.decode().split("\0")
        raw: list[tuple[str, str, str, str | None]] = []  # status, sha, path, previous
        i = 0
        while i < len(tokens) and tokens[i].startswith(":"):
            _old_mode, _new_mode, old_sha, new_sha, status = tokens[i][1:].split()
            letter = status[0]
            previous = None
            if letter in "RC":
                previous, path, i = tokens[i + 1], tokens[i + 2], i + 3
            else:
                path, i = tokens[i + 1], i + 2
            raw.append((letter, old_sha if letter == "D" else new_sha, path, previous))
        counts: dict[str, tuple[int, int]] = {}
        while i < len(tokens) and tokens[i]:
            plus, minus, name = tokens[i].split("\t", 2)
            if name == "":  # rename: old and new path follow
                name, i = tokens[i + 2], i + 3
            else:
                i += 1
            counts[name] = (_count(plus), _count(minus))
        patches = self._patches(base, head)
        changes = []
        for letter, sha, path, previous in raw:
            added, deleted = counts.get(path, (0, 0))
            patch = patches[len(changes)] if len(changes) < len(patches) else None
            changes.append(FileChange(path, _GIT_STATUS.get(letter, "changed"), added, deleted,
                                      sha, previous if letter == "R" else None, patch))
        return changes

    def _patches(self, base: str, head: str) -> list[str | None]:
        """Each file's patch as GitHub gives it (its hunks, from the first "@@", without the
        final newline; none for a binary file or a rename without change), in the order of
        `git diff --raw` (the same diff, with the same options)."""
        out = self._git("diff", "--no-ext-diff", "--no-textconv", "--no-color", "-M", "-p",
                        "--full-index", base, head).stdout.decode("utf-8", "replace")
        patches: list[str | None] = []
        for chunk in re.split(r"^diff --git .*\n", out, flags=re.MULTILINE)[1:]:
            lines = chunk.split("\n")
            first = next((i for i, line in enumerate(lines) if line.startswith("@@ ")), None)
            if first is None:
                patches.append(None)
                continue
            patches.append("\n".join(lines[first:]).removesuffix("\n"))
        return patches

    def read(self, ref: str, path: str) -> Blob | list[TreeEntry] | None:
        sha = self.resolve(ref)
        if sha is None:
            return None
        path = path.strip("/")
        key = ("read", sha, path)
        if key not in self._answers:
            self._answers[key] = self._read(sha, path)
        found: Blob | list[TreeEntry] | None = self._answers[key]
        return list(found) if isinstance(found, list) else found

    def _read(self, sha: str, path: str) -> Blob | list[TreeEntry] | None:
        if not path:
            return self._list_tree(sha, "")
        out = self._git("ls-tree", "-z", sha, "--", path).stdout.decode()
        entry = out.split("\0")[0]
        if not entry:
            return None
        meta, _, found = entry.partition("\t")
        mode, kind, obj = meta.split()
        if found != path:
            return None
        if kind == "tree":
            return self._list_tree(sha, path)
        if kind == "commit":
            return Blob(path, obj, b"", "submodule")
        data = self._git("cat-file", "blob", obj).stdout
        return Blob(path, obj, data, "symlink" if mode == "120000" else "file")

    def _list_tree(self, sha: str, path: str) -> list[TreeEntry]:
        spec = f"{sha}:{path}" if path else sha
        out = self._git("ls-tree", "-z", "-l", spec).stdout.decode()
        entries = []
        for line in filter(None, out.split("\0")):
            meta, _, name = line.partition("\t")
            mode, kind, obj, size = meta.split()
            entry_kind = {"tree": "dir", "commit": "submodule"}.get(kind, "file")
            if mode == "120000":
                entry_kind = "symlink"
            full = f"{path}/{name}" if path else name
            entries.append(TreeEntry(full, obj, int(size) if size.isdigit() else 0, entry_kind))
        return entries

    def refs(self) -> dict[str, tuple[str, str]]:
        """Full ref name -> (object sha, object type)."""
        fmt = "--format=%(refname)%00%(objectname)%00%(objecttype)"
        out = self._git("for-each-ref", fmt).stdout.decode()
        result = {}
        for line in filter(None, out.splitlines()):
            name, sha, kind = line.split("\0")
            result[name] = (sha, kind)
        return result

    def set_ref(self, name: str, sha: str, old: str | None) -> None:
        """Create (``old`` None: must not exist yet) or move a ref."""
        self._git("update-ref", name, sha, "" if old is None else old)

    def delete_ref(self, name: str) -> None:
        self._git("update-ref", "-d", name)

    def has_object(self, sha: str) -> bool:
        return self.has_objects([sha])[0]

    def has_objects(self, shas: Sequence[str]) -> list[bool]:
        """Whether each of `shas` names a commit here (`git cat-file -e sha^{commit}`), with
        one `cat-file --batch-check` for those not known yet."""
        asked = [sha for sha in dict.fromkeys(shas) if sha not in self._known]
        found: set[str] = set()
        if any(not sha or sha.startswith("-") or "\n" in sha for sha in asked):
            found = {sha for sha in asked if self._git(
                "cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0}
        else:
            found = {sha for sha, line in zip(asked, self._commit_check(asked), strict=True)
                     if line.partition(" ")[2].startswith("commit ")}
        self._known.update(sha for sha in found if _HEX40.fullmatch(sha))
        return [sha in self._known or sha in found for sha in shas]


class MemoryBackend:
    """The same interface as GitBackend over dicts the test fills (no file diffs)."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    def resolve(self, ref: str) -> str | None:
        repo = self.repo
        for name in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}", f"refs/{ref}"):
            if name in repo.refs:
                return repo.refs[name]
        if ref in repo.commits:
            return ref
        matches = [sha for sha in repo.commits if len(ref) >= 7 and sha.startswith(ref)]
        return matches[0] if len(matches) == 1 else None

    def commit(self, sha: str) -> CommitInfo | None:
        resolved = self.resolve(sha)
        return self.repo.commits.get(resolved) if resolved else None

    def commits_of(self, refs: Sequence[str]) -> list[CommitInfo | None]:
        return [self.commit(ref) for ref in refs]

    def _ancestors(self, sha: str) -> list[str]:
        """``sha`` and its ancestors, newest first (breadth first over registered commits)."""
        order, seen, queue = [], set(), [sha]
        while queue:
            current = queue.pop(0)
            if current in seen or current not in self.repo.commits:
                continue
            seen.add(current)
            order.append(current)
            queue.extend(self.repo.commits[current].parents)
        return order

    def log(self, include: str, exclude: str | None = None, *, limit: int | None = None,
            path: str | None = None, reverse: bool = False) -> list[CommitInfo]:
        excluded = set(self._ancestors(exclude)) if exclude else set()
        shas = [s for s in self._ancestors(include) if s not in excluded]
        commits = [self.repo.commits[s] for s in shas]
        if reverse:
            commits.reverse()
        return commits[:limit] if limit is not None else commits

    def merge_base(self, a: str, b: str) -> str | None:
        other = set(self._ancestors(b))
        return next((sha for sha in self._ancestors(a) if sha in other), None)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return ancestor in self._ancestors(descendant)

    def diff(self, base: str | None, head: str) -> list[FileChange]:
        return []

    def read(self, ref: str, path: str) -> Blob | list[TreeEntry] | None:
        path = path.strip("/")
        sha = self.resolve(ref)
        keys = [ref] + ([sha] if sha else [])
        keys += [name.removeprefix("refs/heads/") for name, target in self.repo.refs.items()
                 if sha and target == sha]
        for key in keys:
            files = self.repo.contents.get(key)
            if files is None:
                continue
            if path in files:
                data = files[path]
                return Blob(path, hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(), data)
            prefix = f"{path}/" if path else ""
            children: dict[str, TreeEntry] = {}
            for name, data in files.items():
                if not name.startswith(prefix):
                    continue
                head, sep, _ = name[len(prefix):].partition("/")
                full = prefix + head
                kind = "dir" if sep else "file"
                children[full] = TreeEntry(full, fake_sha(key, full), 0 if sep else len(data), kind)
            if children:
                return sorted(children.values(), key=lambda e: e.path)
        return None

    def refs(self) -> dict[str, tuple[str, str]]:
        return {name: (sha, "commit") for name, sha in self.repo.refs.items()}

    def set_ref(self, name: str, sha: str, old: str | None) -> None:
        self.repo.refs[name] = sha

    def delete_ref(self, name: str) -> None:
        del self.repo.refs[name]

    def has_object(self, sha: str) -> bool:
        return sha in self.repo.commits

    def has_objects(self, shas: Sequence[str]) -> list[bool]:
        return [self.has_object(sha) for sha in shas]


# --------------------------------------------------------------------------------------------
# state


@dataclass
class User:
    login: str
    id: int
    type: str = "User"  # User | Bot | Organization
    name: str | None = None
    email: str | None = None
    site_admin: bool = False


@dataclass
class Team:
    org: str
    slug: str
    id: int
    name: str
    members: dict[str, str]  # login -> "active" | "pending"
    maintainers: set[str] = field(default_factory=set)
    readable: bool = True  # False: the token cannot read this team (403)
    description: str | None = None


@dataclass
class Review:
    id: int
    user: str
    state: str
    commit_id: str | None
    submitted_at: str | None
    body: str
    author_association: str


@dataclass
class Pull:
    number: int
    id: int
    user: str
    title: str
    body: str | None
    base_ref: str
    base_sha: str
    head_ref: str
    head_sha: str
    head_repo: str  # full name of the repository the head branch lives in
    state: str = "open"
    draft: bool = False
    merged: bool = False
    merged_at: str | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    closed_at: str | None = None
    labels: list[str] = field(default_factory=list)
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)  # "org/slug" or "slug"
    files: list[FileChange] | None = None  # None: computed from git
    changed_files: int | None = None  # None: len(files)
    commits: list[str] | None = None  # None: computed (git) or [head_sha]
    created_at: str = ""
    updated_at: str = ""
    reviews: list[Review] = field(default_factory=list)
    # timeline events: HeadRefForcePushedEvent, BaseRefChangedEvent ({"__typename", "id"})
    timeline: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Status:
    repo: str
    sha: str
    id: int
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: str


@dataclass
class CheckRun:
    repo: str
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    output: dict[str, Any]
    details_url: str | None
    external_id: str | None
    started_at: str | None
    completed_at: str | None


@dataclass
class Comment:
    repo: str
    issue_number: int
    id: int
    body: str
    user: str
    created_at: str
    updated_at: str


@dataclass
class ArtifactFile:
    """An Actions artifact (a zip), as `actions/upload-artifact` leaves it."""

    id: int
    repo: str
    name: str
    run_id: int
    head_sha: str
    head_branch: str
    data: bytes
    created_at: str
    expired: bool = False


CHECKS_WORKFLOW = ".github/workflows/promotion-checks.yml"


@dataclass
class WorkflowRun:
    """An Actions workflow run: which workflow file ran, on which event, for which commit."""

    id: int
    repo: str
    path: str  # .github/workflows/<file>.yml of the workflow that ran
    event: str  # pull_request, push, workflow_dispatch, ...
    head_sha: str
    head_branch: str
    status: str  # queued | in_progress | completed
    conclusion: str | None
    created_at: str


@dataclass
class Repo:
    """A repository. Without ``git_dir``: ``refs``, ``commits`` and ``contents`` are plain dicts."""

    owner: str
    name: str
    id: int
    default_branch: str = "main"
    git_dir: Path | None = None
    private: bool = False
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" -> sha (no git_dir)
    commits: dict[str, CommitInfo] = field(default_factory=dict)  # no git_dir
    contents: dict[str, dict[str, bytes]] = field(default_factory=dict)  # ref|sha -> path -> data
    collaborators: dict[str, str] = field(default_factory=dict)  # login -> admin|maintain|write|...
    pulls: dict[int, Pull] = field(default_factory=dict)
    # settings (doctor)
    rulesets: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> full ruleset JSON
    environments: dict[str, Environment] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # repository secret name -> created_at
    team_permissions: dict[str, str] = field(default_factory=dict)  # "org/slug" -> push|admin|...
    workflow_permissions: dict[str, Any] = field(default_factory=lambda: {
        "default_workflow_permissions": "read", "can_approve_pull_request_reviews": False})
    allow_rebase_merge: bool = True

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    _git_backend: GitBackend | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def backend(self) -> GitBackend | MemoryBackend:
        if not self.git_dir:
            return MemoryBackend(self)
        if self._git_backend is None or self._git_backend.git_dir != self.git_dir:
            self._git_backend = GitBackend(self.git_dir)  # one per repository: its caches
        return self._git_backend

    def set_file(self, path: str, data: str | bytes, ref: str | None = None) -> None:
        """In-memory repositories: the content of ``path`` at ``ref`` (branch or sha)."""
        if self.git_dir:
            raise ValueError(f"{self.full_name} is served from {self.git_dir}; commit there")
        raw = data.encode() if isinstance(data, str) else data
        self.contents.setdefault(ref or self.default_branch, {})[path.strip("/")] = raw

    def add_commit(self, sha: str | None = None, *, parents: Sequence[str] = (),
                   message: str = "commit", branch: str | None = None,
                   author: tuple[str, str] = ("Test Author", "author@example.com"),
                   date: str | None = None) -> CommitInfo:
        """In-memory repositories: register a commit (and move ``branch`` to it)."""
        if self.git_dir:
            raise ValueError(f"{self.full_name} is served from {self.git_dir}; commit there")
        sha = sha or fake_sha(self.full_name, tuple(parents), message, len(self.commits))
        when = date or iso(_EPOCH + timedelta(minutes=len(self.commits)))
        info = CommitInfo(sha, fake_sha("tree", sha), tuple(parents), message, author[0],
                          author[1], when, author[0], author[1], when)
        self.commits[sha] = info
        if branch:
            self.refs[f"refs/heads/{branch}"] = sha
        return info


@dataclass
class Environment:
    """A deployment environment: who may deploy to it (branch policies) and its secrets."""

    id: int
    name: str
    branch_policies: list[str] | None = None  # None: any branch; else custom branch names
    protected_branches: bool = False  # "protected branches only" instead of custom policies
    secrets: dict[str, str] = field(default_factory=dict)  # name -> created_at
    reviewers: list[str] = field(default_factory=list)


@dataclass
class RecordedRequest:
    """One request the server received (appended on arrival; ``status`` set when answered)."""

    method: str
    path: str  # percent-decoded, without the query
    query: dict[str, str]
    body: Any  # parsed JSON, raw text when not JSON, None when empty
    headers: dict[str, str]
    route: str | None = None  # OpenAPI path template of the route that served it
    status: int | None = None
    response_body: bytes = b""
    response_headers: dict[str, str] = field(default_factory=dict)
    fault: bool = False  # answered (or altered) by an injected fault

    def json(self) -> Any:
        return json.loads(self.response_body) if self.response_body else None


@dataclass
class Fault:
    method: str  # "*" matches any method
    path: re.Pattern[str]  # re.fullmatch against the percent-decoded path
    status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int = 1
    then_process: bool = False
    query: dict[str, str] | None = None  # also require these query parameters
    skip: int = 0  # let this many matching requests through untouched first
    action: Callable[[], None] | None = None  # run when the fault fires (before answering)
    contains: str | None = None  # also require this text in the request's body (a query)
    rewrite: Callable[[Any], Any] | None = None  # answer normally, then with rewrite(answer)

    def matches(self, method: str, path: str, query: Mapping[str, str], body: str) -> bool:
        if self.method not in ("*", method) or not self.path.fullmatch(path):
            return False
        if self.contains is not None and self.contains not in body:
            return False
        return all(query.get(k) == v for k, v in (self.query or {}).items())


@dataclass
class Request:
    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    body: Any
    token: str | None

    def param(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default) if isinstance(self.body, dict) else default


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # OpenAPI path template, e.g. /repos/{owner}/{repo}/pulls/{pull_number}
    pattern: re.Pattern[str]  # what the request path must match
    handler: str  # name of the FakeGitHub method


_MULTI_SEGMENT = {"path": ".*", "basehead": ".+"}


def make_route(method: str, template: str, handler: str, path: str | None = None) -> Route:
    """A route for an OpenAPI operation; ``path``: an undocumented alias GitHub also serves."""
    served = path or template

    def param(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "ref" and "/git/" in served:
            return f"(?P<{name}>.+)"
        return f"(?P<{name}>{_MULTI_SEGMENT.get(name, '[^/]+')})"

    escaped = re.escape(served).replace(r"\{", "{").replace(r"\}", "}")
    return Route(method, template, re.compile(re.sub(r"\{(\w+)\}", param, escaped)), handler)


R = "/repos/{owner}/{repo}"
INSTALLATION_PERMISSIONS = {"contents": "write", "pull_requests": "write", "issues": "write",
                            "statuses": "write", "checks": "read", "actions": "read",
                            "members": "read"}
STORAGE_PREFIX = "/_storage/artifacts/"  # not GitHub's API: the blob store downloads redirect to
GRAPHQL_PATH = "/graphql"  # GitHub's GraphQL endpoint (api.github.com/graphql)
TEAM = "/organizations/{org_id}/team/{team_id}"
ROUTES: tuple[Route, ...] = (
    *(make_route(method, template, handler) for method, template, handler in [
        ("GET", "/user", "get_authenticated_user"),
        ("GET", "/users/{username}", "get_user"),
        ("GET", "/orgs/{org}", "get_org"),
        ("GET", "/orgs/{org}/teams/{team_slug}", "get_team"),
        ("GET", "/orgs/{org}/teams/{team_slug}/members", "list_team_members"),
        ("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", "get_team_membership"),
        ("GET", R, "get_repo"),
        ("GET", R + "/collaborators/{username}/permission", "get_permission"),
        ("GET", R + "/pulls", "list_pulls"),
        ("POST", R + "/pulls", "create_pull"),
        ("GET", R + "/pulls/{pull_number}", "get_pull"),
        ("GET", R + "/pulls/{pull_number}/files", "list_pull_files"),
        ("GET", R + "/pulls/{pull_number}/reviews", "list_reviews"),
        ("GET", R + "/pulls/{pull_number}/commits", "list_pull_commits"),
        ("GET", R + "/pulls/{pull_number}/requested_reviewers", "get_review_requests"),
        ("POST", R + "/pulls/{pull_number}/requested_reviewers", "request_reviewers"),
        ("GET", R + "/issues/{issue_number}/comments", "list_comments"),
        ("POST", R + "/issues/{issue_number}/comments", "create_comment"),
        ("PATCH", R + "/issues/comments/{comment_id}", "update_comment"),
        ("GET", R + "/issues/{issue_number}/labels", "list_labels"),
        ("POST", R + "/statuses/{sha}", "create_status"),
        ("GET", R + "/commits/{ref}/statuses", "list_statuses"),
        ("GET", R + "/commits/{ref}/status", "get_combined_status"),
        ("GET", R + "/commits/{ref}/check-runs", "list_check_runs"),
        ("GET", R + "/commits/{commit_sha}/pulls", "list_commit_pulls"),
        ("GET", R + "/commits/{ref}", "get_commit"),
        ("GET", R + "/commits", "list_commits"),
        ("POST", R + "/check-runs", "create_check_run"),
        ("GET", R + "/check-runs/{check_run_id}", "get_check_run"),
        ("PATCH", R + "/check-runs/{check_run_id}", "update_check_run"),
        ("GET", R + "/compare/{basehead}", "compare"),
        ("GET", R + "/contents/{path}", "get_contents"),
        ("GET", R + "/git/ref/{ref}", "get_ref"),
        ("GET", R + "/git/matching-refs/{ref}", "list_matching_refs"),
        ("POST", R + "/git/refs", "create_ref"),
        ("PATCH", R + "/git/refs/{ref}", "update_ref"),
        ("DELETE", R + "/git/refs/{ref}", "delete_ref"),
        ("GET", R + "/actions/artifacts", "list_artifacts"),
        ("GET", R + "/actions/runs", "list_workflow_runs"),
        ("GET", R + "/actions/runs/{run_id}", "get_workflow_run"),
        ("GET", R + "/actions/runs/{run_id}/artifacts", "list_run_artifacts"),
        ("GET", R + "/installation", "get_repo_installation"),
        ("POST", "/app/installations/{installation_id}/access_tokens", "create_installation_token"),
        ("GET", R + "/actions/artifacts/{artifact_id}/{archive_format}", "download_artifact"),
        # repository settings (doctor)
        ("GET", R + "/rules/branches/{branch}", "get_branch_rules"),
        ("GET", R + "/rulesets", "list_rulesets"),
        ("GET", R + "/rulesets/{ruleset_id}", "get_ruleset"),
        ("GET", R + "/environments/{environment_name}", "get_environment"),
        ("GET", R + "/environments/{environment_name}/deployment-branch-policies",
         "list_deployment_branch_policies"),
        ("GET", R + "/environments/{environment_name}/secrets", "list_environment_secrets"),
        ("GET", R + "/actions/secrets", "list_repo_secrets"),
        ("GET", R + "/actions/organization-secrets", "list_repo_organization_secrets"),
        ("GET", R + "/actions/permissions/workflow", "get_workflow_permissions"),
        ("GET", R + "/codeowners/errors", "list_codeowners_errors"),
        ("GET", "/orgs/{org}/installations", "list_org_installations"),
    ]),
    # PyGithub's Commit.get_statuses() uses GitHub's legacy alias of commits/{ref}/statuses
    make_route("GET", R + "/commits/{ref}/statuses", "list_statuses", path=R + "/statuses/{ref}"),
    # a team's "url" is /organizations/{org_id}/team/{team_id}; PyGithub's Team methods follow it
    make_route("GET", "/orgs/{org}/teams/{team_slug}", "get_team", path=TEAM),
    make_route("GET", "/orgs/{org}/teams/{team_slug}/members", "list_team_members",
               path=TEAM + "/members"),
    make_route("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}",
               "get_team_membership", path=TEAM + "/memberships/{username}"),
)


# GraphQL's Blob.text is cut for large files (isTruncated); the fake cuts at 512 KiB
GRAPHQL_BLOB_TEXT_LIMIT = 512 * 1024
GRAPHQL_SCHEMA = Path("github-graphql") / "schema.docs.graphql.gz"


@functools.cache
def github_graphql_schema() -> graphql.GraphQLSchema:
    """GitHub's published GraphQL schema, built once per process (about half a second). GitHub's
    SDL breaks two of graphql-core's own rules of schema design (a field defined twice, a
    deprecation an interface does not share), which do not change what a query means: the
    schema is taken as valid, and every query is still validated against it."""
    sdl = gzip.decompress((GITHUB_FIXTURES / GRAPHQL_SCHEMA).read_bytes()).decode()
    return graphql.build_schema(sdl, assume_valid=True, assume_valid_sdl=True)


@functools.lru_cache(maxsize=512)
def _checked_query(query: str) -> tuple[graphql.DocumentNode | None, tuple[str, ...]]:
    """The parsed query, or None and GitHub's messages for why it is refused. Kept per text: a
    run sends the same few queries again and again, and executing never changes a document."""
    try:
        document = graphql.parse(query)
    except graphql.GraphQLError as error:
        return None, (f"Parse error: {error.message}",)
    problems = graphql.validate(github_graphql_schema(), document)
    if problems:
        return None, tuple(_github_wording(p.message) for p in problems)
    return document, ()


def _github_wording(message: str) -> str:
    """graphql-core's message in GitHub's words, for the validation errors tests compare."""
    found = re.fullmatch(r"Variable '\$(\w+)' is never used\.", message)
    if found:
        return f"Variable ${found[1]} is declared by anonymous query but is not used"
    found = re.fullmatch(r"Variable '\$(\w+)' is not defined\.", message)
    if found:
        return f"Variable ${found[1]} is used by anonymous query but not declared"
    return message


def _not_resolved(message: str) -> graphql.GraphQLError:
    return graphql.GraphQLError(message, extensions={"type": "NOT_FOUND"})


def _gql_pull_state(pull: Pull) -> str:
    return "MERGED" if pull.merged else pull.state.upper()


def _connection(info: graphql.GraphQLResolveInfo, items: Sequence[Any], *,
                first: int | None = None, last: int | None = None, after: str | None = None,
                **_: Any) -> dict[str, Any]:
    """A connection's page as GitHub gives it: the nodes (or edges) need `first` or `last`, at
    most 100; `totalCount` counts them all."""
    selections = info.field_nodes[0].selection_set
    listed = {s.name.value for s in (selections.selections if selections else ())
              if isinstance(s, graphql.FieldNode)}
    if listed & {"nodes", "edges"} and first is None and last is None:
        raise graphql.GraphQLError(f"You must provide a `first` or `last` value to properly "
                                   f"paginate the `{info.field_name}` connection.")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PER_PAGE:
            raise graphql.GraphQLError(f"Requesting {value} records on the `{info.field_name}` "
                                       f"connection exceeds the `{name}` limit of 100 records.")
    start = int(base64.b64decode(after).decode().partition(":")[2]) if after else 0
    end = len(items) if first is None else min(len(items), start + first)
    if last is not None:
        start = max(start, end - last)
    page = list(items[start:end])

    def cursor(index: int) -> str:
        return base64.b64encode(f"cursor:{index + 1}".encode()).decode()

    return {"totalCount": len(items), "nodes": page,
            "edges": [{"node": node, "cursor": cursor(start + i)} for i, node in enumerate(page)],
            "pageInfo": {"hasNextPage": end < len(items), "hasPreviousPage": start > 0,
                         "startCursor": cursor(start) if page else None,
                         "endCursor": cursor(end - 1) if page else None}}


def _symlink_target(path: str, link: bytes) -> str | None:
    """The repository path a symlink at `path` points to, or None when it leaves the
    repository (an absolute path, or `..` past the root) or is not a path."""
    try:
        text = link.decode()
    except UnicodeDecodeError:
        return None
    if text.startswith("/") or "\0" in text:
        return None
    parts: list[str] = path.split("/")[:-1]
    for part in text.split("/"):
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts) or None


def _ticking_clock() -> Callable[[], datetime]:
    """Deterministic time: 2026-01-01T00:00:00Z, one second later on every call."""
    counter = itertools.count()
    return lambda: _EPOCH + timedelta(seconds=next(counter))


# --------------------------------------------------------------------------------------------
# HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive connections must not hold up stop()

    def __init__(self, fake: FakeGitHub) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    timeout = 10  # idle keep-alive connections
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _serve(self) -> None:
        self.server.fake._serve(self)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        pass


# --------------------------------------------------------------------------------------------
# the fake


class FakeGitHub:
    """A stateful GitHub REST API on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        *,
        token_user: str = "github-actions[bot]",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._clock = clock or _ticking_clock()
        self._ids = {kind: itertools.count(start) for kind, start in [
            ("user", 1001), ("repo", 2001), ("pull", 3001), ("review", 4001), ("comment", 5001),
            ("status", 6001), ("check", 7001), ("team", 8001), ("request", 9001), ("artifact", 11001), ("run", 12001),
            ("ruleset", 13001), ("environment", 14001), ("policy", 15001), ("event", 16001)]}
        self.base_url = ""
        self.users: dict[str, User] = {}  # lower-case login -> user
        self.teams: dict[tuple[str, str], Team] = {}  # (org, slug), lower case
        self.repos: dict[str, Repo] = {}  # lower-case full name -> repo
        self.tokens: dict[str, str] = {}  # token -> login; other tokens act as token_user
        self.token_user = token_user
        self._status_log: list[Status] = []
        self._check_log: list[CheckRun] = []
        self._comment_log: list[Comment] = []
        self.review_requests: list[dict[str, Any]] = []  # one per POST .../requested_reviewers
        self.created_pulls: list[dict[str, Any]] = []  # one per POST .../pulls
        self.requests: list[RecordedRequest] = []
        self.server_errors: list[str] = []  # exceptions inside handlers (bugs in the fake)
        self.faults: list[Fault] = []
        self.artifacts: list[ArtifactFile] = []
        self.workflow_runs: dict[int, WorkflowRun] = {}
        self.app_id, self.installation_id, self.app_slug = 4242, 777, "promotion-bot"
        self.installation_permissions: dict[str, str] = dict(INSTALLATION_PERMISSIONS)
        self.installation_suspended = False
        self.org_owners: dict[str, set[str]] = {}  # org (lower case) -> logins of its owners
        self.org_secrets: dict[str, dict[str, str]] = {}  # org -> name -> created_at
        self.installation_tokens: list[str] = []  # issued by POST .../access_tokens (App auth)
        self._user(token_user)

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(self)
            port = self._server.server_address[1]
            self.base_url = f"http://127.0.0.1:{port}"
            # stopping waits for the serving loop's next look at its flag: every test stops a
            # server, so a 5 ms look (a few microseconds of work) instead of 50 ms
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.005}, daemon=True,
                name=f"FakeGitHub:{port}",
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with server.connections_lock:
            for conn in list(server.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, token: str = "t", *, retry: Any = None, timeout: int = 5,
               per_page: int = 30, **kwargs: Any) -> Any:
        """A PyGithub client for this server (no throttling: PyGithub waits 0.25 s between
        requests and 1 s between writes by default). Close it after use."""
        import github  # only the tests' client side needs PyGithub

        return github.Github(
            base_url=self.base_url, auth=github.Auth.Token(token), retry=retry,
            timeout=timeout, per_page=per_page, seconds_between_requests=None,
            seconds_between_writes=None, **kwargs,
        )

    def now(self) -> str:
        return iso(self._clock())

    def _next_id(self, kind: str) -> int:
        return next(self._ids[kind])

    # ---- setup -----------------------------------------------------------------------------

    def add_user(self, login: str, type: str = "User", *, name: str | None = None,
                 email: str | None = None, site_admin: bool = False) -> dict[str, Any]:
        """Register (or update) a user, bot (``type="Bot"``) or organization; returns its JSON."""
        with self._lock:
            user = self.users.get(login.lower())
            if user is None:
                user = User(login, self._next_id("user"), type, name, email, site_admin)
                self.users[login.lower()] = user
            else:
                user.type, user.name, user.email, user.site_admin = type, name, email, site_admin
            return self._j_user(user)

    def _user(self, login: str) -> User:
        """The user ``login``, created on first mention (``*[bot]`` logins become bots)."""
        user = self.users.get(login.lower())
        if user is None:
            self.add_user(login, "Bot" if login.endswith("[bot]") else "User")
            user = self.users[login.lower()]
        return user

    def add_token(self, token: str, login: str) -> None:
        """Requests authenticated with ``token`` act as ``login`` (``GET /user``, authorship)."""
        with self._lock:
            self._user(login)
            self.tokens[token] = login

    def add_team(self, org: str, slug: str, members: Mapping[str, str] | None = None, *,
                 maintainers: Iterable[str] = (), name: str | None = None,
                 readable: bool = True) -> None:
        """A team; ``members`` maps login -> "active" | "pending". ``readable=False``: 403."""
        with self._lock:
            self._org(org)
            members = dict(members or {})
            for login, state in members.items():
                if state not in ("active", "pending"):
                    raise ValueError(f"team member state must be active or pending, not {state!r}")
                self._user(login)
            team = Team(org, slug, self._next_id("team"), name or slug, members,
                        set(maintainers), readable)
            self.teams[(org.lower(), slug.lower())] = team

    def _org(self, login: str) -> User:
        user = self.users.get(login.lower())
        if user is None:
            self.add_user(login, "Organization")
            user = self.users[login.lower()]
        return user

    def add_repo(self, full_name: str, git_dir: str | Path | None = None,
                 default_branch: str = "main", *, private: bool = False) -> Repo:
        """A repository; with ``git_dir`` everything git-shaped is served from that repository."""
        owner, _, name = full_name.partition("/")
        with self._lock:
            if owner.lower() not in self.users:
                self._org(owner)
            repo = Repo(owner, name, self._next_id("repo"), default_branch,
                        Path(git_dir).resolve() if git_dir else None, private)
            if git_dir is None:
                repo.add_commit(fake_sha(full_name, "root"), message="Initial commit",
                                branch=default_branch)
            self.repos[full_name.lower()] = repo
            return repo

    def add_collaborator(self, full_name: str, login: str, permission: str = "write") -> None:
        """``permission``: admin, maintain, write, triage or read."""
        with self._lock:
            self._user(login)
            self._repo_by_name(full_name).collaborators[login] = permission

    def add_ruleset(self, full_name: str, name: str, *, target: str, include: Sequence[str],
                    rules: Sequence[Mapping[str, Any]], bypass_actors: Sequence[Mapping[str, Any]] = (),
                    enforcement: str = "active", exclude: Sequence[str] = (),
                    source_type: str = "Repository") -> dict[str, Any]:
        """A ruleset (``target`` branch or tag) in GitHub's shape; ``include``/``exclude`` are ref
        name patterns (``~DEFAULT_BRANCH``, ``~ALL``, ``refs/tags/promotion/*``); ``rules`` are
        repository rules (``{"type": "deletion"}``, ``{"type": "pull_request", "parameters":
        {...}}``). ``source_type="Organization"``: an organisation ruleset seen from the repo."""
        with self._lock:
            repo = self._repo_by_name(full_name)
            ruleset_id = self._next_id("ruleset")
            source = repo.owner if source_type == "Organization" else repo.full_name
            api = self._api(f"/repos/{repo.full_name}/rulesets/{ruleset_id}")
            ruleset = {
                "id": ruleset_id, "name": name, "target": target, "source_type": source_type,
                "source": source, "enforcement": enforcement,
                "bypass_actors": copy.deepcopy([dict(actor) for actor in bypass_actors]),
                "conditions": {"ref_name": {"include": list(include), "exclude": list(exclude)}},
                "rules": copy.deepcopy([dict(rule) for rule in rules]),
                "node_id": node_id("RepositoryRuleset", ruleset_id),
                "_links": {"self": {"href": api},
                           "html": {"href": f"{WEB_URL}/{repo.full_name}/rules/{ruleset_id}"}},
                "created_at": self.now(), "updated_at": self.now(),
            }
            repo.rulesets[ruleset_id] = ruleset
            return ruleset

    def add_environment(self, full_name: str, name: str, *,
                        branch_policies: Sequence[str] | None = None,
                        protected_branches: bool = False, secrets: Iterable[str] = (),
                        reviewers: Sequence[str] = ()) -> Environment:
        """An environment; ``branch_policies`` names the branches that may deploy (None: any)."""
        with self._lock:
            repo = self._repo_by_name(full_name)
            environment = Environment(
                self._next_id("environment"), name,
                list(branch_policies) if branch_policies is not None else None,
                protected_branches, {secret: self.now() for secret in secrets}, list(reviewers))
            repo.environments[name] = environment
            return environment

    def add_org_owner(self, org: str, login: str) -> None:
        with self._lock:
            self._org(org)
            self._user(login)
            self.org_owners.setdefault(org.lower(), set()).add(login.lower())

    def add_pull(
        self,
        full_name: str,
        number: int,
        *,
        user: str,
        base_ref: str,
        base_sha: str,
        head_ref: str,
        head_sha: str,
        title: str = "",
        body: str | None = "",
        files: Sequence[str | Mapping[str, Any] | FileChange] | None = None,
        changed_files: int | None = None,
        commits: Sequence[str] | None = None,
        state: str = "open",
        draft: bool = False,
        merged: bool = False,
        merge_commit_sha: str | None = None,
        merged_by: str | None = None,
        labels: Sequence[str] = (),
        requested_reviewers: Sequence[str] = (),
        requested_teams: Sequence[str] = (),
        head_repo: str | None = None,
    ) -> dict[str, Any]:
        """A pull request; ``files`` default to the real diff (git) or none (in-memory).

        ``merged=True`` implies ``state="closed"``. With ``git_dir`` both shas must exist there;
        in-memory repositories get the two commits (head's parent: base) and branches registered.
        A ``head_repo`` (fork) that is not registered yet is added as an in-memory repository.
        """
        with self._lock:
            repo = self._repo_by_name(full_name)
            for login in (user, *requested_reviewers, *([merged_by] if merged_by else [])):
                self._user(login)
            if head_repo and head_repo.lower() not in self.repos:
                self.add_repo(head_repo)
            now = self.now()
            pull = Pull(
                number, self._next_id("pull"), user, title, body, base_ref, base_sha, head_ref,
                head_sha, head_repo or repo.full_name, state, draft, merged, None, merged_by,
                merge_commit_sha, None, list(labels), list(requested_reviewers),
                list(requested_teams), _file_changes(files) if files is not None else None,
                changed_files, list(commits) if commits is not None else None, now, now,
            )
            self._settle_pull(repo, pull, now)
            repo.pulls[number] = pull
            return self._j_pull(repo, pull)

    def update_pull(self, full_name: str, number: int, **changes: Any) -> dict[str, Any]:
        """Change fields of a pull (``head_sha=...`` for a push, ``merged=True``, ...)."""
        with self._lock:
            repo = self._repo_by_name(full_name)
            pull = repo.pulls[number]
            if changes.get("files") is not None:
                changes["files"] = _file_changes(changes["files"])
            old_head, old_base = pull.head_sha, pull.base_ref
            for key, value in changes.items():
                if not hasattr(pull, key):
                    raise TypeError(f"Pull has no field {key!r}")
                setattr(pull, key, value)
            pull.updated_at = self.now()
            self._settle_pull(repo, pull, pull.updated_at)
            # GitHub's timeline records a head that is not a descendant of the one it replaces
            # (a force-push) and a change of base
            if pull.head_sha != old_head and not repo.backend.is_ancestor(old_head,
                                                                          pull.head_sha):
                self._timeline_event(pull, "HeadRefForcePushedEvent")
            if pull.base_ref != old_base:
                self._timeline_event(pull, "BaseRefChangedEvent")
            return self._j_pull(repo, pull)

    def _timeline_event(self, pull: Pull, kind: str) -> None:
        pull.timeline.append({"__typename": kind, "id": node_id(kind, self._next_id("event"))})

    def _settle_pull(self, repo: Repo, pull: Pull, now: str) -> None:
        """Keep a pull consistent with its repository and with itself."""
        if repo.git_dir is not None:
            names = ("base_sha", "head_sha")
            shas = [getattr(pull, name) for name in names]
            for name, sha, found in zip(names, shas, repo.backend.has_objects(shas), strict=True):
                if not found:
                    raise ValueError(f"{name} {sha} of #{pull.number} is not a commit in "
                                     f"{repo.git_dir}")
        else:
            if pull.base_sha not in repo.commits:
                repo.add_commit(pull.base_sha, message=f"base of #{pull.number}")
            if pull.head_sha not in repo.commits:
                repo.add_commit(pull.head_sha, parents=[pull.base_sha],
                                message=pull.title or f"#{pull.number}")
            base_ref = f"refs/heads/{pull.base_ref}"
            if repo.refs.get(base_ref) in (None, fake_sha(repo.full_name, "root")):
                repo.refs[base_ref] = pull.base_sha
            if pull.head_repo.lower() == repo.full_name.lower():
                repo.refs[f"refs/heads/{pull.head_ref}"] = pull.head_sha
        if pull.merged:
            pull.state = "closed"
            pull.merged_at = pull.merged_at or now
        if pull.state == "closed":
            pull.closed_at = pull.closed_at or now

    def add_workflow_run(self, full_name: str, *, head_sha: str, path: str = CHECKS_WORKFLOW,
                         event: str = "pull_request", head_branch: str = "main",
                         status: str = "completed", conclusion: str | None = "success",
                         run_id: int | None = None) -> WorkflowRun:
        """A run of the workflow file ``path`` on ``event`` for ``head_sha``."""
        with self._lock:
            repo = self._repo_by_name(full_name)
            run = WorkflowRun(run_id or self._next_id("run"), repo.full_name, path, event,
                              head_sha, head_branch, status,
                              conclusion if status == "completed" else None, self.now())
            self.workflow_runs[run.id] = run
            return run

    def add_artifact(self, full_name: str, name: str, *, head_sha: str,
                     files: Mapping[str, bytes], run_id: int | None = None,
                     head_branch: str = "main", expired: bool = False,
                     workflow: str = CHECKS_WORKFLOW,
                     event: str = "pull_request") -> dict[str, Any]:
        """An Actions artifact of a workflow run on ``head_sha``: ``files`` zipped, as
        actions/upload-artifact stores them. Downloads redirect (302) to a local blob store.
        The run (made unless ``run_id`` names one) is of the workflow file ``workflow`` on
        ``event`` (default: the checks workflow on pull_request) for ``head_sha``."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for path, data in files.items():
                archive.writestr(path, data)
        with self._lock:
            repo = self._repo_by_name(full_name)
            if run_id is None or run_id not in self.workflow_runs:
                run_id = self.add_workflow_run(full_name, head_sha=head_sha,
                                               path=workflow, event=event,
                                               head_branch=head_branch, run_id=run_id).id
            artifact = ArtifactFile(self._next_id("artifact"), repo.full_name, name,
                                    run_id, head_sha, head_branch,
                                    buffer.getvalue(), self.now(), expired)
            self.artifacts.append(artifact)
            return self._j_artifact(repo, artifact)

    def add_review(self, full_name: str, number: int, *, user: str, state: str,
                   commit_id: str | None, submitted_at: str | None = None, body: str = "",
                   author_association: str | None = None) -> dict[str, Any]:
        """A review; REST states are upper case. PENDING reviews have no ``submitted_at``."""
        if state not in REVIEW_STATES:
            raise ValueError(f"review state must be one of {sorted(REVIEW_STATES)}, not {state!r}")
        with self._lock:
            repo = self._repo_by_name(full_name)
            self._user(user)
            submitted = None if state == "PENDING" else (submitted_at or self.now())
            review = Review(self._next_id("review"), user, state, commit_id, submitted, body,
                            author_association or self._association(repo, user))
            repo.pulls[number].reviews.append(review)
            return self._j_review(repo, repo.pulls[number], review)

    def add_comment(self, full_name: str, number: int, *, user: str, body: str) -> dict[str, Any]:
        """An existing issue comment (e.g. the bot's own comment from an earlier run)."""
        with self._lock:
            repo = self._repo_by_name(full_name)
            return self._j_comment(repo, self._new_comment(repo, number, user, body))

    def add_status(self, full_name: str, sha: str, *, state: str, context: str = "default",
                   description: str | None = None, target_url: str | None = None,
                   creator: str | None = None) -> dict[str, Any]:
        with self._lock:
            repo = self._repo_by_name(full_name)
            status = Status(repo.full_name, sha, self._next_id("status"), state, context,
                            description, target_url, creator or self.token_user, self.now())
            self._status_log.append(status)
            return self._j_status(repo, status)

    # ---- fault injection -------------------------------------------------------------------

    def inject(self, method: str, path_regex: str, *, status: int | None = None,
               body: bytes | None = None, headers: Mapping[str, str] | None = None,
               delay: float = 0, times: int = 1, then_process: bool = False,
               query: Mapping[str, str] | None = None, skip: int = 0,
               action: Callable[[], None] | None = None, contains: str | None = None,
               rewrite: Callable[[Any], Any] | None = None) -> Fault:
        """Make the next ``times`` requests matching ``method`` and ``path_regex`` misbehave.

        ``path_regex`` must match the whole percent-decoded path (``re.fullmatch``); ``query``
        optionally requires query parameters (e.g. ``{"page": "2"}``).

        * ``status`` and/or ``body``: answer with them instead (status defaults to 200, body to
          GitHub's JSON error for the status), without performing the request;
        * ``then_process=True``: perform the request (the write happens), then answer with the
          fault (status defaults to 500);
        * only ``headers`` and/or ``delay``: perform the request normally, wait ``delay``
          seconds first, and add/override the response ``headers``;
        * ``skip``: the first ``skip`` matching requests pass untouched (fail the third write);
        * ``action``: a function run when the fault fires, before the request is answered:
          another actor's move at an exact point of the run (another evaluation writing a
          status while this one lists files), with no timing involved;
        * ``contains``: only requests whose body holds this text (one GraphQL query of
          several: ``inject_graphql``);
        * ``rewrite``: perform the request, then answer with ``rewrite(answer)`` (the parsed
          JSON answer, a copy the function may change in place and return): an answer that
          is wrong in one field.
        """
        fault = Fault(method.upper(), re.compile(path_regex), status, body, dict(headers or {}),
                      delay, times, then_process, dict(query) if query else None, skip, action,
                      contains, rewrite)
        with self._lock:
            self.faults.append(fault)
        return fault

    def inject_graphql(self, contains: str, *, rewrite: Callable[[Any], Any] | None = None,
                       status: int | None = None, body: bytes | None = None, times: int = 1,
                       action: Callable[[], None] | None = None, skip: int = 0) -> Fault:
        """A fault on the GraphQL queries that contain ``contains`` (see ``inject``)."""
        return self.inject("POST", GRAPHQL_PATH, status=status, body=body, times=times,
                           action=action, contains=contains, rewrite=rewrite, skip=skip)

    def inject_secondary_rate_limit(self, method: str, path_regex: str, *,
                                    retry_after: int = 60, times: int = 1) -> Fault:
        """403 with ``Retry-After`` and GitHub's secondary rate limit message."""
        body = {"message": SECONDARY_RATE_LIMIT_MESSAGE,
                "documentation_url": SECONDARY_RATE_LIMIT_DOCS}
        headers = {"Retry-After": str(retry_after), "X-RateLimit-Remaining": "4321"}
        return self.inject(method, path_regex, status=403, body=json.dumps(body).encode(),
                           headers=headers, times=times)

    def inject_timeout(self, method: str, path_regex: str, *, delay: float, times: int = 1,
                       action: Callable[[], None] | None = None) -> Fault:
        """Answer (normally) only after ``delay`` seconds: longer than the client's timeout. A
        delayed answer still waiting when the fake stops is never sent. ``action`` runs as the
        delay begins (a test knows the request is held)."""
        return self.inject(method, path_regex, delay=delay, times=times, action=action)

    def _take_fault(self, method: str, path: str, query: Mapping[str, str],
                    body: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path, query, body):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    # ---- inspection ------------------------------------------------------------------------

    @property
    def statuses(self) -> list[dict[str, Any]]:
        """Commit statuses in creation order: repo, sha, id, state, context, description, ..."""
        with self._lock:
            return [asdict(s) for s in self._status_log]

    @property
    def check_runs(self) -> list[dict[str, Any]]:
        """Check runs in creation order, in their current state (after PATCHes)."""
        with self._lock:
            return [asdict(c) for c in self._check_log]

    @property
    def comments(self) -> list[dict[str, Any]]:
        """Issue comments in creation order: repo, issue_number, id, body, user, ..."""
        with self._lock:
            return [asdict(c) for c in self._comment_log]

    @property
    def refs(self) -> dict[str, dict[str, str]]:
        """Repository full name -> full ref name -> sha (read from git for git repositories)."""
        with self._lock:
            return {repo.full_name: {name: sha for name, (sha, _) in repo.backend.refs().items()}
                    for repo in self.repos.values()}

    def calls(self, method: str | None = None,
              path_regex: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, filtered by method and a ``re.fullmatch`` on the path."""
        with self._lock:
            return [r for r in self.requests
                    if (method is None or r.method == method.upper())
                    and (path_regex is None or re.fullmatch(path_regex, r.path))]

    @property
    def writes(self) -> list[RecordedRequest]:
        return [r for r in self.calls() if r.method in ("POST", "PATCH", "PUT", "DELETE")]

    # ---- serving ---------------------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(handler.headers.get("Content-Length") or 0)
        raw_body = handler.rfile.read(length) if length else b""
        body: Any = None
        bad_json = False
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body, bad_json = raw_body.decode(errors="replace"), True
        auth = handler.headers.get("Authorization") or ""
        token = auth.split(None, 1)[1] if " " in auth else None
        request = Request(handler.command, unquote(split.path), split.path, query, body, token)
        record = RecordedRequest(request.method, request.path, query, body, dict(handler.headers))
        with self._lock:
            self.requests.append(record)

        fault = self._take_fault(request.method, request.path, query,
                                 raw_body.decode(errors="replace"))
        if fault is not None and fault.action is not None:
            fault.action()
        if fault and fault.delay and self._stopping.wait(fault.delay):
            handler.close_connection = True  # stopping: never answer
            return
        replaced = fault is not None and (fault.status is not None or fault.body is not None)
        if fault is None or fault.then_process or not replaced:
            if bad_json:
                response = self._error_response(ApiError(400, "Problems parsing JSON"))
            else:
                response = self._dispatch(request, record)
        if fault is not None:
            record.fault = True
            if fault.rewrite is not None and not replaced:
                response = Response(response.status,
                                    fault.rewrite(copy.deepcopy(response.body)), response.headers)
            if replaced or fault.then_process:
                status = fault.status or (500 if fault.then_process else 200)
                response = self._fault_response(fault, status)
            response.headers.update(fault.headers)
        self._send(handler, record, response)

    def _dispatch(self, request: Request, record: RecordedRequest) -> Response:
        if request.raw_path.startswith(STORAGE_PREFIX):  # where artifact downloads redirect
            return self._storage(request.raw_path)
        if request.raw_path == GRAPHQL_PATH and request.method == "POST":
            with self._lock:
                return self._graphql(request)
        for route in ROUTES:
            match = route.pattern.fullmatch(request.raw_path)
            if match is None:
                continue
            if route.method != request.method:
                continue
            record.route = route.template
            params = {k: unquote(v) for k, v in match.groupdict().items()}
            try:
                with self._lock:
                    result: Response = getattr(self, f"_h_{route.handler}")(request, **params)
                return result
            except ApiError as error:
                return self._error_response(error)
            except Exception:  # a bug in the fake: answer 500 and keep the trace for the test
                trace = traceback.format_exc()
                with self._lock:
                    self.server_errors.append(f"{request.method} {request.path}\n{trace}")
                return self._error_response(ApiError(500, f"fake GitHub error: {trace}"))
        return self._error_response(not_found())

    @staticmethod
    def _error_response(error: ApiError) -> Response:
        return Response(error.status, error.body(), error.headers)

    @staticmethod
    def _fault_response(fault: Fault, status: int) -> Response:
        """The injected body, else GitHub's JSON error for the status."""
        if fault.body is not None:
            return Response(status, fault.body)
        if status < 400:
            return Response(status, {})
        try:
            phrase = "Server Error" if status == 500 else HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return Response(status, ApiError(status, phrase).body())

    def _send(self, handler: _Handler, record: RecordedRequest, response: Response) -> None:
        if isinstance(response.body, bytes):
            payload = response.body
        elif response.body is None or response.status == 204:
            payload = b""
        else:
            payload = json.dumps(response.body).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Request-Id": f"FAKE:{len(self.requests):06d}",
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "4999",
            "X-RateLimit-Reset": "1893456000",
            "X-RateLimit-Used": "1",
            "X-RateLimit-Resource": "core",
            **response.headers,
            "Content-Length": str(len(payload)),
        }
        record.status = response.status
        record.response_body = payload
        record.response_headers = headers
        try:
            handler.send_response(response.status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            if payload and handler.command != "HEAD":
                handler.wfile.write(payload)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            handler.close_connection = True

    # ---- lookups ---------------------------------------------------------------------------

    def _repo_by_name(self, full_name: str) -> Repo:
        repo = self.repos.get(full_name.lower())
        if repo is None:
            raise KeyError(f"no repository {full_name!r}; call add_repo first")
        return repo

    def _repo(self, owner: str, repo: str) -> Repo:
        found = self.repos.get(f"{owner}/{repo}".lower())
        if found is None:
            raise not_found("https://docs.github.com/rest/repos/repos#get-a-repository")
        return found

    def _pull(self, repo: Repo, number: str) -> Pull:
        pull = repo.pulls.get(int(number)) if number.isdigit() else None
        if pull is None:
            raise not_found("https://docs.github.com/rest/pulls/pulls#get-a-pull-request")
        return pull

    def _team(self, ids: Mapping[str, str]) -> Team:
        """The team named by ``org`` + ``team_slug``, or by ``org_id`` + ``team_id`` (the form
        of the ``url`` GitHub puts in team objects, which PyGithub follows)."""
        if "team_id" in ids:
            org_user = next((u for u in self.users.values() if str(u.id) == ids["org_id"]), None)
            team = next((t for t in self.teams.values() if str(t.id) == ids["team_id"]
                         and org_user is not None and t.org.lower() == org_user.login.lower()),
                        None)
        else:
            team = self.teams.get((ids["org"].lower(), ids["team_slug"].lower()))
        if team is None:
            raise not_found("https://docs.github.com/rest/teams/teams#get-a-team-by-name")
        if not team.readable:
            raise ApiError(403, "Resource not accessible by integration",
                           docs="https://docs.github.com/rest/teams/teams")
        return team

    def _commit_sha(self, repo: Repo, ref: str) -> str:
        sha = repo.backend.resolve(ref)
        if sha is None:
            raise ApiError(422, f"No commit found for SHA: {ref}",
                           docs="https://docs.github.com/rest/commits/commits#get-a-commit")
        return sha

    def _caller(self, request: Request) -> str:
        return self.tokens.get(request.token or "", self.token_user)

    def _association(self, repo: Repo, login: str) -> str:
        if login.lower() == repo.owner.lower():
            return "OWNER"
        if login in repo.collaborators:
            return "COLLABORATOR"
        if any(team.org.lower() == repo.owner.lower() and team.members.get(login) == "active"
               for team in self.teams.values()):
            return "MEMBER"
        return "NONE"

    # ---- pagination ------------------------------------------------------------------------

    def _page(self, request: Request, items: Sequence[Any], *, status: int = 200,
              wrap: Callable[[list[Any]], Any] | None = None) -> Response:
        """One page of ``items`` with GitHub's ``Link`` header (prev, next, last, first)."""
        try:
            per_page = int(request.query.get("per_page", DEFAULT_PER_PAGE))
            per_page = min(max(per_page, 1), MAX_PER_PAGE)
            page = max(int(request.query.get("page", 1)), 1)
        except ValueError:
            per_page, page = DEFAULT_PER_PAGE, 1
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = list(items[(page - 1) * per_page : page * per_page])

        def url(number: int) -> str:
            query = {k: v for k, v in request.query.items() if k != "page"}
            query["page"] = str(number)
            return f"{self.base_url}{request.raw_path}?{urlencode(query)}"

        links = []
        if page > 1:
            links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
        if page < last:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        if page > 1:
            links.append(f'<{url(1)}>; rel="first"')
        headers = {"Link": ", ".join(links)} if links else {}
        return Response(status, wrap(chunk) if wrap else chunk, headers)

    # ---- URLs and JSON shapes --------------------------------------------------------------

    def _api(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _j_user(self, user: User) -> dict[str, Any]:
        login = quote(user.login)
        api = self._api(f"/users/{login}")
        html = (f"{WEB_URL}/apps/{user.login.removesuffix('[bot]')}" if user.type == "Bot"
                else f"{WEB_URL}/{user.login}")
        return {
            "login": user.login, "id": user.id, "node_id": node_id(user.type, user.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
            "gravatar_id": "", "url": api, "html_url": html,
            "followers_url": f"{api}/followers", "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions", "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos", "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events", "type": user.type,
            "user_view_type": "public", "site_admin": user.site_admin,
        }

    def _j_public_user(self, user: User) -> dict[str, Any]:
        return {
            **self._j_user(user), "name": user.name, "company": None, "blog": "",
            "location": None, "email": user.email, "hireable": None, "bio": None,
            "twitter_username": None, "public_repos": 0, "public_gists": 0, "followers": 0,
            "following": 0, "created_at": iso(_EPOCH), "updated_at": iso(_EPOCH),
        }

    def _j_org(self, org: User) -> dict[str, Any]:
        api = self._api(f"/orgs/{org.login}")
        return {
            "login": org.login, "id": org.id, "node_id": node_id("Organization", org.id),
            "url": api, "repos_url": f"{api}/repos", "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks", "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{org.id}?v=4",
            "description": None, "name": org.name or org.login, "twitter_username": None,
            "is_verified": False,
            "has_organization_projects": True, "has_repository_projects": True,
            "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
            "html_url": f"{WEB_URL}/{org.login}", "created_at": iso(_EPOCH),
            "updated_at": iso(_EPOCH), "archived_at": None, "type": "Organization",
        }

    def _team_url(self, team: Team) -> str:
        return self._api(f"/organizations/{self._org(team.org).id}/team/{team.id}")

    def _j_team(self, team: Team) -> dict[str, Any]:
        api = self._team_url(team)
        return {
            "id": team.id, "node_id": node_id("Team", team.id), "url": api,
            "html_url": f"{WEB_URL}/orgs/{team.org}/teams/{team.slug}", "name": team.name,
            "slug": team.slug, "description": team.description, "privacy": "closed",
            "notification_setting": "notifications_enabled", "permission": "pull",
            "members_url": f"{api}/members{{/member}}", "repositories_url": f"{api}/repos",
            "parent": None, "type": "organization",
        }

    def _j_repo(self, repo: Repo, *, full: bool = False) -> dict[str, Any]:
        api = self._api(f"/repos/{repo.full_name}")
        owner = self.users[repo.owner.lower()]
        templated = {
            "archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
            "blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
            "collaborators_url": "/collaborators{/collaborator}",
            "comments_url": "/comments{/number}", "commits_url": "/commits{/sha}",
            "compare_url": "/compare/{base}...{head}", "contents_url": "/contents/{+path}",
            "contributors_url": "/contributors", "deployments_url": "/deployments",
            "downloads_url": "/downloads", "events_url": "/events", "forks_url": "/forks",
            "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}",
            "git_tags_url": "/git/tags{/sha}", "issue_comment_url": "/issues/comments{/number}",
            "issue_events_url": "/issues/events{/number}", "issues_url": "/issues{/number}",
            "keys_url": "/keys{/key_id}", "labels_url": "/labels{/name}",
            "languages_url": "/languages", "merges_url": "/merges",
            "milestones_url": "/milestones{/number}",
            "notifications_url": "/notifications{?since,all,participating}",
            "pulls_url": "/pulls{/number}", "releases_url": "/releases{/id}",
            "stargazers_url": "/stargazers", "statuses_url": "/statuses/{sha}",
            "subscribers_url": "/subscribers", "subscription_url": "/subscription",
            "tags_url": "/tags", "teams_url": "/teams", "trees_url": "/git/trees{/sha}",
            "hooks_url": "/hooks",
        }
        out: dict[str, Any] = {
            "id": repo.id, "node_id": node_id("Repository", repo.id), "name": repo.name,
            "full_name": repo.full_name, "owner": self._j_user(owner), "private": repo.private,
            "html_url": f"{WEB_URL}/{repo.full_name}", "description": None, "fork": False,
            "url": api, **{key: api + suffix for key, suffix in templated.items()},
            "git_url": f"git://github.com/{repo.full_name}.git",
            "ssh_url": f"git@github.com:{repo.full_name}.git",
            "clone_url": f"{WEB_URL}/{repo.full_name}.git",
            "svn_url": f"{WEB_URL}/{repo.full_name}", "mirror_url": None, "homepage": None,
            "language": None, "forks_count": 0, "stargazers_count": 0, "watchers_count": 0,
            "size": 0, "default_branch": repo.default_branch, "open_issues_count": 0,
            "is_template": False, "topics": [], "has_issues": True, "has_projects": True,
            "has_wiki": True, "has_pages": False, "has_downloads": True,
            "has_discussions": False, "archived": False, "disabled": False,
            "visibility": "private" if repo.private else "public",
            "pushed_at": iso(_EPOCH), "created_at": iso(_EPOCH), "updated_at": iso(_EPOCH),
            "permissions": {"admin": False, "maintain": False, "push": True, "triage": True,
                            "pull": True},
            "allow_forking": True, "web_commit_signoff_required": False, "license": None,
            "forks": 0, "open_issues": 0, "watchers": 0,
        }
        if full:
            out |= {
                "allow_rebase_merge": repo.allow_rebase_merge, "allow_squash_merge": True,
                "allow_merge_commit": True,
                "allow_auto_merge": False, "delete_branch_on_merge": False,
                "temp_clone_token": None, "subscribers_count": 0, "network_count": 0,
            }
            if owner.type == "Organization":
                out["organization"] = self._j_user(owner)
        return out

    def _j_label(self, repo: Repo, name: str) -> dict[str, Any]:
        number = int(fake_sha(repo.full_name, name)[:8], 16)
        return {"id": number, "node_id": node_id("Label", number),
                "url": self._api(f"/repos/{repo.full_name}/labels/{quote(name)}"), "name": name,
                "description": "", "color": "ededed", "default": False}

    def _j_team_ref(self, repo: Repo, name: str) -> dict[str, Any]:
        org, _, slug = name.rpartition("/")
        team = self.teams.get(((org or repo.owner).lower(), slug.lower()))
        if team is None:
            team = Team(org or repo.owner, slug, int(fake_sha(name)[:6], 16), slug, {})
        return self._j_team(team)

    def _pull_files(self, repo: Repo, pull: Pull) -> list[FileChange]:
        if pull.files is not None:
            return pull.files
        backend = repo.backend
        base = backend.merge_base(pull.base_sha, pull.head_sha) or pull.base_sha
        return backend.diff(base, pull.head_sha)

    def _pull_commits(self, repo: Repo, pull: Pull) -> list[CommitInfo]:
        backend = repo.backend
        if pull.commits is not None:
            return [info or _stub_commit(sha)
                    for sha, info in zip(pull.commits, backend.commits_of(pull.commits), strict=True)]
        return backend.log(pull.head_sha, pull.base_sha, reverse=True)

    def _j_pull(self, repo: Repo, pull: Pull, *, full: bool = True) -> dict[str, Any]:
        api = self._api(f"/repos/{repo.full_name}")
        html = f"{WEB_URL}/{repo.full_name}/pull/{pull.number}"
        head_repo = self.repos.get(pull.head_repo.lower(), repo)
        author = self._j_user(self._user(pull.user))

        def side(ref: str, sha: str, side_repo: Repo) -> dict[str, Any]:
            owner = self.users[side_repo.owner.lower()]
            return {"label": f"{side_repo.owner}:{ref}", "ref": ref, "sha": sha,
                    "user": self._j_user(owner), "repo": self._j_repo(side_repo)}

        out: dict[str, Any] = {
            "url": f"{api}/pulls/{pull.number}", "id": pull.id,
            "node_id": node_id("PullRequest", pull.id), "html_url": html,
            "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
            "issue_url": f"{api}/issues/{pull.number}",
            "commits_url": f"{api}/pulls/{pull.number}/commits",
            "review_comments_url": f"{api}/pulls/{pull.number}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{api}/issues/{pull.number}/comments",
            "statuses_url": f"{api}/statuses/{pull.head_sha}", "number": pull.number,
            "state": pull.state, "locked": False, "title": pull.title, "user": author,
            "body": pull.body, "labels": [self._j_label(repo, name) for name in pull.labels],
            "milestone": None, "active_lock_reason": None, "created_at": pull.created_at,
            "updated_at": pull.updated_at, "closed_at": pull.closed_at,
            "merged_at": pull.merged_at, "merge_commit_sha": pull.merge_commit_sha,
            "assignee": None, "assignees": [],
            "requested_reviewers": [self._j_user(self._user(u)) for u in pull.requested_reviewers],
            "requested_teams": [self._j_team_ref(repo, t) for t in pull.requested_teams],
            "head": side(pull.head_ref, pull.head_sha, head_repo),
            "base": side(pull.base_ref, pull.base_sha, repo),
            "_links": {name: {"href": href} for name, href in [
                ("self", f"{api}/pulls/{pull.number}"), ("html", html),
                ("issue", f"{api}/issues/{pull.number}"),
                ("comments", f"{api}/issues/{pull.number}/comments"),
                ("review_comments", f"{api}/pulls/{pull.number}/comments"),
                ("review_comment", f"{api}/pulls/comments{{/number}}"),
                ("commits", f"{api}/pulls/{pull.number}/commits"),
                ("statuses", f"{api}/statuses/{pull.head_sha}")]},
            "author_association": self._association(repo, pull.user), "auto_merge": None,
            "draft": pull.draft,
        }
        if full:
            files = self._pull_files(repo, pull)
            changed = pull.changed_files if pull.changed_files is not None else len(files)
            comments = sum(1 for c in self._comment_log
                           if c.repo == repo.full_name and c.issue_number == pull.number)
            merged_by = self._j_user(self._user(pull.merged_by)) if pull.merged_by else None
            out |= {
                "merged": pull.merged, "mergeable": None if pull.merged else True,
                "rebaseable": None if pull.merged else True,
                "mergeable_state": "unknown" if pull.merged else "clean",
                "merged_by": merged_by, "comments": comments, "review_comments": 0,
                "maintainer_can_modify": False,
                "commits": len(self._pull_commits(repo, pull)),
                "additions": sum(f.additions for f in files),
                "deletions": sum(f.deletions for f in files),
                "changed_files": changed,
            }
        return out

    def _j_file(self, repo: Repo, ref: str, change: FileChange) -> dict[str, Any]:
        path = quote(change.filename)
        out: dict[str, Any] = {
            "sha": change.sha, "filename": change.filename, "status": change.status,
            "additions": change.additions, "deletions": change.deletions,
            "changes": change.changes,
            "blob_url": f"{WEB_URL}/{repo.full_name}/blob/{ref}/{path}",
            "raw_url": f"{WEB_URL}/{repo.full_name}/raw/{ref}/{path}",
            "contents_url": self._api(f"/repos/{repo.full_name}/contents/{path}?ref={ref}"),
        }
        if change.previous_filename is not None:
            out["previous_filename"] = change.previous_filename
        if change.patch is not None:
            out["patch"] = change.patch
        return out

    def _j_review(self, repo: Repo, pull: Pull, review: Review) -> dict[str, Any]:
        html = f"{WEB_URL}/{repo.full_name}/pull/{pull.number}#pullrequestreview-{review.id}"
        pull_url = self._api(f"/repos/{repo.full_name}/pulls/{pull.number}")
        out: dict[str, Any] = {
            "id": review.id, "node_id": node_id("PullRequestReview", review.id),
            "user": self._j_user(self._user(review.user)), "body": review.body,
            "state": review.state, "html_url": html, "pull_request_url": pull_url,
            "author_association": review.author_association,
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
            "commit_id": review.commit_id,
        }
        if review.submitted_at is not None:
            out["submitted_at"] = review.submitted_at
        return out

    def _git_user(self, email: str) -> dict[str, Any] | None:
        user = next((u for u in self.users.values() if u.email and u.email == email), None)
        return self._j_user(user) if user else None

    def _j_commit(self, repo: Repo, info: CommitInfo, *,
                  with_files: bool = False) -> dict[str, Any]:
        api = self._api(f"/repos/{repo.full_name}")
        out: dict[str, Any] = {
            "url": f"{api}/commits/{info.sha}", "sha": info.sha,
            "node_id": node_id("Commit", int(info.sha[:8], 16)),
            "html_url": f"{WEB_URL}/{repo.full_name}/commit/{info.sha}",
            "comments_url": f"{api}/commits/{info.sha}/comments",
            "commit": {
                "url": f"{api}/git/commits/{info.sha}",
                "author": {"name": info.author_name, "email": info.author_email,
                           "date": info.author_date},
                "committer": {"name": info.committer_name, "email": info.committer_email,
                              "date": info.committer_date},
                "message": info.message, "comment_count": 0,
                "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
                "verification": {"verified": False, "reason": "unsigned", "payload": None,
                                 "signature": None, "verified_at": None},
            },
            "author": self._git_user(info.author_email),
            "committer": self._git_user(info.committer_email),
            "parents": [{"sha": p, "url": f"{api}/commits/{p}",
                         "html_url": f"{WEB_URL}/{repo.full_name}/commit/{p}"}
                        for p in info.parents],
        }
        if with_files:
            files = repo.backend.diff(info.parents[0] if info.parents else None, info.sha)
            additions = sum(f.additions for f in files)
            deletions = sum(f.deletions for f in files)
            out["stats"] = {"additions": additions, "deletions": deletions,
                            "total": additions + deletions}
            out["files"] = [self._j_file(repo, info.sha, f) for f in files]
        return out

    def _j_comment(self, repo: Repo, comment: Comment) -> dict[str, Any]:
        api = self._api(f"/repos/{repo.full_name}")
        kind = "pull" if comment.issue_number in repo.pulls else "issues"
        reactions = {k: 0 for k in ("total_count", "+1", "-1", "laugh", "confused", "heart",
                                    "hooray", "eyes", "rocket")}
        return {
            "id": comment.id, "node_id": node_id("IssueComment", comment.id),
            "url": f"{api}/issues/comments/{comment.id}",
            "html_url": f"{WEB_URL}/{repo.full_name}/{kind}/{comment.issue_number}"
                        f"#issuecomment-{comment.id}",
            "body": comment.body, "user": self._j_user(self._user(comment.user)),
            "created_at": comment.created_at, "updated_at": comment.updated_at,
            "issue_url": f"{api}/issues/{comment.issue_number}",
            "author_association": self._association(repo, comment.user),
            "performed_via_github_app": None,
            "reactions": {"url": f"{api}/issues/comments/{comment.id}/reactions", **reactions},
        }

    def _j_status(self, repo: Repo, status: Status, *, simple: bool = False) -> dict[str, Any]:
        creator = self._user(status.creator)
        out: dict[str, Any] = {
            "url": self._api(f"/repos/{repo.full_name}/statuses/{status.sha}"),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{creator.id}?v=4",
            "id": status.id, "node_id": node_id("StatusContext", status.id),
            "state": status.state, "description": status.description,
            "target_url": status.target_url, "context": status.context,
            "created_at": status.created_at, "updated_at": status.created_at,
        }
        if not simple:
            out["creator"] = self._j_user(creator)
        return out

    def _j_app(self) -> dict[str, Any]:
        github = User("github", 9919, "Organization")
        return {
            "id": 15368, "slug": "github-actions", "node_id": "MDM6QXBwMTUzNjg=",
            "owner": self._j_user(github), "name": "GitHub Actions",
            "description": "Automate your workflow from idea to production",
            "external_url": "https://help.github.com/en/actions",
            "html_url": f"{WEB_URL}/apps/github-actions", "created_at": "2018-07-30T09:30:17Z",
            "updated_at": "2024-04-10T20:33:16Z",
            "permissions": {"checks": "write", "contents": "write", "metadata": "read",
                            "issues": "write"},
            "events": ["check_run", "check_suite", "pull_request", "push"],
        }

    def _j_check_run(self, repo: Repo, run: CheckRun) -> dict[str, Any]:
        api = self._api(f"/repos/{repo.full_name}")
        pulls = [p for p in repo.pulls.values() if p.head_sha == run.head_sha and p.state == "open"]

        def minimal(pull: Pull) -> dict[str, Any]:
            side_repo = {"id": repo.id, "url": api, "name": repo.name}
            return {"id": pull.id, "number": pull.number, "url": f"{api}/pulls/{pull.number}",
                    "head": {"ref": pull.head_ref, "sha": pull.head_sha, "repo": side_repo},
                    "base": {"ref": pull.base_ref, "sha": pull.base_sha, "repo": side_repo}}

        return {
            "id": run.id, "head_sha": run.head_sha, "node_id": node_id("CheckRun", run.id),
            "external_id": run.external_id, "url": f"{api}/check-runs/{run.id}",
            "html_url": f"{WEB_URL}/{repo.full_name}/runs/{run.id}",
            "details_url": run.details_url, "status": run.status, "conclusion": run.conclusion,
            "started_at": run.started_at, "completed_at": run.completed_at,
            "output": {"title": run.output.get("title"), "summary": run.output.get("summary"),
                       "text": run.output.get("text"), "annotations_count": 0,
                       "annotations_url": f"{api}/check-runs/{run.id}/annotations"},
            "name": run.name, "check_suite": {"id": run.id + 100000}, "app": self._j_app(),
            "pull_requests": [minimal(p) for p in pulls],
        }

    def _j_ref(self, repo: Repo, name: str, sha: str, kind: str) -> dict[str, Any]:
        api = self._api(f"/repos/{repo.full_name}/git")
        objects = "tags" if kind == "tag" else "commits"
        return {"ref": name, "node_id": node_id("Ref", int(fake_sha(repo.full_name, name)[:8], 16)),
                "url": f"{api}/{quote(name)}",
                "object": {"type": kind, "sha": sha, "url": f"{api}/{objects}/{sha}"}}

    # ---- handlers: users, orgs, teams ------------------------------------------------------

    def _h_get_authenticated_user(self, request: Request) -> Response:
        docs = "https://docs.github.com/rest/users/users#get-the-authenticated-user"
        if request.token is None:
            raise ApiError(401, "Requires authentication", docs=docs)
        user = self._user(self._caller(request))
        if user.type == "Bot":  # installation tokens cannot read /user
            raise ApiError(403, "Resource not accessible by integration", docs=docs)
        private = {"user_view_type": "private", "private_gists": 0, "total_private_repos": 0,
                   "owned_private_repos": 0, "disk_usage": 0, "collaborators": 0,
                   "two_factor_authentication": True}
        return Response(200, self._j_public_user(user) | private)

    def _h_get_user(self, request: Request, username: str) -> Response:
        user = self.users.get(username.lower())
        if user is None:
            raise not_found("https://docs.github.com/rest/users/users#get-a-user")
        return Response(200, self._j_public_user(user))

    def _h_get_org(self, request: Request, org: str) -> Response:
        user = self.users.get(org.lower())
        if user is None or user.type != "Organization":
            raise not_found("https://docs.github.com/rest/orgs/orgs#get-an-organization")
        return Response(200, self._j_org(user))

    def _h_get_team(self, request: Request, **ids: str) -> Response:
        team = self._team(ids)
        active = [m for m, s in team.members.items() if s == "active"]
        return Response(200, self._j_team(team) | {
            "members_count": len(active), "repos_count": 0, "created_at": iso(_EPOCH),
            "updated_at": iso(_EPOCH), "organization": self._j_org(self._org(team.org)),
        })

    def _h_list_team_members(self, request: Request, **ids: str) -> Response:
        team = self._team(ids)
        role = request.query.get("role", "all")
        logins = [login for login, state in team.members.items() if state == "active"
                  and (role == "all" or (login in team.maintainers) == (role == "maintainer"))]
        return self._page(request, [self._j_user(self._user(login)) for login in logins])

    def _h_get_team_membership(self, request: Request, username: str, **ids: str) -> Response:
        team = self._team(ids)
        state = next((s for login, s in team.members.items()
                      if login.lower() == username.lower()), None)
        if state is None:
            raise not_found(
                "https://docs.github.com/rest/teams/members#get-team-membership-for-a-user"
            )
        url = f"{self._team_url(team)}/memberships/{username}"
        role = "maintainer" if username in team.maintainers else "member"
        return Response(200, {"url": url, "role": role, "state": state})

    # ---- handlers: repositories, pulls -----------------------------------------------------

    def _h_get_repo(self, request: Request, owner: str, repo: str) -> Response:
        return Response(200, self._j_repo(self._repo(owner, repo), full=True))

    def _h_get_permission(self, request: Request, owner: str, repo: str, username: str) -> Response:
        found = self._repo(owner, repo)
        user = self.users.get(username.lower())
        if user is None or user.type == "Organization":
            raise not_found("https://docs.github.com/rest/collaborators/collaborators")
        role = found.collaborators.get(user.login, "none")
        if user.login.lower() == found.owner.lower():
            role = "admin"
        permission = {"maintain": "write", "triage": "read"}.get(role, role)
        flags = {"admin": role == "admin", "maintain": role in ("admin", "maintain"),
                 "push": permission in ("admin", "write"), "triage": role != "none",
                 "pull": role != "none"}
        collaborator = self._j_user(user) | {"permissions": flags, "role_name": role}
        return Response(200, {"permission": permission, "role_name": role, "user": collaborator})

    def _h_list_pulls(self, request: Request, owner: str, repo: str) -> Response:
        found = self._repo(owner, repo)
        state = request.query.get("state", "open")
        head, base = request.query.get("head"), request.query.get("base")
        pulls = []
        for pull in found.pulls.values():
            head_owner = pull.head_repo.partition("/")[0]
            if state != "all" and pull.state != state:
                continue
            if head and head not in (f"{head_owner}:{pull.head_ref}", pull.head_ref):
                continue
            if base and pull.base_ref != base:
                continue
            pulls.append(pull)
        descending = request.query.get("direction", "desc") == "desc"
        pulls.sort(key=lambda p: (p.created_at, p.number), reverse=descending)
        return self._page(request, [self._j_pull(found, p, full=False) for p in pulls])

    def _h_create_pull(self, request: Request, owner: str, repo: str) -> Response:
        found = self._repo(owner, repo)
        title, head, base = request.param("title"), request.param("head"), request.param("base")
        for name, value in (("head", head), ("base", base)):
            if not isinstance(value, str) or not value:
                raise validation_failed("PullRequest", name, "missing_field", "")
        if not isinstance(title, str) or not title:
            raise validation_failed("PullRequest", "title", "missing_field", "")
        head_owner, _, head_ref = head.rpartition(":")
        head_owner = head_owner or found.owner
        backend = found.backend
        head_sha = backend.resolve(f"refs/heads/{head_ref}")
        base_sha = backend.resolve(f"refs/heads/{base}")
        if head_sha is None:
            raise validation_failed("PullRequest", "head", "invalid", "")
        if base_sha is None:
            raise validation_failed("PullRequest", "base", "invalid", "")
        for pull in found.pulls.values():
            if pull.state == "open" and pull.head_ref == head_ref and pull.base_ref == base:
                message = f"A pull request already exists for {head_owner}:{head_ref}."
                raise validation_failed("PullRequest", None, "custom", message)
        if head_sha == base_sha or backend.is_ancestor(head_sha, base_sha):
            raise validation_failed("PullRequest", None, "custom",
                                    f"No commits between {base} and {head_ref}")
        number = max([*found.pulls, 0]) + 1
        body = request.param("body")
        self.add_pull(found.full_name, number, user=self._caller(request), base_ref=base,
                      base_sha=base_sha, head_ref=head_ref, head_sha=head_sha, title=title,
                      body=body, draft=bool(request.param("draft", False)))
        pull_json = self._j_pull(found, found.pulls[number])
        self.created_pulls.append({"repo": found.full_name, "number": number, "title": title,
                                   "body": body, "head": head_ref, "base": base,
                                   "draft": bool(request.param("draft", False))})
        return Response(201, pull_json, {"Location": pull_json["url"]})

    def _h_get_pull(self, request: Request, owner: str, repo: str, pull_number: str) -> Response:
        found = self._repo(owner, repo)
        return Response(200, self._j_pull(found, self._pull(found, pull_number)))

    def _h_list_pull_files(self, request: Request, owner: str, repo: str,
                           pull_number: str) -> Response:
        found = self._repo(owner, repo)
        pull = self._pull(found, pull_number)
        files = self._pull_files(found, pull)[:MAX_PR_FILES]
        return self._page(request, [self._j_file(found, pull.head_sha, f) for f in files])

    def _h_list_reviews(self, request: Request, owner: str, repo: str,
                        pull_number: str) -> Response:
        found = self._repo(owner, repo)
        pull = self._pull(found, pull_number)
        return self._page(request, [self._j_review(found, pull, r) for r in pull.reviews])

    def _h_list_pull_commits(self, request: Request, owner: str, repo: str,
                             pull_number: str) -> Response:
        found = self._repo(owner, repo)
        commits = self._pull_commits(found, self._pull(found, pull_number))[:MAX_PR_COMMITS]
        return self._page(request, [self._j_commit(found, c) for c in commits])

    def _h_get_review_requests(self, request: Request, owner: str, repo: str,
                               pull_number: str) -> Response:
        found = self._repo(owner, repo)
        pull = self._pull(found, pull_number)
        teams = [self._j_team_ref(found, t) for t in pull.requested_teams]
        users = [self._j_user(self._user(u)) for u in pull.requested_reviewers]
        return Response(200, {"users": users, "teams": teams})

    def _h_request_reviewers(self, request: Request, owner: str, repo: str,
                             pull_number: str) -> Response:
        found = self._repo(owner, repo)
        pull = self._pull(found, pull_number)
        reviewers = list(request.param("reviewers") or [])
        teams = list(request.param("team_reviewers") or [])
        if pull.user in reviewers:
            raise ApiError(422, "Review cannot be requested from pull request author.")
        unknown = [u for u in reviewers if u.lower() not in self.users]
        unknown += [t for t in teams if (found.owner.lower(), t.lower()) not in self.teams]
        if unknown:
            raise ApiError(422, "Reviews may only be requested from collaborators. One or more of "
                                "the users or teams you specified is not a collaborator of the "
                                f"{found.full_name} repository.")
        pull.requested_reviewers += [u for u in reviewers if u not in pull.requested_reviewers]
        pull.requested_teams += [t for t in teams if t not in pull.requested_teams]
        self.review_requests.append({"repo": found.full_name, "pull_number": pull.number,
                                     "reviewers": reviewers, "team_reviewers": teams})
        return Response(201, self._j_pull(found, pull, full=False))

    # ---- handlers: issue comments, labels --------------------------------------------------

    def _issue(self, repo: Repo, number: str) -> int:
        if not number.isdigit() or int(number) not in repo.pulls:
            raise not_found("https://docs.github.com/rest/issues/comments")
        return int(number)

    def _new_comment(self, repo: Repo, number: int, user: str, body: str) -> Comment:
        now = self.now()
        comment = Comment(repo.full_name, number, self._next_id("comment"), body, user, now, now)
        self._comment_log.append(comment)
        return comment

    def _h_list_comments(self, request: Request, owner: str, repo: str,
                         issue_number: str) -> Response:
        found = self._repo(owner, repo)
        number = self._issue(found, issue_number)
        comments = [self._j_comment(found, c) for c in self._comment_log
                    if c.repo == found.full_name and c.issue_number == number]
        return self._page(request, comments)

    def _h_create_comment(self, request: Request, owner: str, repo: str,
                          issue_number: str) -> Response:
        found = self._repo(owner, repo)
        number = self._issue(found, issue_number)
        body = request.param("body")
        if not isinstance(body, str) or not body:
            raise validation_failed("IssueComment", "body", "missing_field", "")
        if len(body) > 65536:
            raise validation_failed("IssueComment", "body", "custom",
                                    "Body is too long (maximum is 65536 characters)")
        comment = self._new_comment(found, number, self._caller(request), body)
        out = self._j_comment(found, comment)
        return Response(201, out, {"Location": out["url"]})

    def _h_update_comment(self, request: Request, owner: str, repo: str,
                          comment_id: str) -> Response:
        found = self._repo(owner, repo)
        comment = next((c for c in self._comment_log
                        if c.repo == found.full_name and str(c.id) == comment_id), None)
        if comment is None:
            raise not_found("https://docs.github.com/rest/issues/comments#update-an-issue-comment")
        body = request.param("body")
        if not isinstance(body, str) or not body:
            raise validation_failed("IssueComment", "body", "missing_field", "")
        comment.body, comment.updated_at = body, self.now()
        return Response(200, self._j_comment(found, comment))

    def _h_list_labels(self, request: Request, owner: str, repo: str,
                       issue_number: str) -> Response:
        found = self._repo(owner, repo)
        pull = found.pulls[self._issue(found, issue_number)]
        return self._page(request, [self._j_label(found, name) for name in pull.labels])

    # ---- handlers: statuses, check runs ----------------------------------------------------

    def _h_create_status(self, request: Request, owner: str, repo: str, sha: str) -> Response:
        found = self._repo(owner, repo)
        if not _HEX40.fullmatch(sha) or not found.backend.has_object(sha):
            raise ApiError(422, f"No commit found for SHA: {sha}",
                           docs="https://docs.github.com/rest/commits/statuses")
        state = request.param("state")
        if state not in STATUS_STATES:
            raise validation_failed("Status", "state", "custom",
                                    "State is not included in the list")
        description = request.param("description")
        if isinstance(description, str) and len(description) > 140:
            raise validation_failed("Status", "description", "custom",
                                    "description is too long (maximum is 140 characters)")
        status = Status(found.full_name, sha, self._next_id("status"), state,
                        request.param("context") or "default", description,
                        request.param("target_url"), self._caller(request), self.now())
        self._status_log.append(status)
        body = self._j_status(found, status)
        return Response(201, body, {"Location": body["url"]})

    def _statuses_for(self, repo: Repo, ref: str) -> tuple[str, list[Status]]:
        sha = self._commit_sha(repo, ref)
        found = [s for s in self._status_log if s.repo == repo.full_name and s.sha == sha]
        return sha, sorted(found, key=lambda s: s.id, reverse=True)  # newest first

    def _h_list_statuses(self, request: Request, owner: str, repo: str, ref: str) -> Response:
        found = self._repo(owner, repo)
        _, statuses = self._statuses_for(found, ref)
        return self._page(request, [self._j_status(found, s) for s in statuses])

    def _h_get_combined_status(self, request: Request, owner: str, repo: str, ref: str) -> Response:
        found = self._repo(owner, repo)
        if found.backend.resolve(ref) is None:
            raise not_found("https://docs.github.com/rest/commits/statuses")
        sha, statuses = self._statuses_for(found, ref)
        latest: dict[str, Status] = {}
        for status in statuses:
            latest.setdefault(status.context, status)
        states = {s.state for s in latest.values()}
        if states & {"error", "failure"}:
            combined = "failure"
        elif not states or "pending" in states:
            combined = "pending"
        else:
            combined = "success"
        api = self._api(f"/repos/{found.full_name}/commits/{sha}")
        return Response(200, {
            "state": combined, "sha": sha, "total_count": len(latest),
            "statuses": [self._j_status(found, s, simple=True) for s in latest.values()],
            "repository": self._j_repo(found), "commit_url": api, "url": f"{api}/status",
        })

    def _check_fields(self, request: Request, run: CheckRun) -> None:
        """Apply the writable fields of a create/update body to ``run`` (GitHub's validations)."""
        status = request.param("status", run.status)
        conclusion = request.param("conclusion", run.conclusion)
        if status not in CHECK_STATUSES:
            raise validation_failed("CheckRun", "status", "invalid", "")
        if conclusion is not None and conclusion not in CHECK_CONCLUSIONS:
            raise validation_failed("CheckRun", "conclusion", "invalid", "")
        if "conclusion" in (request.body or {}) and conclusion is not None:
            status = "completed"
        if status == "completed" and conclusion is None:
            raise validation_failed("CheckRun", "conclusion", "missing_field",
                                    "conclusion is required when status is completed")
        output = request.param("output")
        if output is not None:
            if not isinstance(output, dict) or not output.get("title") or not output.get("summary"):
                raise validation_failed("CheckRun", "output", "missing_field",
                                        "output requires title and summary")
            if len(output.get("summary", "")) > 65535 or len(output.get("text") or "") > 65535:
                raise validation_failed("CheckRun", "output", "custom",
                                        "Only 65535 characters are allowed")
            run.output = {k: output.get(k) for k in ("title", "summary", "text")}
        run.name = request.param("name", run.name)
        run.details_url = request.param("details_url", run.details_url)
        run.external_id = request.param("external_id", run.external_id)
        run.status, run.conclusion = status, conclusion
        if status != "queued" and run.started_at is None:
            run.started_at = request.param("started_at") or self.now()
        if status == "completed" and run.completed_at is None:
            run.completed_at = request.param("completed_at") or self.now()

    def _h_create_check_run(self, request: Request, owner: str, repo: str) -> Response:
        found = self._repo(owner, repo)
        name, head_sha = request.param("name"), request.param("head_sha")
        if not name or not isinstance(head_sha, str):
            missing = "name" if not name else "head_sha"
            raise validation_failed("CheckRun", missing, "missing_field", "")
        if not found.backend.has_object(head_sha):
            raise ApiError(422, f"No commit found for SHA: {head_sha}")
        run = CheckRun(found.full_name, self._next_id("check"), name, head_sha, "queued", None,
                       {}, None, None, None, None)
        self._check_fields(request, run)
        self._check_log.append(run)
        body = self._j_check_run(found, run)
        return Response(201, body, {"Location": body["url"]})

    def _run(self, repo: Repo, check_run_id: str) -> CheckRun:
        run = next((c for c in self._check_log
                    if c.repo == repo.full_name and str(c.id) == check_run_id), None)
        if run is None:
            raise not_found("https://docs.github.com/rest/checks/runs")
        return run

    def _h_get_check_run(self, request: Request, owner: str, repo: str,
                         check_run_id: str) -> Response:
        found = self._repo(owner, repo)
        return Response(200, self._j_check_run(found, self._run(found, check_run_id)))

    def _h_update_check_run(self, request: Request, owner: str, repo: str,
                            check_run_id: str) -> Response:
        found = self._repo(owner, repo)
        run = self._run(found, check_run_id)
        self._check_fields(request, run)
        return Response(200, self._j_check_run(found, run))

    def _j_artifact(self, repo: Repo, artifact: ArtifactFile) -> dict[str, Any]:
        api = f"{self.base_url}/repos/{repo.full_name}/actions/artifacts/{artifact.id}"
        return {
            "id": artifact.id, "node_id": node_id("MDg6QXJ0aWZhY3Q", artifact.id),
            "name": artifact.name, "size_in_bytes": len(artifact.data), "url": api,
            "archive_download_url": f"{api}/zip", "expired": artifact.expired,
            "created_at": artifact.created_at, "expires_at": artifact.created_at,
            "updated_at": artifact.created_at,
            "digest": "sha256:" + hashlib.sha256(artifact.data).hexdigest(),
            "workflow_run": {"id": artifact.run_id, "repository_id": repo.id,
                             "head_repository_id": repo.id, "head_branch": artifact.head_branch,
                             "head_sha": artifact.head_sha},
        }

    def _h_get_repo_installation(self, request: Request, owner: str, repo: str) -> Response:
        found = self._repo(owner, repo)
        account = self._user(found.owner)
        created = iso(_EPOCH)
        return Response(200, {
            "id": self.installation_id, "account": self._j_user(account),
            "repository_selection": "selected",
            "access_tokens_url":
                f"{self.base_url}/app/installations/{self.installation_id}/access_tokens",
            "repositories_url": f"{self.base_url}/installation/repositories",
            "html_url": f"{WEB_URL}/organizations/{found.owner}/settings/installations/"
                        f"{self.installation_id}",
            "app_id": self.app_id, "target_id": account.id, "target_type": account.type,
            "permissions": self.installation_permissions, "events": [], "created_at": created,
            "updated_at": created, "single_file_name": None, "app_slug": self.app_slug,
            "suspended_by": None, "suspended_at": None,
        })

    def _h_create_installation_token(self, request: Request, installation_id: str) -> Response:
        """Any bearer (the App's JWT) gets a token; the token then acts as the App's bot."""
        if str(self.installation_id) != installation_id:
            raise not_found("https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app")
        token = f"ghs_fake{installation_id}x{len(self.installation_tokens) + 1}"
        self.installation_tokens.append(token)
        self.tokens[token] = f"{self.app_slug}[bot]"
        self._user(f"{self.app_slug}[bot]")
        expires = iso(self._clock() + timedelta(hours=1))
        return Response(201, {"token": token, "expires_at": expires,
                              "permissions": self.installation_permissions,
                              "repository_selection": "selected"})

    def _h_list_artifacts(self, request: Request, owner: str, repo: str) -> Response:
        found = self._repo(owner, repo)
        items = [a for a in self.artifacts if a.repo == found.full_name
                 and request.query.get("name", a.name) == a.name]
        items.sort(key=lambda a: a.id, reverse=True)  # newest first, like GitHub
        total = len(items)
        return self._page(request, [self._j_artifact(found, a) for a in items],
                          wrap=lambda chunk: {"total_count": total, "artifacts": chunk})

    def _workflow_run(self, repo: Repo, run_id: str) -> WorkflowRun:
        run = self.workflow_runs.get(int(run_id)) if run_id.isdigit() else None
        if run is None or run.repo != repo.full_name:
            raise not_found("https://docs.github.com/rest/actions/workflow-runs#get-a-workflow-run")
        return run

    def _j_workflow_run(self, repo: Repo, run: WorkflowRun) -> dict[str, Any]:
        api = self._api(f"/repos/{repo.full_name}/actions/runs/{run.id}")
        workflow_id = int(fake_sha(repo.full_name, run.path)[:6], 16)
        info = repo.backend.commit(run.head_sha)
        head_commit = None
        if info is not None:
            head_commit = {"id": info.sha, "tree_id": info.tree, "message": info.message,
                           "timestamp": info.committer_date,
                           "author": {"name": info.author_name, "email": info.author_email},
                           "committer": {"name": info.committer_name,
                                         "email": info.committer_email}}
        return {
            "id": run.id, "name": run.path.rpartition("/")[2].removesuffix(".yml"),
            "node_id": node_id("WorkflowRun", run.id), "check_suite_id": run.id + 200000,
            "check_suite_node_id": node_id("CheckSuite", run.id + 200000),
            "head_branch": run.head_branch, "head_sha": run.head_sha, "path": run.path,
            "run_number": run.id, "run_attempt": 1, "referenced_workflows": [],
            "event": run.event, "status": run.status, "conclusion": run.conclusion,
            "workflow_id": workflow_id, "url": api,
            "html_url": f"{WEB_URL}/{repo.full_name}/actions/runs/{run.id}",
            "pull_requests": [], "created_at": run.created_at, "updated_at": run.created_at,
            "actor": self._j_user(self._user(self.token_user)),
            "triggering_actor": self._j_user(self._user(self.token_user)),
            "run_started_at": run.created_at, "jobs_url": f"{api}/jobs", "logs_url": f"{api}/logs",
            "check_suite_url": self._api(f"/repos/{repo.full_name}/check-suites/"
                                         f"{run.id + 200000}"),
            "artifacts_url": f"{api}/artifacts", "cancel_url": f"{api}/cancel",
            "rerun_url": f"{api}/rerun", "previous_attempt_url": None,
            "workflow_url": self._api(f"/repos/{repo.full_name}/actions/workflows/"
                                      f"{workflow_id}"),
            "head_commit": head_commit, "repository": self._j_repo(repo),
            "head_repository": self._j_repo(repo), "head_repository_id": repo.id,
            "display_title": info.message.split("\n")[0] if info else run.path,
        }

    def _h_list_workflow_runs(self, request: Request, owner: str, repo: str) -> Response:
        found = self._repo(owner, repo)
        runs = [r for r in self.workflow_runs.values() if r.repo == found.full_name]
        for key in ("head_sha", "event", "status"):
            if key in request.query:
                runs = [r for r in runs if getattr(r, key) == request.query[key]]
        runs.sort(key=lambda r: r.id, reverse=True)  # newest first, like GitHub
        total = len(runs)
        return self._page(request, [self._j_workflow_run(found, r) for r in runs],
                          wrap=lambda chunk: {"total_count": total, "workflow_runs": chunk})

    def _h_get_workflow_run(self, request: Request, owner: str, repo: str,
                            run_id: str) -> Response:
        found = self._repo(owner, repo)
        return Response(200, self._j_workflow_run(found, self._workflow_run(found, run_id)))

    def _h_list_run_artifacts(self, request: Request, owner: str, repo: str,
                              run_id: str) -> Response:
        found = self._repo(owner, repo)
        run = self._workflow_run(found, run_id)
        items = [a for a in self.artifacts if a.repo == found.full_name and a.run_id == run.id
                 and request.query.get("name", a.name) == a.name]
        items.sort(key=lambda a: a.id, reverse=True)
        total = len(items)
        return self._page(request, [self._j_artifact(found, a) for a in items],
                          wrap=lambda chunk: {"total_count": total, "artifacts": chunk})

    def _h_download_artifact(self, request: Request, owner: str, repo: str, artifact_id: str,
                             archive_format: str) -> Response:
        found = self._repo(owner, repo)
        matches = [a for a in self.artifacts
                   if a.repo == found.full_name and str(a.id) == artifact_id]
        if not matches or archive_format != "zip":
            raise not_found("https://docs.github.com/rest/actions/artifacts#download-an-artifact")
        if matches[0].expired:
            raise ApiError(410, "Artifact has expired")
        location = f"{self.base_url}{STORAGE_PREFIX}{artifact_id}.zip"
        return Response(302, None, {"Location": location})

    def _storage(self, path: str) -> Response:
        name = path.removeprefix(STORAGE_PREFIX).removesuffix(".zip")
        with self._lock:
            matches = [a for a in self.artifacts if str(a.id) == name]
        if not matches:
            return self._error_response(not_found())
        return Response(200, matches[0].data, {"Content-Type": "application/zip"})

    def _h_list_check_runs(self, request: Request, owner: str, repo: str, ref: str) -> Response:
        found = self._repo(owner, repo)
        sha = self._commit_sha(found, ref)
        runs = [c for c in self._check_log if c.repo == found.full_name and c.head_sha == sha]
        if "check_name" in request.query:
            runs = [c for c in runs if c.name == request.query["check_name"]]
        if "status" in request.query:
            runs = [c for c in runs if c.status == request.query["status"]]
        if request.query.get("filter", "latest") == "latest":  # latest run per name
            latest: dict[str, CheckRun] = {}
            for run in runs:
                latest[run.name] = run
            runs = list(latest.values())
        runs.sort(key=lambda c: c.id, reverse=True)
        total = len(runs)
        return self._page(request, [self._j_check_run(found, c) for c in runs],
                          wrap=lambda chunk: {"total_count": total, "check_runs": chunk})

    # ---- GraphQL: GitHub's schema, run by graphql-core ---------------------------------------

    def _graphql(self, request: Request) -> Response:
        """GitHub's GraphQL endpoint: every query is parsed, validated against GitHub's
        published schema (tests/fixtures/github/github-graphql) and run by graphql-core, so
        aliases, fragments, variables, nulls and errors behave as GraphQL says. The fake
        resolves the fields promotion-bot asks for (`_gql_*`); a field of the schema it does
        not serve is a bug in the test, kept in ``server_errors``. Answers in GitHub's shape:
        200 with `data` and, for what could not be resolved, `errors` naming its path (a
        connection's nodes asked without `first` or `last`, or more than 100, are refused as
        GitHub refuses them)."""
        if request.token is None:
            return Response(401, {"message": "This endpoint requires you to be authenticated.",
                                  "documentation_url": "https://docs.github.com/graphql"})
        query, variables = request.param("query"), request.param("variables") or {}
        if not isinstance(query, str) or not isinstance(variables, dict):
            return Response(200, {"errors": [{"message": "A query attribute must be specified "
                                                         "and must be a string."}]})
        document, problems = _checked_query(query)
        if document is None:
            return Response(200, {"errors": [{"message": p} for p in problems]})
        schema = github_graphql_schema()
        caller = self._caller(request)
        result = graphql.execute(schema, document, root_value=self._gql_root(caller),
                                 variable_values=variables, field_resolver=self._gql_resolve)
        answer: dict[str, Any] = {}
        if result.errors:
            answer["errors"] = [{**({"type": e.extensions["type"]} if e.extensions
                                    and "type" in e.extensions else {}),
                                 "path": e.path, "locations": [
                                     {"line": loc.line, "column": loc.column}
                                     for loc in e.locations or ()],
                                 "message": e.message} for e in result.errors]
        answer["data"] = result.data
        return Response(200, answer)

    def _gql_resolve(self, source: Any, info: graphql.GraphQLResolveInfo, **args: Any) -> Any:
        if not isinstance(source, Mapping) or info.field_name not in source:
            self.server_errors.append(f"POST /graphql: the fake does not serve "
                                      f"{info.parent_type.name}.{info.field_name}")
            raise graphql.GraphQLError(f"the fake does not serve {info.field_name}")
        value = source[info.field_name]
        return value(info, **args) if callable(value) else value

    def _gql_root(self, caller: str) -> dict[str, Any]:
        def repository(info: Any, owner: str, name: str, **_: Any) -> dict[str, Any]:
            repo = self.repos.get(f"{owner}/{name}".lower())
            if repo is None:
                raise _not_resolved("Could not resolve to a Repository with the name "
                                    f"'{owner}/{name}'.")
            return self._gql_repository(repo, caller)

        def organization(info: Any, login: str) -> dict[str, Any]:
            def team(info: Any, slug: str) -> dict[str, Any] | None:
                found = self.teams.get((login.lower(), slug.lower()))
                if found is None or not found.readable:
                    return None
                active = [m for m, state in found.members.items() if state == "active"]
                return {"slug": found.slug, "members": lambda info, **a: _connection(
                    info, [self._gql_actor(self._user(m)) for m in active], **a)}
            return {"login": login, "team": team}

        viewer = self._user(caller)  # GitHub's viewer: the REST login, an App's with "[bot]"
        return {"viewer": {"login": viewer.login, "databaseId": viewer.id},
                "repository": repository, "organization": organization}

    def _gql_repository(self, repo: Repo, caller: str) -> dict[str, Any]:
        backend = repo.backend

        def pull_request(info: Any, number: int) -> dict[str, Any]:
            pull = repo.pulls.get(number)
            if pull is None:
                raise _not_resolved(f"Could not resolve to a PullRequest with the number of "
                                    f"{number}.")
            return self._gql_pull(repo, pull, caller)

        def pull_requests(info: Any, states: Sequence[str] | None = None,
                          **args: Any) -> dict[str, Any]:
            listed = [p for p in sorted(repo.pulls.values(), key=lambda p: p.number)
                      if states is None or _gql_pull_state(p) in states]
            return _connection(info, [self._gql_pull(repo, p, caller) for p in listed], **args)

        def git_object(info: Any, oid: str | None = None,
                       expression: str | None = None) -> dict[str, Any] | None:
            if oid is not None:
                return self._gql_commit(repo, oid) if backend.resolve(oid) == oid else None
            rev, _, path = str(expression).partition(":")
            sha = backend.resolve(rev)
            if sha is None:
                return None
            if not path:
                return self._gql_commit(repo, sha)
            entry = self._gql_tree_entry(repo, sha, path)
            return entry["object"] if entry is not None else None

        return {"nameWithOwner": repo.full_name,
                "defaultBranchRef": lambda info: self._gql_ref(repo, repo.default_branch),
                "pullRequest": pull_request, "pullRequests": pull_requests,
                "object": git_object}

    def _gql_ref(self, repo: Repo, branch: str) -> dict[str, Any] | None:
        sha = repo.backend.resolve(f"refs/heads/{branch}")
        if sha is None:
            return None
        return {"name": branch, "prefix": "refs/heads/",
                "target": lambda info: self._gql_commit(repo, sha)}

    def _gql_commit(self, repo: Repo, sha: str) -> dict[str, Any]:
        def associated(info: Any, **args: Any) -> dict[str, Any]:
            pulls = [p for p in repo.pulls.values()
                     if sha in (p.head_sha, p.merge_commit_sha)
                     or sha in {c.sha for c in self._pull_commits(repo, p)}]
            return _connection(info, [{"number": p.number, "merged": p.merged,
                                       "mergeCommit": {"oid": p.merge_commit_sha}
                                       if p.merged else None} for p in pulls], **args)

        return {"__typename": "Commit", "oid": sha,
                "file": lambda info, path: self._gql_tree_entry(repo, sha, path),
                "associatedPullRequests": associated}

    def _gql_tree_entry(self, repo: Repo, sha: str, path: str) -> dict[str, Any] | None:
        """`Commit.file(path:)`: the entry at `path` (GitHub's TreeEntry), or null."""
        path = path.strip("/")
        found = repo.backend.read(sha, path) if path else None
        if found is None:
            return None
        name = path.rpartition("/")[2]
        if isinstance(found, list):
            oid = fake_sha("tree", sha, path)
            return {"name": name, "path": path, "mode": 0o040000, "type": "tree", "oid": oid,
                    "object": {"__typename": "Tree", "oid": oid}}
        if found.kind == "submodule":  # a commit of another repository: GitHub resolves none
            return {"name": name, "path": path, "mode": 0o160000, "type": "commit",
                    "oid": found.sha, "object": None}
        binary = b"\0" in found.data
        truncated = len(found.data) > GRAPHQL_BLOB_TEXT_LIMIT
        blob = {"__typename": "Blob", "oid": found.sha, "byteSize": len(found.data),
                "isBinary": binary, "isTruncated": truncated,
                "text": None if binary else found.data[:GRAPHQL_BLOB_TEXT_LIMIT].decode(
                    "utf-8", "replace")}
        mode = 0o120000 if found.kind == "symlink" else 0o100644
        return {"name": name, "path": path, "mode": mode, "type": "blob", "oid": found.sha,
                "object": blob}

    def _gql_actor(self, user: User) -> dict[str, Any]:
        """An Actor as GraphQL gives it: a GitHub App's bot without the "[bot]" of its REST
        login (what a login comparison across the two APIs gets wrong)."""
        kind = user.type if user.type in ("User", "Bot", "Organization") else "User"
        login = user.login.removesuffix("[bot]") if kind == "Bot" else user.login
        return {"__typename": kind, "login": login, "databaseId": user.id}

    def _gql_pull(self, repo: Repo, pull: Pull, caller: str) -> dict[str, Any]:
        def changed_files(info: Any) -> int:
            if pull.changed_files is not None:
                return pull.changed_files
            return len(self._pull_files(repo, pull))

        def comments(info: Any, **args: Any) -> dict[str, Any]:
            listed = [{"databaseId": c.id, "body": c.body,
                       "viewerDidAuthor": c.user.lower() == caller.lower(),
                       "author": self._gql_actor(self._user(c.user))}
                      for c in self._comment_log
                      if c.repo == repo.full_name and c.issue_number == pull.number]
            return _connection(info, listed, **args)

        def timeline_items(info: Any, itemTypes: Sequence[str] | None = None,
                           **args: Any) -> dict[str, Any]:
            """The events the fake records (force-pushes, base changes), of `itemTypes`
            (HEAD_REF_FORCE_PUSHED_EVENT: HeadRefForcePushedEvent), oldest first."""
            kinds = None if itemTypes is None else {
                "".join(word.title() for word in kind.split("_")) for kind in itemTypes}
            return _connection(info, [event for event in pull.timeline
                                      if kinds is None or event["__typename"] in kinds], **args)

        def review_requests(info: Any, **args: Any) -> dict[str, Any]:
            wanted = [{"requestedReviewer": self._gql_actor(self._user(u))}
                      for u in pull.requested_reviewers]
            wanted += [{"requestedReviewer": {"__typename": "Team",
                                              "slug": t.rpartition("/")[2]}}
                       for t in pull.requested_teams]
            return _connection(info, wanted, **args)

        return {
            "number": pull.number, "title": pull.title, "isDraft": pull.draft,
            "state": _gql_pull_state(pull), "merged": pull.merged,
            "url": f"{WEB_URL}/{repo.full_name}/pull/{pull.number}",
            "headRefName": pull.head_ref, "headRefOid": pull.head_sha,
            "baseRefName": pull.base_ref, "baseRefOid": pull.base_sha,
            "author": self._gql_actor(self._user(pull.user)),
            "changedFiles": changed_files,
            "commits": lambda info, **a: _connection(
                info, [{"commit": {"oid": c.sha}} for c in self._pull_commits(repo, pull)], **a),
            "reviews": lambda info, **a: _connection(
                info, [{"databaseId": r.id, "state": r.state} for r in pull.reviews], **a),
            "labels": lambda info, **a: _connection(info, [{"name": n} for n in pull.labels],
                                                    **a),
            "reviewRequests": review_requests,
            "baseRef": lambda info: self._gql_ref(repo, pull.base_ref),
            "comments": comments,
            "timelineItems": timeline_items,
        }

    # ---- handlers: commits, compare, contents ----------------------------------------------

    def _h_get_commit(self, request: Request, owner: str, repo: str, ref: str) -> Response:
        found = self._repo(owner, repo)
        info = found.backend.commit(self._commit_sha(found, ref))
        assert info is not None
        return Response(200, self._j_commit(found, info, with_files=True))

    def _h_list_commits(self, request: Request, owner: str, repo: str) -> Response:
        found = self._repo(owner, repo)
        start = request.query.get("sha") or found.default_branch
        sha = found.backend.resolve(start)
        if sha is None:
            raise not_found("https://docs.github.com/rest/commits/commits#list-commits")
        commits = found.backend.log(sha, path=request.query.get("path") or None)
        return self._page(request, [self._j_commit(found, c) for c in commits])

    def _h_list_commit_pulls(self, request: Request, owner: str, repo: str,
                             commit_sha: str) -> Response:
        found = self._repo(owner, repo)
        sha = self._commit_sha(found, commit_sha)
        pulls = [p for p in found.pulls.values()
                 if sha in (p.head_sha, p.merge_commit_sha)
                 or sha in {c.sha for c in self._pull_commits(found, p)}]
        return self._page(request, [self._j_pull(found, p, full=False) for p in pulls])

    def _h_compare(self, request: Request, owner: str, repo: str, basehead: str) -> Response:
        found = self._repo(owner, repo)
        base_ref, sep, head_ref = basehead.partition("...")
        if not sep:
            raise not_found("https://docs.github.com/rest/commits/commits#compare-two-commits")
        backend = found.backend
        base, head = backend.resolve(base_ref), backend.resolve(head_ref)
        if base is None or head is None:
            raise not_found("https://docs.github.com/rest/commits/commits#compare-two-commits")
        merge_base = backend.merge_base(base, head) or base
        ahead = backend.log(head, base, reverse=True)
        behind = backend.log(base, head)
        status = ("identical" if not ahead and not behind else "ahead" if not behind
                  else "behind" if not ahead else "diverged")
        base_info, mb_info = backend.commit(base), backend.commit(merge_base)
        assert base_info is not None and mb_info is not None
        files = backend.diff(merge_base, head)[:MAX_COMPARE_FILES]
        html = f"{WEB_URL}/{found.full_name}/compare/{base_ref}...{head_ref}"
        permalink = (f"{WEB_URL}/{found.full_name}/compare/"
                     f"{found.owner}:{base[:7]}...{found.owner}:{head[:7]}")
        return Response(200, {
            "url": self._api(f"/repos/{found.full_name}/compare/{base_ref}...{head_ref}"),
            "html_url": html, "permalink_url": permalink,
            "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
            "base_commit": self._j_commit(found, base_info),
            "merge_base_commit": self._j_commit(found, mb_info), "status": status,
            "ahead_by": len(ahead), "behind_by": len(behind), "total_commits": len(ahead),
            "commits": [self._j_commit(found, c) for c in ahead[:MAX_PR_COMMITS]],
            "files": [self._j_file(found, head, f) for f in files],
        })

    def _h_get_contents(self, request: Request, owner: str, repo: str, path: str) -> Response:
        found = self._repo(owner, repo)
        ref = request.query.get("ref") or found.default_branch
        item = found.backend.read(ref, path)
        if item is None:
            raise not_found("https://docs.github.com/rest/repos/contents#get-repository-content")
        if isinstance(item, list):
            return Response(200, [self._j_content(found, ref, entry) for entry in item])
        if item.kind == "symlink":
            # GitHub: "If the requested path points to a symlink, and the symlink's target is a
            # normal file in the repository, then the API responds with the content of the
            # file" (under the target's own path); else with the symlink itself
            target = _symlink_target(item.path, item.data)
            followed = found.backend.read(ref, target) if target is not None else None
            if isinstance(followed, Blob) and followed.kind == "file":
                item = followed
        return Response(200, self._j_content(found, ref, item))

    def _j_content(self, repo: Repo, ref: str, item: Blob | TreeEntry) -> dict[str, Any]:
        api = self._api(f"/repos/{repo.full_name}")
        path = quote(item.path)
        is_dir = item.kind == "dir"
        git_url = f"{api}/git/{'trees' if is_dir else 'blobs'}/{item.sha}"
        html_url = f"{WEB_URL}/{repo.full_name}/{'tree' if is_dir else 'blob'}/{ref}/{path}"
        self_url = f"{api}/contents/{path}?ref={quote(ref)}"
        out: dict[str, Any] = {
            "type": item.kind, "name": item.path.rpartition("/")[2], "path": item.path,
            "sha": item.sha, "url": self_url, "git_url": git_url, "html_url": html_url,
            "download_url": (f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}"
                             if item.kind == "file" else None),
            "_links": {"self": self_url, "git": git_url, "html": html_url},
        }
        if isinstance(item, TreeEntry):
            return out | {"size": item.size}
        out["size"] = len(item.data)
        if item.kind == "symlink":
            return out | {"target": item.data.decode(errors="replace")}
        if item.kind == "submodule":
            return out | {"submodule_git_url": f"{WEB_URL}/{repo.owner}/{item.path}.git", "size": 0}
        if len(item.data) > MAX_CONTENT_BYTES:
            return out | {"content": "", "encoding": "none"}
        encoded = base64.b64encode(item.data).decode()
        lines = [encoded[i : i + 60] for i in range(0, len(encoded), 60)]
        return out | {"content": "".join(line + "\n" for line in lines), "encoding": "base64"}

    # ---- handlers: git refs ----------------------------------------------------------------

    def _h_get_ref(self, request: Request, owner: str, repo: str, ref: str) -> Response:
        found = self._repo(owner, repo)
        name = f"refs/{ref}"
        target = found.backend.refs().get(name)
        if target is None:
            raise not_found("https://docs.github.com/rest/git/refs#get-a-reference")
        return Response(200, self._j_ref(found, name, *target))

    def _h_list_matching_refs(self, request: Request, owner: str, repo: str, ref: str) -> Response:
        found = self._repo(owner, repo)
        prefix = f"refs/{ref}"
        refs = sorted((n, t) for n, t in found.backend.refs().items() if n.startswith(prefix))
        return self._page(request, [self._j_ref(found, n, *t) for n, t in refs])

    def _h_create_ref(self, request: Request, owner: str, repo: str) -> Response:
        found = self._repo(owner, repo)
        name, sha = request.param("ref"), request.param("sha")
        docs = "https://docs.github.com/rest/git/refs#create-a-reference"
        if not isinstance(name, str) or not name.startswith("refs/") or name.count("/") < 2:
            raise ApiError(422, "Reference name must start with 'refs/' and have at least two "
                                "slashes.", docs=docs)
        if not isinstance(sha, str) or not _HEX40.fullmatch(sha):
            raise ApiError(422, "Object does not exist", docs=docs)
        if not found.backend.has_object(sha):
            raise ApiError(422, "Object does not exist", docs=docs)
        if name in found.backend.refs():
            raise ApiError(422, "Reference already exists", docs=docs)
        found.backend.set_ref(name, sha, None)
        body = self._j_ref(found, name, sha, "commit")
        return Response(201, body, {"Location": body["url"]})

    def _h_update_ref(self, request: Request, owner: str, repo: str, ref: str) -> Response:
        found = self._repo(owner, repo)
        name = f"refs/{ref}"
        current = found.backend.refs().get(name)
        if current is None:
            raise ApiError(422, "Reference does not exist",
                           docs="https://docs.github.com/rest/git/refs#update-a-reference")
        sha = request.param("sha")
        if not isinstance(sha, str) or not found.backend.has_object(sha):
            raise ApiError(422, "Object does not exist",
                           docs="https://docs.github.com/rest/git/refs#update-a-reference")
        if not request.param("force", False) and not found.backend.is_ancestor(current[0], sha):
            raise ApiError(422, "Update is not a fast forward",
                           docs="https://docs.github.com/rest/git/refs#update-a-reference")
        found.backend.set_ref(name, sha, current[0])
        return Response(200, self._j_ref(found, name, sha, "commit"))

    def _h_delete_ref(self, request: Request, owner: str, repo: str, ref: str) -> Response:
        found = self._repo(owner, repo)
        name = f"refs/{ref}"
        if name not in found.backend.refs():
            raise ApiError(422, "Reference does not exist",
                           docs="https://docs.github.com/rest/git/refs#delete-a-reference")
        found.backend.delete_ref(name)
        return Response(204)

    # ---- handlers: repository settings (what doctor reads) ------------------------------------

    def _is_admin(self, repo: Repo, login: str) -> bool:
        return (login.lower() == repo.owner.lower()
                or repo.collaborators.get(login) == "admin"
                or login.lower() in self.org_owners.get(repo.owner.lower(), set()))

    @staticmethod
    def _ref_matches(ruleset: Mapping[str, Any], ref: str, default_branch: str) -> bool:
        condition = (ruleset.get("conditions") or {}).get("ref_name") or {}

        def hit(pattern: str) -> bool:
            if pattern == "~ALL":
                return True
            if pattern == "~DEFAULT_BRANCH":
                return ref == f"refs/heads/{default_branch}"
            return fnmatch.fnmatchcase(ref, pattern)

        return any(hit(p) for p in condition.get("include", [])) and not any(
            hit(p) for p in condition.get("exclude", []))

    def _h_get_branch_rules(self, request: Request, owner: str, repo: str,
                            branch: str) -> Response:
        found = self._repo(owner, repo)
        rules = []
        for ruleset in found.rulesets.values():
            if ruleset["target"] != "branch" or ruleset["enforcement"] != "active":
                continue
            if not self._ref_matches(ruleset, f"refs/heads/{branch}", found.default_branch):
                continue
            for rule in ruleset["rules"]:
                rules.append(dict(rule) | {"ruleset_source_type": ruleset["source_type"],
                                           "ruleset_source": ruleset["source"],
                                           "ruleset_id": ruleset["id"]})
        return self._page(request, rules)

    def _ruleset_json(self, request: Request, repo: Repo, ruleset: Mapping[str, Any], *,
                      full: bool) -> dict[str, Any]:
        admin = self._is_admin(repo, self._caller(request))
        keys = ["id", "name", "target", "source_type", "source", "enforcement", "node_id",
                "_links", "created_at", "updated_at"]
        if full:
            keys += ["conditions", "rules"] + (["bypass_actors"] if admin else [])
        out = {key: ruleset[key] for key in keys}
        out["current_user_can_bypass"] = "never"
        return out

    def _h_list_rulesets(self, request: Request, owner: str, repo: str) -> Response:
        found = self._repo(owner, repo)
        targets = [t for t in request.query.get("targets", "").split(",") if t]
        items = [self._ruleset_json(request, found, ruleset, full=False)
                 for ruleset in found.rulesets.values()
                 if not targets or ruleset["target"] in targets]
        return self._page(request, items)

    def _h_get_ruleset(self, request: Request, owner: str, repo: str, ruleset_id: str) -> Response:
        found = self._repo(owner, repo)
        ruleset = found.rulesets.get(int(ruleset_id)) if ruleset_id.isdigit() else None
        if ruleset is None:
            raise not_found("https://docs.github.com/rest/repos/rules#get-a-repository-ruleset")
        return Response(200, self._ruleset_json(request, found, ruleset, full=True))

    def _environment(self, repo: Repo, name: str) -> Environment:
        environment = repo.environments.get(name)
        if environment is None:
            raise not_found("https://docs.github.com/rest/deployments/environments#get-an-environment")
        return environment

    def _h_get_environment(self, request: Request, owner: str, repo: str,
                           environment_name: str) -> Response:
        found = self._repo(owner, repo)
        environment = self._environment(found, environment_name)
        api = self._api(f"/repos/{found.full_name}/environments/{quote(environment.name)}")
        custom = environment.branch_policies is not None
        rules: list[dict[str, Any]] = []
        if environment.reviewers:
            rules.append({"id": environment.id * 10 + 1, "node_id": node_id("Gate", environment.id),
                          "type": "required_reviewers", "prevent_self_review": False,
                          "reviewers": [{"type": "User", "reviewer": self._j_user(self._user(r))}
                                        for r in environment.reviewers]})
        if custom or environment.protected_branches:
            rules.append({"id": environment.id * 10 + 2,
                          "node_id": node_id("Gate", environment.id * 10 + 2),
                          "type": "branch_policy"})
        policy = ({"protected_branches": environment.protected_branches,
                   "custom_branch_policies": custom}
                  if custom or environment.protected_branches else None)
        return Response(200, {
            "id": environment.id, "node_id": node_id("Environment", environment.id),
            "name": environment.name, "url": api,
            "html_url": f"{WEB_URL}/{found.full_name}/deployments/activity_log"
                        f"?environments_filter={quote(environment.name)}",
            "created_at": iso(_EPOCH), "updated_at": iso(_EPOCH), "protection_rules": rules,
            "deployment_branch_policy": policy,
        })

    def _h_list_deployment_branch_policies(self, request: Request, owner: str, repo: str,
                                           environment_name: str) -> Response:
        found = self._repo(owner, repo)
        environment = self._environment(found, environment_name)
        policies = [{"id": environment.id * 100 + index,
                     "node_id": node_id("DeploymentBranchPolicy", environment.id * 100 + index),
                     "name": name, "type": "branch"}
                    for index, name in enumerate(environment.branch_policies or [])]
        return self._page(request, policies, wrap=lambda chunk: {
            "total_count": len(policies), "branch_policies": chunk})

    def _secrets(self, request: Request, secrets: Mapping[str, str]) -> Response:
        items = [{"name": name, "created_at": created, "updated_at": created}
                 for name, created in sorted(secrets.items())]
        return self._page(request, items,
                          wrap=lambda chunk: {"total_count": len(items), "secrets": chunk})

    def _h_list_environment_secrets(self, request: Request, owner: str, repo: str,
                                    environment_name: str) -> Response:
        found = self._repo(owner, repo)
        return self._secrets(request, self._environment(found, environment_name).secrets)

    def _h_list_repo_secrets(self, request: Request, owner: str, repo: str) -> Response:
        return self._secrets(request, self._repo(owner, repo).secrets)

    def _h_list_repo_organization_secrets(self, request: Request, owner: str,
                                          repo: str) -> Response:
        found = self._repo(owner, repo)
        return self._secrets(request, self.org_secrets.get(found.owner.lower(), {}))

    def _h_get_workflow_permissions(self, request: Request, owner: str, repo: str) -> Response:
        found = self._repo(owner, repo)
        if not self._is_admin(found, self._caller(request)):
            raise ApiError(403, "Must have admin rights to Repository.",
                           docs="https://docs.github.com/rest/actions/permissions")
        return Response(200, dict(found.workflow_permissions))

    def _h_list_codeowners_errors(self, request: Request, owner: str, repo: str) -> Response:
        """GitHub's own reading of CODEOWNERS: the first of .github/, the root and docs/ that
        exists; unknown owners (no such user or team, or no write access) and bad patterns."""
        found = self._repo(owner, repo)
        ref = request.query.get("ref") or found.default_branch
        for path in (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"):
            blob = found.backend.read(ref, path)
            if isinstance(blob, Blob):
                break
        else:
            raise not_found("https://docs.github.com/rest/repos/repos#list-codeowners-errors")
        errors = []
        for number, line in enumerate(blob.data.decode(errors="replace").splitlines(), start=1):
            content = line.split(" #", 1)[0].strip()
            if not content or content.startswith("#"):
                continue
            pattern, *owners = content.split()
            column = line.index(pattern) + 1
            if pattern.startswith("!") or "[" in pattern:
                errors.append(self._codeowners_error(path, number, column, line,
                                                     "Invalid pattern", None))
                continue
            for owner_name in owners:
                if not self._can_own(found, owner_name):
                    suggestion = (f"make sure {owner_name} exists and has write access to the "
                                  "repository")
                    errors.append(self._codeowners_error(
                        path, number, line.index(owner_name) + 1, line, "Unknown owner",
                        suggestion))
        return Response(200, {"errors": errors})

    @staticmethod
    def _codeowners_error(path: str, line: int, column: int, source: str, kind: str,
                          suggestion: str | None) -> dict[str, Any]:
        text = f"{kind} on line {line}" + (f": {suggestion}" if suggestion else "")
        message = f"{text}\n\n  {source}\n  {' ' * (column - 1)}^"
        return {"line": line, "column": column, "kind": kind, "source": source,
                "suggestion": suggestion, "message": message, "path": path}

    def _can_own(self, repo: Repo, owner_name: str) -> bool:
        if "@" in owner_name and not owner_name.startswith("@"):
            return any(user.email == owner_name for user in self.users.values())
        name = owner_name.removeprefix("@")
        if "/" in name:
            org, _, slug = name.partition("/")
            team = self.teams.get((org.lower(), slug.lower()))
            permission = repo.team_permissions.get(f"{org}/{slug}".lower())
            return team is not None and permission in ("push", "maintain", "admin")
        user = self.users.get(name.lower())
        return user is not None and (self._is_admin(repo, user.login) or repo.collaborators.get(
            user.login) in ("write", "maintain", "admin"))

    def _h_list_org_installations(self, request: Request, org: str) -> Response:
        account = self.users.get(org.lower())
        if account is None or account.type != "Organization":
            raise not_found("https://docs.github.com/rest/orgs/orgs#list-app-installations-for-an-organization")
        if self._caller(request).lower() not in self.org_owners.get(org.lower(), set()):
            raise ApiError(403, "You must be an organization owner to list its installations",
                           docs="https://docs.github.com/rest/orgs/orgs")
        created = iso(_EPOCH)
        installation = {
            "id": self.installation_id, "account": self._j_user(account),
            "repository_selection": "selected",
            "access_tokens_url":
                f"{self.base_url}/app/installations/{self.installation_id}/access_tokens",
            "repositories_url": f"{self.base_url}/installation/repositories",
            "html_url": f"{WEB_URL}/organizations/{account.login}/settings/installations/"
                        f"{self.installation_id}",
            "app_id": self.app_id, "target_id": account.id, "target_type": "Organization",
            "permissions": self.installation_permissions, "events": [], "created_at": created,
            "updated_at": created, "single_file_name": None, "app_slug": self.app_slug,
            "suspended_by": None, "suspended_at": created if self.installation_suspended else None,
        }
        items = [installation]
        return self._page(request, items, wrap=lambda chunk: {"total_count": len(items),
                                                              "installations": chunk})



def _stub_commit(sha: str) -> CommitInfo:
    return CommitInfo(sha, fake_sha("tree", sha), (), f"commit {sha[:7]}")


def _file_changes(files: Iterable[str | Mapping[str, Any] | FileChange]) -> list[FileChange]:
    """Test-friendly file lists: names, dicts in GitHub's diff-entry shape, or FileChange."""
    changes = []
    for item in files:
        if isinstance(item, FileChange):
            changes.append(item)
        elif isinstance(item, str):
            changes.append(FileChange(item, "modified", 1, 1, fake_sha("blob", item)))
        else:
            name = item["filename"]
            changes.append(FileChange(
                name, item.get("status", "modified"), item.get("additions", 1),
                item.get("deletions", 1), item.get("sha", fake_sha("blob", name)),
                item.get("previous_filename"),
            ))
    return changes


def iter_routes() -> Iterator[tuple[str, str]]:
    """(method, OpenAPI path template) of every route the fake serves."""
    for route in ROUTES:
        yield route.method, route.template
