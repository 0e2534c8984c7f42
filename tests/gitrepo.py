"""Temporary git repositories for tests: fixed author, committer and dates; real git.

`GitRepo` wraps a work tree (usually the `example_repo` fixture from conftest: a copy of
examples/governed-repo committed on main). Helpers write change requests and keep the example's
pack manifest (pack/SHA256SUMS) in step, the way scripts/update_pack.sh does.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar, cast

AUTHOR = {
    "GIT_AUTHOR_NAME": "Erin Engineer",
    "GIT_AUTHOR_EMAIL": "erin@example.com",
    "GIT_COMMITTER_NAME": "Erin Engineer",
    "GIT_COMMITTER_EMAIL": "erin@example.com",
}
EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z
RULESET_V1 = "configs/routing_tables/routing_rules_v1.0.0.json"
PACK_FOLDERS = ("configs", "prompts", "templates")


_TEMPLATES: dict[Hashable, tuple[Path, Any]] = {}
_TEMPLATE_DIR: Path | None = None
T = TypeVar("T")


def template_dir() -> Path:
    """A folder for this process's templates, removed when it exits."""
    global _TEMPLATE_DIR
    if _TEMPLATE_DIR is None:
        _TEMPLATE_DIR = Path(tempfile.mkdtemp(prefix="promotion-bot-test-templates-"))
        atexit.register(shutil.rmtree, _TEMPLATE_DIR, True)
    return _TEMPLATE_DIR


def built_once(key: Hashable, target: Path, build: Callable[[Path], T]) -> T:
    """`target` as `build(target)` makes it, and what `build` returned: built for real the
    first time this process sees `key`, then copied from a snapshot of that first build (work
    tree and .git: a copy is a repository in its own right). Saves the git processes of
    set-ups that every test repeats. `key` must name everything `build` depends on, and what
    `build` returns must not depend on `target` (commit ids, not paths)."""
    cached = _TEMPLATES.get(key)
    if cached is None:
        result = build(target)
        template = template_dir() / str(len(_TEMPLATES))
        shutil.copytree(target, template, symlinks=True)
        compact_repositories(template)
        _TEMPLATES[key] = (template, result)
        return result
    template, result = cached
    shutil.copytree(template, target, symlinks=True)
    return cast(T, result)


def compact_repositories(folder: Path) -> None:
    """Each repository in a template with its objects in one pack and without git's sample
    hooks: a copy is then about 30 files, not 150 (it is copied once per test). The objects,
    refs and history stay exactly the same."""
    for objects in sorted(folder.rglob("objects")):
        git_dir = objects.parent
        if not (objects.is_dir() and (git_dir / "HEAD").is_file()):
            continue
        # -d also removes the loose objects the pack now holds (git prune-packed)
        subprocess.run(["git", f"--git-dir={git_dir}", "repack", "-a", "-d", "-q"], check=True,
                       capture_output=True)
        for sample in (git_dir / "hooks").glob("*.sample"):
            sample.unlink()


def head_sha(root: Path) -> str | None:
    """The commit HEAD names, read from .git's files (None: ask git, e.g. packed refs)."""
    try:
        head = (root / ".git" / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            head = (root / ".git" / head.removeprefix("ref: ")).read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return head if len(head) == 40 else None


class GitRepo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.ticks = 0

    def git(self, *args: str) -> str:
        self.ticks += 1
        when = f"@{EPOCH + self.ticks * 60} +0000"
        env = {**os.environ, **AUTHOR, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        result = subprocess.run(
            ["git", "-c", "init.defaultBranch=main", "-C", str(self.root), *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
        return result.stdout.strip()

    def path(self, relative: str) -> Path:
        return self.root / relative

    def read(self, relative: str) -> str:
        return self.path(relative).read_text(encoding="utf-8")

    def write(self, relative: str, content: str | bytes) -> None:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")

    def replace(self, relative: str, old: str, new: str) -> None:
        text = self.read(relative)
        assert old in text, f"{old!r} not in {relative}"
        self.write(relative, text.replace(old, new))

    def delete(self, relative: str) -> None:
        self.path(relative).unlink()

    def sha256(self, relative: str) -> str:
        return hashlib.sha256(self.path(relative).read_bytes()).hexdigest()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def branch(self, name: str, start: str = "main") -> None:
        self.git("checkout", "-q", "-b", name, start)

    def checkout(self, name: str) -> None:
        self.git("checkout", "-q", name)

    def merge_into_main(self, branch: str) -> str:
        self.checkout("main")
        self.git("merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)
        return self.head()

    def head(self) -> str:
        """HEAD's commit; counts a tick like the `git rev-parse HEAD` it stands for, so that
        dates (and commit ids) stay as they were."""
        sha = head_sha(self.root)
        if sha is None:
            return self.git("rev-parse", "HEAD")
        self.ticks += 1
        return sha

    def update_pack(self) -> None:
        """pack/SHA256SUMS for configs/, prompts/ and templates/ (scripts/update_pack.sh)."""
        files = sorted(
            p.relative_to(self.root).as_posix()
            for folder in PACK_FOLDERS
            for p in (self.root / folder).rglob("*")
            if p.is_file()
        )
        self.write("pack/SHA256SUMS", "".join(f"{self.sha256(f)}  {f}\n" for f in files))

    def new_ruleset(self, version: str, *, edit: dict[str, object] | None = None) -> str:
        """A copy of ruleset 1.0.0 as routing_rules_v<version>.json (with `edit` applied)."""
        data = json.loads(self.read(RULESET_V1))
        data["version"] = version
        data.update(edit or {})
        path = f"configs/routing_tables/routing_rules_v{version}.json"
        self.write(path, json.dumps(data, indent=2) + "\n")
        return path

    def change_request(
        self,
        change_id: str,
        change_type: str,
        target: str,
        current: str | None,
        proposed: str,
        artifacts: list[str],
        *,
        sha256: dict[str, str] | None = None,
        extra: str = "",
    ) -> str:
        """Write change-requests/<change_id>.yaml declaring `artifacts` with their digests."""
        digests = {path: self.sha256(path) for path in artifacts}
        digests.update(sha256 or {})
        current_text = f'"{current}"' if current is not None else "null"
        lines = [
            f"change_id: {change_id}",
            f"change_type: {change_type}",
            f"target: {target}",
            f"title: Promote {target} {proposed}",
            f'proposed_version: "{proposed}"',
            f"current_version: {current_text}",
            "artifacts:",
        ]
        for path in artifacts:
            lines += [f"  - path: {path}", f"    sha256: {digests[path]}"]
        lines.append(f"rollback_plan: Revert the pull request; {current} becomes current again.")
        path = f"change-requests/{change_id}.yaml"
        self.write(path, "\n".join(lines) + "\n" + extra)
        return path


def ruleset_branch(
    repo: GitRepo,
    name: str = "feature",
    *,
    version: str = "1.1.0",
    change_id: str = "CR-2026-0005",
    current: str | None = "1.0.0",
    edit: dict[str, object] | None = None,
) -> str:
    """A branch from main promoting routing-rules to `version`, committed; returns its CR path."""
    repo.branch(name)
    ruleset = repo.new_ruleset(version, edit=edit)
    repo.update_pack()
    cr = repo.change_request(change_id, "ruleset", "routing-rules", current, version, [ruleset])
    repo.commit(f"Promote routing rules {version}")
    return cr


def process_gone(pid: int, within: float = 10.0) -> bool:
    """True once `pid` has exited (a zombie counts as exited); polls for at most `within` s."""
    deadline = time.monotonic() + within
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return True
        if state == "Z":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
