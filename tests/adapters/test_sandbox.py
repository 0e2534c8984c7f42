"""The demo's sandbox: processes run as a person of the example, never as CI or with the user's
git configuration; their output streams line by line; failures say what happened."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from promotion_bot import __version__
from promotion_bot.adapters.sandbox import Person, PreloadedBot, git, promotion_bot_argv, run
from promotion_bot.core.errors import GitError

ERIN = Person("erin", "Erin Engineer", "erin@example.org")


def test_a_process_sees_the_persons_identity_and_no_ci_secrets_or_git_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "GITHUB_TOKEN": "secret", "PROMOTION_BOT_SIGNING_KEY": "-----BEGIN PRIVATE KEY-----",
        "GIT_DIR": str(tmp_path / "elsewhere"), "GIT_AUTHOR_NAME": "The User", "CI": "true",
    }.items():
        monkeypatch.setenv(name, value)
    lines: list[str] = []
    finished = run([sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"],
                   tmp_path, ERIN, lines.append)
    seen = json.loads(finished.output)
    assert finished.exit_code == 0
    leaked = {"GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_TOKEN", "PROMOTION_BOT_SIGNING_KEY",
              "GIT_DIR", "CI"} & set(seen)
    assert leaked == set()
    assert (seen["GIT_AUTHOR_NAME"], seen["GIT_COMMITTER_EMAIL"]) == (ERIN.name, ERIN.email)
    assert (seen["GIT_CONFIG_NOSYSTEM"], seen["GIT_CONFIG_GLOBAL"]) == ("1", os.devnull)
    assert seen["PATH"]


def test_output_streams_line_by_line_in_the_order_it_was_written(tmp_path: Path) -> None:
    script = ("import sys\nprint('one')\nprint('two', file=sys.stderr)\nprint('three')\n"
              "sys.exit(4)\n")
    lines: list[str] = []
    finished = run([sys.executable, "-c", script], tmp_path, ERIN, lines.append)
    assert lines == ["one", "two", "three"]
    assert (finished.exit_code, finished.output) == (4, "one\ntwo\nthree\n")


def test_a_command_that_cannot_start_is_exit_127_with_the_reason(tmp_path: Path) -> None:
    lines: list[str] = []
    finished = run(["no-such-program-here"], tmp_path, ERIN, lines.append)
    assert finished.exit_code == 127
    assert lines == ["no-such-program-here: cannot start (No such file or directory)"]


def test_a_command_that_outlives_its_timeout_is_killed_and_says_so(tmp_path: Path) -> None:
    lines: list[str] = []
    # the shell writes its line a millisecond or so after it starts: a timeout of a quarter of
    # a second leaves it a wide margin (Python would take a tenth of a second to start)
    finished = run(["sh", "-c", "echo started; exec sleep 60"], tmp_path, ERIN, lines.append,
                   timeout=0.25)
    assert finished.exit_code != 0
    assert lines == ["started", "(killed after 0.25 s)"]


def test_git_commits_as_the_person_and_a_failure_carries_gits_words(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", person=ERIN)
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "first", person=ERIN)
    assert git(tmp_path, "log", "-1", "--format=%an <%ae>", person=ERIN) == (
        "Erin Engineer <erin@example.org>")
    with pytest.raises(GitError) as raised:
        git(tmp_path, "switch", "no-such-branch", person=ERIN)
    assert "`git switch no-such-branch` failed" in raised.value.message
    assert "no-such-branch" in raised.value.message.split("):", 1)[1]


# --- promotion-bot commands forked from a server that has imported them ----------------------


@pytest.fixture(scope="module")
def preloaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreloadedBot]:
    """One server for the module, as the demo keeps one for all its steps: each test's
    commands must answer as started ones whatever the server ran before them."""
    bot = PreloadedBot(tmp_path_factory.mktemp("preloaded"))
    yield bot
    bot.close()


@pytest.mark.parametrize(
    "args",
    [["--version"], ["--help"], ["no-such-command"], ["validate"], ["hash", "artifact.txt"],
     ["hash", "missing.txt"], ["approvals", "--snapshot", "missing.json"]],
    ids=["version", "help", "unknown-command", "validate-outside-a-repository",
         "hash-of-a-file-in-its-folder", "hash-of-a-missing-file", "a-usage-error"],
)
def test_a_preloaded_command_answers_exactly_as_a_started_one(
    tmp_path: Path, preloaded: PreloadedBot, args: list[str]
) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "artifact.txt").write_text("routing rules\n")
    lines: list[str] = []
    forked = preloaded.run(args, folder, ERIN, lines.append)
    started = run(promotion_bot_argv(args), folder, ERIN, lambda line: None)
    assert forked == started
    assert lines == forked.output.splitlines()


def test_each_preloaded_command_sees_its_own_environment_not_the_servers(
    tmp_path: Path, preloaded: PreloadedBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """click wraps help to COLUMNS: the server starts with the first command's environment,
    the second command must see its own."""
    monkeypatch.setenv("COLUMNS", "60")
    narrow = preloaded.run(["validate", "--help"], tmp_path, ERIN, lambda line: None)
    monkeypatch.setenv("COLUMNS", "200")
    wide = preloaded.run(["validate", "--help"], tmp_path, ERIN, lambda line: None)
    assert narrow.output != wide.output
    assert wide == run(promotion_bot_argv(["validate", "--help"]), tmp_path, ERIN,
                       lambda line: None)


def test_a_preloaded_command_that_outlives_its_timeout_is_killed_and_the_next_one_runs(
    tmp_path: Path, preloaded: PreloadedBot
) -> None:
    lines: list[str] = []
    # the demo takes seconds: a shorter timeout only makes it surer to outlive it
    finished = preloaded.run(["demo", str(tmp_path / "demo")], tmp_path, ERIN, lines.append,
                             timeout=0.25)
    assert finished.exit_code != 0
    assert lines[-1] == "(killed after 0.25 s)"
    version = preloaded.run(["--version"], tmp_path, ERIN, lambda line: None)
    assert (version.exit_code, version.output) == (0, f"promotion-bot, version {__version__}\n")
