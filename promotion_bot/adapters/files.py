"""Reading files of the local file system for the core: streamed digests, strict YAML files,
snapshot files. Every failure is a located, actionable error (never a traceback).

All of them go through one reader that takes regular files only, with a size bound. A path on
the command line can be anything: a FIFO (opening it for reading waits forever for a writer),
a device (/dev/zero never ends), /proc/self/mem (reading it fails with EIO), a folder, or a
name longer than the system allows. Each is refused with a message naming the path (exit 2),
instead of a hang or a traceback. The file is opened without blocking and checked with fstat
on the open descriptor, so a path swapped for a FIFO between a check and the open cannot make
the bot wait.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from promotion_bot.core.errors import ConfigError, InputError, Problem
from promotion_bot.core.formats.strict_yaml import MAX_YAML_BYTES, YamlDocument, load_yaml_bytes

if TYPE_CHECKING:  # the snapshot's module is imported by load_snapshot, its one reader here
    from promotion_bot.core.snapshot import PullSnapshot

CHUNK = 1024 * 1024
MAX_HASHED_BYTES = 64 * 1024 * 1024 * 1024  # an artifact is hashed in chunks; 64 GiB at most


class FileReadError(ConfigError):
    """The path cannot be read as a regular file within the bound (exit 2).

    `kind`: missing | special | too-large | unreadable."""

    def __init__(self, problem: Problem, kind: str) -> None:
        super().__init__(problem.render(), [problem])
        self.problem = problem
        self.kind = kind


def _refuse(shown: str, kind: str, message: str, hint: str | None = None) -> FileReadError:
    return FileReadError(Problem(file=_short_path(shown), message=message, hint=hint), kind)


def _short_path(shown: str) -> str:
    return shown if len(shown) <= 200 else f"{shown[:120]}…({len(shown)} characters)"


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


@contextmanager
def _open_regular(path: Path, shown: str) -> Iterator[tuple[int, int]]:
    """(descriptor, size) of a regular file opened for reading without blocking."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise _refuse(shown, "missing", "file not found") from None
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:
            raise _refuse(
                shown, "unreadable", "the file name is too long for this system",
                "give a shorter path",
            ) from None
        raise _refuse(shown, "unreadable", f"cannot read: {error.strerror or error}") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
            raise _refuse(
                shown, "special", f"is {kind}, not a regular file",
                "give the path of a regular file",
            )
        os.set_blocking(descriptor, True)
        yield descriptor, info.st_size
    finally:
        os.close(descriptor)


def _chunks(descriptor: int, shown: str, limit: int) -> Iterator[bytes]:
    """The file's bytes in chunks, at most `limit` + 1 bytes in all (so a caller sees more)."""
    left = limit + 1
    while left > 0:
        try:
            chunk = os.read(descriptor, min(CHUNK, left))
        except OSError as error:
            raise _refuse(shown, "unreadable", f"cannot read: {error.strerror or error}") from None
        if not chunk:
            return
        left -= len(chunk)
        yield chunk


def is_folder(path: Path) -> bool:
    """Whether `path` is a folder; False for anything unreadable (a later read says why)."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def read_regular_file(path: Path, *, max_bytes: int, display_path: str | None = None) -> bytes:
    """The bytes of a regular file of at most `max_bytes`; FileReadError otherwise."""
    shown = display_path or str(path)
    too_large = f"larger than {max_bytes} bytes"
    with _open_regular(path, shown) as (descriptor, size):
        if size > max_bytes:
            raise _refuse(shown, "too-large", too_large)
        data = b"".join(_chunks(descriptor, shown, max_bytes))
    if len(data) > max_bytes:
        raise _refuse(shown, "too-large", too_large)
    return data


def sha256_regular_file(
    path: Path, *, max_bytes: int = MAX_HASHED_BYTES, display_path: str | None = None
) -> str:
    """SHA-256 of a regular file, streamed (constant memory); FileReadError otherwise."""
    shown = display_path or str(path)
    digest = hashlib.sha256()
    total = 0
    with _open_regular(path, shown) as (descriptor, _size):
        for chunk in _chunks(descriptor, shown, max_bytes):
            total += len(chunk)
            digest.update(chunk)
    if total > max_bytes:
        raise _refuse(shown, "too-large", f"larger than {max_bytes} bytes")
    return digest.hexdigest()



def sha256_file(path: Path) -> str:
    """Streamed, so that a large artifact costs constant memory; regular files only."""
    return sha256_regular_file(path)


def load_yaml_file(
    path: Path, *, display_path: str | None = None, max_bytes: int = MAX_YAML_BYTES
) -> YamlDocument:
    """Read and strictly load one YAML file; every failure is an `InputError` with a location
    (a FIFO or a device: a ConfigError, exit 2)."""
    shown = display_path or str(path)
    try:
        raw = read_regular_file(path, max_bytes=max_bytes, display_path=shown)
    except FileReadError as error:
        if error.kind == "special":
            raise
        raise InputError(error.message, error.problems) from None
    return load_yaml_bytes(raw, shown, max_bytes=max_bytes)


def load_snapshot(path: Path) -> PullSnapshot:
    """Read, validate and build a snapshot file; every failure is a ConfigError (exit 2)."""
    from promotion_bot.core.snapshot import MAX_SNAPSHOT_BYTES, parse_snapshot_bytes

    try:
        raw = read_regular_file(path, max_bytes=MAX_SNAPSHOT_BYTES)
    except FileReadError as error:
        if error.kind != "missing":
            raise
        problem = Problem(file=str(path), message="snapshot file not found")
        raise ConfigError(problem.render(), [problem]) from None
    return parse_snapshot_bytes(raw, str(path))
