"""The demo's sandbox: processes run as a person of the example, never as CI or with the user's
git configuration; their output streams line by line; failures say what happened."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from promotion_bot.adapters.sandbox import Person, git, run
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
    finished = run([sys.executable, "-c", "import time; print('started', flush=True); "
                    "time.sleep(60)"], tmp_path, ERIN, lines.append, timeout=1)
    assert finished.exit_code != 0
    assert lines == ["started", "(killed after 1 s)"]


def test_git_commits_as_the_person_and_a_failure_carries_gits_words(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", person=ERIN)
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "first", person=ERIN)
    assert git(tmp_path, "log", "-1", "--format=%an <%ae>", person=ERIN) == (
        "Erin Engineer <erin@example.org>")
    with pytest.raises(GitError) as raised:
        git(tmp_path, "switch", "no-such-branch", person=ERIN)
    assert "`git switch no-such-branch` failed" in raised.value.message
    assert "no-such-branch" in raised.value.message.split("):", 1)[1]
