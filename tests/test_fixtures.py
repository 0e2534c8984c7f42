"""The vendored GitHub reference data: inside the repository, and exactly as published."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests import openapi_shapes
from tests.github_fixtures import GITHUB_FIXTURES

REPOSITORY = Path(__file__).resolve().parents[1]


def checksum_list() -> dict[str, str]:
    lines = (GITHUB_FIXTURES / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines if line)}


def test_the_fixture_folder_lies_inside_the_repository() -> None:
    assert GITHUB_FIXTURES.is_relative_to(REPOSITORY)
    assert openapi_shapes.spec_path().resolve().is_relative_to(REPOSITORY)


def test_every_vendored_file_matches_its_published_checksum() -> None:
    listed = checksum_list()
    assert listed, "SHA256SUMS lists no file"
    for name, digest in listed.items():
        data = (GITHUB_FIXTURES / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, f"{name} differs from the published file"


def test_every_vendored_file_is_listed_and_licensed() -> None:
    on_disk = {path.relative_to(GITHUB_FIXTURES).as_posix()
               for path in GITHUB_FIXTURES.rglob("*") if path.is_file()}
    assert on_disk - {"SHA256SUMS", "README.md"} == set(checksum_list())
    for folder in ("github-graphql", "github-openapi", "github-webhooks"):
        assert any(name.startswith(f"{folder}/LICENSE") for name in on_disk), folder
