"""One command line: every command listed, with an example and its exit codes; the same names
for the same things (--base, -o/--output); old spellings kept as hidden aliases for a release."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from promotion_bot.cli.main import COMMANDS, SUMMARIES, LazyGroup, cli, main
from tests.conftest import git

COMMAND_NAMES = list(COMMANDS)
CONSISTENT = COMMAND_NAMES
# the spellings of before the consistency pass, and what they are now
RENAMED = {
    "record": {"--ref": "--base"},
    "audit": {"--ref": "--base"},
    "status": {"--ref": "--base"},
    "verify": {"--main": "--base"},
    "export": {"--ref": "--base"},
    "check": {"--evidence": "--output"},
    "gate": {"--save-snapshot": "--output"},
}


def command(name: str) -> click.Command:
    found = LazyGroup().get_command(click.Context(cli), name)
    assert found is not None
    return found


@functools.cache
def help_text(*args: str) -> str:
    """What `promotion-bot ARGS --help` prints, read through click's own test runner: the same
    command objects and formatter as a started process. A started process without a terminal
    writes 78 columns (click's default of 80, less its margin), where the runner forces 80
    (test_the_help_read_in_process_is_what_a_started_process_prints keeps them equal)."""
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="promotion-bot",
                                terminal_width=78)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("words", [(), ("check",), ("keys", "generate")], ids=" ".join)
def test_the_help_read_in_process_is_what_a_started_process_prints(words: tuple[str, ...]) -> None:
    started = subprocess.run([sys.executable, "-m", "promotion_bot", *words, "--help"],
                             capture_output=True, text=True, check=False)
    assert started.returncode == 0, started.stderr
    assert started.stdout == help_text(*words)


def all_commands() -> list[tuple[str, ...]]:
    """Every command of the consistency pass and its subcommands, as the words that name it."""
    found: list[tuple[str, ...]] = []
    for name in CONSISTENT:
        found.append((name,))
        group = command(name)
        if isinstance(group, click.Group):
            found += [(name, sub) for sub in group.list_commands(click.Context(group))]
    return found


def test_the_top_level_help_lists_every_command_without_importing_them() -> None:
    script = (
        "import sys\n"
        "from promotion_bot.cli.main import main\n"
        "code = main(['--help'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('promotion_bot.cli.')\n"
        "             and m not in ('promotion_bot.cli.main',)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    *lines, imported = result.stdout.rstrip("\n").split("\n")
    assert imported == "[]", "--help imported command modules"
    listing = "\n".join(lines)
    for name in COMMAND_NAMES:
        assert f"\n  {name:<10} {SUMMARIES[name]}" in listing
    groups = listing.split("Options:")[0]
    assert all(name in groups for name in COMMAND_NAMES), "a command is missing from the groups"


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_the_top_level_summary_is_the_commands_own(name: str) -> None:
    own = command(name).get_short_help_str(limit=200)
    if name in CONSISTENT:
        assert own == SUMMARIES[name]
    else:
        assert own.startswith(SUMMARIES[name].removesuffix(".")), own


@pytest.mark.parametrize("words", all_commands(), ids=" ".join)
def test_every_command_shows_an_example_and_its_exit_codes(words: tuple[str, ...]) -> None:
    text = help_text(*words)
    assert "Example" in text, f"promotion-bot {' '.join(words)} --help has no example"
    assert "Exit codes:" in text, f"promotion-bot {' '.join(words)} --help states no exit codes"
    example = text.split("Example", 1)[1].split("\n\n", 1)[0]
    assert f"promotion-bot {words[0]}" in example


@pytest.mark.parametrize("words", all_commands(), ids=" ".join)
def test_the_same_things_have_the_same_names(words: tuple[str, ...]) -> None:
    text = help_text(*words)
    for old in ("--ref", "--main", "--save-snapshot", "--out ", "--evidence FILE"):
        assert old not in text, f"promotion-bot {' '.join(words)} --help still shows {old}"
    assert "\n  --output " not in text, "--output has its short form -o everywhere"


@pytest.mark.parametrize("name", sorted(RENAMED))
def test_old_spellings_are_hidden_but_still_parsed(name: str) -> None:
    text = help_text(name)
    for old, new in RENAMED[name].items():
        assert old not in text and new in text


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (["status", "--ref", "HEAD"], ["status", "--base", "HEAD"]),
        (["status", "--ref=HEAD", "--format", "json"], ["status", "--base=HEAD", "--format", "json"]),
        (["audit", "--ref", "HEAD"], ["audit", "--base", "HEAD"]),
        (["verify", "--commit", "HEAD", "--main", "main"],
         ["verify", "--commit", "HEAD", "--base", "main"]),
    ],
)
def test_an_old_spelling_works_and_says_its_new_name(
    example_repo: Path, capsys: pytest.CaptureFixture[str], old: list[str], new: list[str]
) -> None:
    code = main([*new, "--repo", str(example_repo)])
    expected = capsys.readouterr()
    assert main([*old, "--repo", str(example_repo)]) == code
    seen = capsys.readouterr()
    assert seen.out == expected.out
    name = next(a.split("=")[0] for a in old if a.startswith("--") and a not in new)
    assert seen.err == (
        f"promotion-bot: {name} is now --base; the old name goes away in the next release\n"
        + expected.err
    )


def test_an_alias_after_double_dash_is_an_argument(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    (tmp_path / "--ref").write_text("x")
    assert main(["hash", "--", str(tmp_path / "--ref")]) == 0
    assert "--ref" in capsys.readouterr().out


def test_keys_generate_keeps_out_for_one_release(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "generate", "--out", str(tmp_path / "k.pem")]) == 0
    assert "--out is now --output" in capsys.readouterr().err
    assert (tmp_path / "k.pem").is_file()


def test_approvals_writes_its_decision_to_a_file(
    example_repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    snapshot = {
        "snapshot_version": 1,
        "repository": "example-org/intake-routing",
        "pull_request": {
            "number": 7, "title": "Notes", "state": "open",
            "user": {"login": "erin", "id": 1, "type": "User"},
            "head": {"ref": "notes", "sha": git(example_repo, "rev-parse", "HEAD")},
            "base": {"ref": "main", "sha": git(example_repo, "rev-parse", "HEAD")},
            "changed_files": 0,
        },
        "files": [],
        "reviews": [],
        "teams": {},
    }
    path = tmp_path / "pr.json"
    path.write_text(json.dumps(snapshot))
    out = tmp_path / "decision" / "comment.md"
    code = main(["approvals", "--repo", str(example_repo), "--snapshot", str(path),
                 "--format", "markdown", "-o", str(out)])
    printed = capsys.readouterr().out
    assert code in (0, 1, 2), printed
    assert printed.startswith(f"wrote {out} (")
    assert out.read_text().startswith("<!-- promotion-bot:approvals -->")
