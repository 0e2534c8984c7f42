"""Hostile inputs to every document loader, through the commands people run.

Each case is one input a person or a pull request could hand the bot: the command must answer
with exit 1 (the input was read and refused) or 2 (it cannot be used), name the file (with
line and column where the input has them), and never print a traceback (exit 3) or hang. The
README's reliability section counts these cases (HOSTILE_INPUTS).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from promotion_bot.adapters.offline_facts import load_evidence
from promotion_bot.cli.main import main
from promotion_bot.core.codeowners import parse_codeowners
from promotion_bot.core.errors import ConfigError
from promotion_bot.core.snapshot import parse_snapshot
from tests.conftest import EXAMPLE, git

POLICY = ".promotion/policy.yaml"
CR = "change-requests/CR-2026-0001.yaml"
DEEP_JSON = "[" * 100_000 + "]" * 100_000
LONG_NAME = "x" * 5000


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def assert_refused(code: int, out: str, exit_code: int, *words: str) -> None:
    assert "Traceback" not in out and "internal error" not in out, out
    assert code == exit_code, out
    for word in words:
        assert word in out, out


# --- the policy and change requests: `validate` (exit 1, file:line:column) ------------------


@dataclass(frozen=True)
class Edit:
    name: str
    path: str
    change: Callable[[str], str | bytes]
    words: tuple[str, ...]  # what the message says, starting with file:line


def replace(old: str, new: str) -> Callable[[str], str]:
    def change(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)

    return change


DOCUMENT_EDITS = [
    Edit("reversed glob range", POLICY,
         replace('paths: ["configs/routing_tables/**"]', 'paths: ["configs/routing_tables/[z-a]"]'),
         (f"{POLICY}:21:13:", "the range z-a in [z-a] is reversed")),
    Edit("empty glob class", POLICY,
         replace('paths: ["configs/routing_tables/**"]', 'paths: ["configs/[]"]'),
         (f"{POLICY}:21:13:", "the character class [] is empty")),
    Edit("a glob of **/ thirteen times", POLICY,
         replace('paths: ["configs/routing_tables/**"]', 'paths: ["' + "**/" * 13 + 'none"]'),
         (f"{CR}:8:11:", "is not under the governed paths")),
    Edit("a lookbehind in a template rule", POLICY,
         replace('pattern: "(?i)\\\\bguarantee(d)?\\\\b"', 'pattern: "(?<=a)guarantee"'),
         (f"{POLICY}:84:20:", "lookarounds and backreferences are not supported")),
    Edit("an unbalanced version marker", POLICY,
         replace("version (?P<version>[^ ]+) -->", "version (?P<version>[^ ]+ -->"),
         (f"{POLICY}:94:23:", "is not a valid regex")),
    Edit("a roster outside the repository", POLICY,
         replace("  source: github", "  source: roster\n  roster: ../../../../etc/passwd"),
         (f"{POLICY}:117:11:", "roster '../../../../etc/passwd': path leaves the repository")),
    Edit("a 5,000-digit integer", POLICY, replace("timeout: 120", "timeout: " + "9" * 5000),
         (f"{POLICY}:", "a number of 5000 characters (at most 64)")),
    Edit("100,000 nested flow sequences", POLICY, lambda text: "x: " + "[" * 100_000,
         (f"{POLICY}:", "nest")),
    Edit("an unpaired surrogate escape", POLICY,
         replace("version: 1\n", 'version: 1\nx: "\\ud800"\n'),
         (f"{POLICY}:4:4:", "unpaired surrogate")),
    Edit("a NUL byte", POLICY, lambda text: text.replace("version: 1", "version: 1\x00"),
         (f"{POLICY}:3:11:", "control or bidirectional character U+0000")),
    Edit("not UTF-8", POLICY, lambda text: text.encode() + b"\xff\n",
         (f"{POLICY}:", "not UTF-8 (byte 0xff)")),
    Edit("larger than the YAML bound", POLICY, lambda text: text + "#" * (1024 * 1024),
         (POLICY, "file is larger than 1048576 bytes")),
    Edit("a model identifier built to backtrack", CR,
         replace("change_type: ruleset", "change_type: ruleset\nmodels:\n  - name: m\n"
                 '    identifier: "m:1' + ".1" * 60 + '!"'),
         (f"{CR}:5:17:", "is not in the required form")),
    Edit("a 5,000-digit version", CR, replace('proposed_version: "1.0.0"',
                                              "proposed_version: " + "1" * 5000),
         (f"{CR}:5:19:", "a number of 5000 characters")),
    Edit("an alias bomb", CR, lambda text: "a: &a [x]\nb: [*a, *a]\n",
         (f"{CR}:1:4:", "anchor &a is not allowed")),
]


@pytest.mark.parametrize("edit", DOCUMENT_EDITS, ids=[e.name for e in DOCUMENT_EDITS])
def test_validate_locates_every_hostile_document(
    edit: Edit, example_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = example_repo / edit.path
    changed = edit.change(target.read_text())
    if isinstance(changed, bytes):
        target.write_bytes(changed)
    else:
        target.write_text(changed)
    # the whole repository: every change request's artifacts are matched against the globs
    code, out = run(capsys, "validate", "--repo", str(example_repo))
    assert_refused(code, out, 1, *edit.words)


def test_a_glob_that_crashed_approvals_is_a_located_policy_error(
    example_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """[z-a] on the base branch: approvals and the gate ended in a regex traceback."""
    policy = example_repo / POLICY
    policy.write_text(policy.read_text().replace('["configs/routing_tables/**"]',
                                                 '["configs/routing_tables/[z-a]"]'))
    git(example_repo, "commit", "-qam", "a policy that cannot work")
    head = git(example_repo, "rev-parse", "HEAD")
    snapshot = json.loads((EXAMPLE / "snapshots" / "approved.json").read_text())
    snapshot["pull_request"]["head"]["sha"] = snapshot["pull_request"]["base"]["sha"] = head
    path = example_repo.parent / "pr.json"
    path.write_text(json.dumps(snapshot))
    code, out = run(capsys, "approvals", "--repo", str(example_repo), "--snapshot", str(path))
    assert_refused(code, out, 2, f"{POLICY}:21:13:", "the range z-a in [z-a] is reversed")


# --- snapshots (`approvals --snapshot`, exit 2) and evidence -------------------------------

JSON_DOCUMENTS = {
    "100,000 nested arrays": (DEEP_JSON, "nested deeper than 64 levels"),
    "a 5,000-digit integer": ('{"snapshot_version": ' + "1" * 5000 + "}", "a number of 5000"),
    "NaN": ('{"snapshot_version": NaN}', "NaN is not a JSON number"),
    "1e999": ('{"snapshot_version": 1e999}', "out of range"),
    "duplicate keys": ('{"a": 1, "a": 2}', "duplicate key 'a'"),
    "an unpaired surrogate": ('{"a": "\\udc00"}', "unpaired surrogate"),
    "not UTF-8": ('{"a": "\xff"}', "not UTF-8"),
    "empty": ("", "not valid JSON"),
    "truncated": ('{"a": [1, 2', "not valid JSON"),
}


@pytest.fixture
def special_files(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    return {
        "a FIFO": fifo,
        "a folder": tmp_path,
        "/proc/self/mem": Path("/proc/self/mem"),
        "/dev/zero": Path("/dev/zero"),
        "a 5,000-character name": tmp_path / LONG_NAME,
        "a missing file": tmp_path / "missing.json",
    }


SPECIAL_WORDS = {
    "a FIFO": "is a FIFO (named pipe), not a regular file",
    "a folder": "is a folder, not a regular file",
    "/proc/self/mem": "cannot read: Input/output error",
    "/dev/zero": "is a character device, not a regular file",
    "a 5,000-character name": "the file name is too long for this system",
    "a missing file": "not found",
}


@pytest.mark.parametrize("name", list(JSON_DOCUMENTS))
def test_approvals_refuses_a_hostile_snapshot_document(
    name: str, example_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, words = JSON_DOCUMENTS[name]
    path = example_repo.parent / "pr.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape") if "\xff" not in text
                     else text.encode("latin-1"))
    code, out = run(capsys, "approvals", "--repo", str(example_repo), "--snapshot", str(path))
    assert_refused(code, out, 2, str(path), words)


@pytest.mark.parametrize("name", list(SPECIAL_WORDS))
def test_approvals_refuses_a_snapshot_that_is_not_a_regular_file(
    name: str, special_files: dict[str, Path], example_repo: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = special_files[name]
    code, out = run(capsys, "approvals", "--repo", str(example_repo), "--snapshot", str(path))
    words = "is a directory" if name == "a folder" else SPECIAL_WORDS[name]  # click says so
    assert_refused(code, out, 2, str(path)[:100], words)


@pytest.mark.parametrize("name", list(SPECIAL_WORDS))
def test_hash_refuses_what_is_not_a_regular_file(
    name: str, special_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = special_files[name]
    if name == "a folder":
        os.mkfifo(path / "inside")  # a folder's special files are left out, not read
        (path / "plain").write_text("x")
        code, out = run(capsys, "hash", str(path))
        assert (code, out.split()) == (0, [
            "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881", f"{path}/plain"])
        return
    code, out = run(capsys, "hash", str(path))
    assert_refused(code, out, 2, str(path)[:100], SPECIAL_WORDS[name])


@pytest.mark.parametrize("name", [*JSON_DOCUMENTS, "a FIFO"])
def test_evidence_that_cannot_be_read_names_its_file(name: str, tmp_path: Path) -> None:
    path = tmp_path / "evidence.json"
    if name == "a FIFO":
        os.mkfifo(path)
        words = "is a FIFO"
    else:
        text, words = JSON_DOCUMENTS[name]
        path.write_bytes(text.encode("latin-1") if "\xff" in text else text.encode())
    with pytest.raises(ConfigError) as raised:
        load_evidence(path)
    rendered = "\n".join(p.render() for p in raised.value.problems) or raised.value.message
    assert str(path) in rendered and words in rendered


def test_a_snapshot_with_a_repeated_review_among_20000_is_refused_in_linear_time() -> None:
    """The duplicate-review check was quadratic (40,000 reviews took 21 s)."""
    snapshot = json.loads((EXAMPLE / "snapshots" / "approved.json").read_text())
    review = snapshot["reviews"][0]
    snapshot["reviews"] = [{**review, "id": index} for index in range(1, 20_001)] + [review]
    snapshot["reviews"][-1] = {**review, "id": 7}
    with pytest.raises(ConfigError, match="review id 7 appears more than once"):
        parse_snapshot(snapshot, "pr.json")


# --- CODEOWNERS -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "path", "owned"),
    [
        ("*a" * 30 + "b @org/team", "a" * 60, False),  # hung Python's re
        ("*a" * 30 + "b @org/team", "a" * 59 + "b", True),
        ("**/" * 30 + "*.json @org/team", "x/" * 50 + "y.json", True),
        ("/docs/**/*a*a*a*a*a*a*a*a*a*b @org/team", "docs/" + "a" * 200, False),
    ],
)
def test_codeowners_matching_is_linear_in_the_path(rule: str, path: str, owned: bool) -> None:
    codeowners = parse_codeowners(rule + "\n")
    assert codeowners.problems == ()
    assert (codeowners.owners_for(path).owners == ("@org/team",)) is owned


HOSTILE_INPUTS = (
    len(DOCUMENT_EDITS) + 1 + len(JSON_DOCUMENTS) + 2 * len(SPECIAL_WORDS)
    + len(JSON_DOCUMENTS) + 1 + 1 + 4
)
