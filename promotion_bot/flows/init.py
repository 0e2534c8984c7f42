"""`promotion-bot init`: propose a policy, CODEOWNERS lines and the workflows for an existing
repository (core/adoption.py decides), write them when asked, and check the result.

Nothing is written while a question is open or the proposal has a problem; an existing file is
never overwritten (CODEOWNERS is appended to, a workflow that differs is a problem).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from promotion_bot.adapters import git
from promotion_bot.adapters.clock import utc_now
from promotion_bot.adapters.distribution import (
    github_repository,
    installed_source,
    read_workflow_templates,
)
from promotion_bot.adapters.working_tree import ValidationReport, validate_repository
from promotion_bot.core.adoption import Answers, Proposal, RepositoryFacts, SigningKeyEntry, propose
from promotion_bot.core.errors import ConfigError
from promotion_bot.core.keys import keyid_of, load_private_key, load_public_key, public_pem


@dataclass(frozen=True)
class Written:
    files: tuple[str, ...]
    validation: ValidationReport


def repository_facts(root: Path) -> RepositoryFacts:
    """The tracked files of the repository at `root`, a reader for them, and what the origin
    remote and this promotion-bot's installation say."""
    files = tuple(sorted(git.tracked_files(root)))
    origin = git.remote_url(root)
    repository = github_repository(origin) if origin else None
    source = installed_source()
    return RepositoryFacts(
        files=files,
        read=lambda path: _read(root, path),
        origin_owner=repository.split("/", 1)[0] if repository else None,
        bot_repository=source.repository,
        bot_commit=source.commit,
    )


def _read(root: Path, path: str) -> bytes | None:
    target = root / PurePosixPath(path)
    if target.is_symlink() or not target.is_file():
        return None
    try:
        return target.read_bytes()
    except OSError:
        return None


def propose_adoption(root: Path, answers: Answers, now: dt.datetime | None = None) -> Proposal:
    return propose(repository_facts(root), answers, read_workflow_templates(), now or utc_now())


def signing_key_entry(path: Path) -> SigningKeyEntry:
    """The public half of a key file (a private key from `keys generate`, or a public key)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"--signing-key {path}: cannot read ({error.strerror})") from None
    source = f"--signing-key {path}"
    if b"PRIVATE KEY-----" in data:
        key = load_private_key(data, source).public_key
    else:
        key = load_public_key(data.decode("utf-8", "replace"), source)
    return SigningKeyEntry(keyid_of(key), public_pem(key).strip())


def write_proposal(root: Path, proposal: Proposal) -> Written:
    """Write every created or appended file, then validate the repository as it now stands."""
    if not proposal.ready:
        raise ConfigError("init has open questions or problems; nothing is written")
    for item in proposal.to_write:
        target = root / PurePosixPath(item.path)
        if item.action == "create" and (target.exists() or target.is_symlink()):
            raise ConfigError(f"{item.path} exists but git does not track it (or it appeared "
                              "since init read the repository); nothing is written: commit or "
                              "remove it, then run init again")
    written = []
    for item in proposal.to_write:
        target = root / PurePosixPath(item.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = "x" if item.action == "create" else "a"
        content = item.content if item.action == "create" else _appended(target, item.content)
        with open(target, mode, encoding="utf-8", newline="\n") as handle:
            handle.write(content)
        written.append(item.path)
    return Written(tuple(written), validate_repository(root, []))


def _appended(target: Path, whole: str) -> str:
    """What to append so that the file becomes `whole` (it must still be what init read)."""
    current = target.read_text(encoding="utf-8")
    if not whole.startswith(current):
        raise ConfigError(f"{target.name} changed since init read it; run init again")
    return whole[len(current):]
