"""Reading files of the local file system for the core: streamed digests, strict YAML files,
snapshot files. Every failure is a located, actionable error (never a traceback)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from promotion_bot.core.errors import ConfigError, InputError, Problem
from promotion_bot.core.formats.strict_yaml import MAX_YAML_BYTES, YamlDocument, load_yaml_bytes
from promotion_bot.core.snapshot import MAX_SNAPSHOT_BYTES, PullSnapshot, parse_snapshot_bytes

CHUNK = 1024 * 1024


def sha256_file(path: Path) -> str:
    """Streamed, so that a large artifact costs constant memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def load_yaml_file(
    path: Path, *, display_path: str | None = None, max_bytes: int = MAX_YAML_BYTES
) -> YamlDocument:
    """Read and strictly load one YAML file; every failure is an `InputError` with a location."""
    shown = display_path or str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        problem = Problem(file=shown, message="file not found")
        raise InputError(problem.render(), [problem]) from None
    except OSError as exc:
        problem = Problem(file=shown, message=f"cannot read: {exc.strerror}")
        raise InputError(problem.render(), [problem]) from None
    return load_yaml_bytes(raw, shown, max_bytes=max_bytes)


def load_snapshot(path: Path) -> PullSnapshot:
    """Read, validate and build a snapshot file; every failure is a ConfigError (exit 2)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SNAPSHOT_BYTES + 1)
    except FileNotFoundError:
        problem = Problem(file=str(path), message="snapshot file not found")
        raise ConfigError(problem.render(), [problem]) from None
    except OSError as error:
        problem = Problem(file=str(path), message=f"cannot read: {error.strerror}")
        raise ConfigError(problem.render(), [problem]) from None
    return parse_snapshot_bytes(raw, str(path))
