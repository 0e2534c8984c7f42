"""`promotion-bot check` end to end: real git repositories, real check subprocesses.

Each case builds a branch of the example governed repository and asserts what the engineer
sees: the exit code, the message (with file:line where there is one) and the evidence
document, which must validate against schemas/evidence.schema.json every time.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from promotion_bot.adapters import check_runner
from promotion_bot.cli.main import main
from promotion_bot.core.formats.schemas import validate_data
from tests.adapters.test_check_runner import sigterm_held
from tests.conftest import EXAMPLE
from tests.gitrepo import GitRepo, process_gone, ruleset_branch

MODEL = "configs/models/classifier.yaml"
PROMPT = "prompts/classify_prompt.md"
ACK = "templates/replies/acknowledgement.md"
PINNED = (
    "ollama/qwen2.5:7b-instruct@sha256:"
    "2b0496514337a3d5ada8b1c3c1b2a3d1f4e6f4d3a2b1c0d9e8f7a6b5c4d3e2f1"
)


class Result:
    def __init__(self, code: int, out: str, err: str, evidence: dict[str, Any] | None) -> None:
        self.code, self.out, self.err, self.evidence = code, out, err, evidence

    def check(self, name: str) -> dict[str, Any]:
        assert self.evidence is not None
        return next(c for c in self.evidence["checks"] if c["name"] == name)


@pytest.fixture
def repo(example_repo: Path) -> GitRepo:
    return GitRepo(example_repo)


def run_check(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], *args: str, base: str = "main"
) -> Result:
    out_dir = repo.root.parent / "check-output"
    evidence_path = repo.root.parent / "evidence.json"
    evidence_path.unlink(missing_ok=True)
    code = main(
        [
            "check",
            "--repo",
            str(repo.root),
            "--base",
            base,
            "--output-dir",
            str(out_dir),
            "--output",
            str(evidence_path),
            *args,
        ]
    )
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    evidence = None
    if evidence_path.exists():
        evidence = json.loads(evidence_path.read_text())
        assert validate_data("evidence", evidence, "evidence.json") == []
    return Result(code, captured.out, captured.err, evidence)


def set_checks(
    repo: GitRepo, change_type: str, checks: dict[str, str], required: list[str]
) -> None:
    """On main: define `checks` (YAML bodies) and make them `change_type`'s required checks."""
    policy = ".promotion/policy.yaml"
    text = repo.read(policy)
    definitions = "".join(f"  {name}:\n{body}" for name, body in checks.items())
    text = text.replace("checks:\n", "checks:\n" + definitions, 1)
    marker = f"  {change_type}:\n"
    start = text.index(marker)
    line_start = text.index("    required_checks:", start)
    line_end = text.index("\n", line_start)
    text = text[:line_start] + f"    required_checks: [{', '.join(required)}]" + text[line_end:]
    repo.write(policy, text)
    repo.commit("Policy: test checks")


def python_check(code: str, timeout: int = 60) -> str:
    argv = json.dumps([sys.executable, "-c", code])
    return f"    run: {argv}\n    timeout: {timeout}\n"


# --- passing ---------------------------------------------------------------------------------


def test_a_correct_ruleset_promotion_passes_with_evidence(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    ruleset_branch(repo)
    result = run_check(repo, capsys)
    assert result.code == 0, result.out + result.err
    assert "CR-2026-0005  ruleset routing-rules 1.0.0 -> 1.1.0" in result.out
    assert "passed: 3 required checks passed" in result.out
    evidence = result.evidence
    assert evidence is not None and evidence["result"] == "passed"
    assert [c["name"] for c in evidence["checks"]] == [
        "rules-lint",
        "rules-simulate",
        "pack-verify",
    ]
    lint = result.check("rules-lint")
    assert lint["command"] == [
        "python3", "tools/ieimctl.py", "rules", "lint",
        "configs/routing_tables/routing_rules_v1.1.0.json",
    ]
    assert lint["exit_code"] == 0 and lint["required_by"] == ["CR-2026-0005"]
    assert "rules lint: 1 ruleset(s), 0 problem(s)" in lint["output"]["tail"]
    log = repo.root.parent / "check-output" / lint["output"]["file"]
    assert lint["output"]["sha256"] == __import__("hashlib").sha256(log.read_bytes()).hexdigest()
    assert evidence["head"]["sha"] == repo.git("rev-parse", "HEAD")
    assert evidence["base"]["sha"] == repo.git("rev-parse", "main")
    cr = evidence["change_requests"][0]
    assert cr["artifacts"][0]["path"] == "configs/routing_tables/routing_rules_v1.1.0.json"
    assert evidence["declarations"]["governance_changes"] == ["pack/SHA256SUMS"]
    assert evidence["runner"] == {"kind": "local", "github": None}
    assert "started   rules-lint" in result.err and "passed    pack-verify" in result.err


def test_a_branch_without_change_requests_needs_no_checks(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.branch("docs")
    repo.write("NOTES.md", "not governed\n")
    repo.commit("Notes")
    result = run_check(repo, capsys)
    assert result.code == 0
    assert "this branch adds no change request" in result.out


@pytest.mark.parametrize(
    ("path", "content"),
    [("docs/notes.yaml", "a: 1\n"), ("change-requests/CR-2026-0009.yaml", "not: [valid\n")],
    ids=["yaml-elsewhere", "unreadable-change-request"],
)
def test_a_branch_adding_yaml_but_no_checks_leaves_no_work_tree_behind(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], path: str, content: str
) -> None:
    # a branch that adds YAML gets its head's work tree made while the policy is read (its
    # checks would need it); when no check runs, it is removed all the same
    repo.branch("feature")
    repo.write(path, content)
    repo.commit("Add YAML")
    result = run_check(repo, capsys)
    assert result.evidence is not None and result.evidence["checks"] == []
    assert repo.git("worktree", "list", "--porcelain").count("worktree ") == 1


@pytest.mark.parametrize("stage", [True, False], ids=["staged", "not-added"])
def test_nothing_committed_is_said_and_fails(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], stage: bool
) -> None:
    """The change request and its ruleset are written (and staged) but not committed: check
    runs on commits, so it must not answer "passed: no checks are required"."""
    repo.branch("feature")
    ruleset = repo.new_ruleset("1.1.0")
    repo.change_request("CR-2026-0005", "ruleset", "routing-rules", "1.0.0", "1.1.0", [ruleset])
    repo.write("NOTES.md", "not governed\n")
    if stage:
        repo.git("add", "-A")
    result = run_check(repo, capsys, "--head", "HEAD")
    assert result.code == 2
    assert result.evidence is None
    assert (
        "promotion-bot: nothing to check: HEAD adds no change request, and 2 governed file(s) "
        "are not committed (change-requests/CR-2026-0005.yaml, "
        "configs/routing_tables/routing_rules_v1.1.0.json); check runs on commits: commit them, "
        "then run promotion-bot check again"
    ) in result.err
    assert "passed" not in result.out


def test_a_change_request_committed_as_a_symbolic_link_is_not_read_through_it(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    # the head adds change-requests/CR-2026-0006.yaml as a link to a valid change request
    # elsewhere: check reads what the head commits at that path (a link), never its target
    ruleset_branch(repo)
    text = repo.read("change-requests/CR-2026-0005.yaml").replace("CR-2026-0005", "CR-2026-0006")
    repo.write("notes/CR-2026-0006.yaml", text)
    (repo.root / "change-requests" / "CR-2026-0006.yaml").symlink_to(
        "../notes/CR-2026-0006.yaml"
    )
    repo.commit("Link a change request")
    result = run_check(repo, capsys)
    assert result.code == 1
    assert result.evidence is not None
    problems = result.evidence["declarations"]["problems"]
    assert {"file": "change-requests/CR-2026-0006.yaml",
            "message": "not a regular file in the head commit"}.items() <= problems[0].items()
    assert [cr["change_id"] for cr in result.evidence["change_requests"]] == ["CR-2026-0005"]


def test_uncommitted_changes_beside_a_committed_change_request_are_named(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    ruleset_branch(repo)
    repo.write("configs/routing_tables/routing_rules_v1.2.0.json", "{}\n")
    result = run_check(repo, capsys)
    assert result.code == 0, result.out
    assert (
        "note: 1 governed file(s) are not committed and were not checked: "
        "configs/routing_tables/routing_rules_v1.2.0.json"
    ) in result.out


def test_a_prompt_promotion_runs_the_evaluation_on_head_and_base(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.branch("prompt")
    repo.replace(PROMPT, "version 1.0.0", "version 1.1.0")
    repo.replace(PROMPT, "answer general.", "answer general. Be brief.")
    repo.update_pack()
    digest = repo.sha256(PROMPT)
    extra = f'prompts:\n  - path: {PROMPT}\n    version: "1.1.0"\n    sha256: {digest}\n'
    repo.change_request(
        "CR-2026-0005", "prompt", "classify-prompt", "1.0.0", "1.1.0", [PROMPT], extra=extra
    )
    repo.commit("Prompt 1.1.0")
    result = run_check(repo, capsys)
    assert result.code == 0, result.out
    safety = result.check("safety-eval")
    assert safety["kind"] == "builtin" and safety["builtin"] == "no-regression"
    assert {row["name"]: row["result"] for row in safety["details"]["metrics"]} == {
        "accuracy": "ok",
        "sensitive_misroutes": "ok",
        "pii_guard": "ok",
        "deterministic_decoding": "ok",
    }
    assert safety["details"]["base_run"]["exit_code"] == 0


def test_the_governed_root_may_be_a_subfolder_of_the_work_tree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    top = tmp_path / "project"
    shutil.copytree(
        EXAMPLE, top / "examples" / "governed-repo", ignore=shutil.ignore_patterns("snapshots")
    )
    (top / "README.md").write_text("the bot's own repository\n")
    outer = GitRepo(top)
    outer.git("init", "-q")
    outer.commit("Initial")
    repo = GitRepo(top / "examples" / "governed-repo")
    ruleset_branch(repo)
    result = run_check(repo, capsys)
    assert result.code == 0, result.out + result.err
    assert result.evidence is not None
    assert result.evidence["repository"]["root"] == "examples/governed-repo/"


# --- declarations ----------------------------------------------------------------------------


def test_an_undeclared_change_is_named_with_the_change_request_it_belongs_in(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.branch("feature")
    ruleset = repo.new_ruleset("1.1.0")
    repo.replace(ACK, "two working days", "three working days")
    repo.update_pack()
    repo.change_request("CR-2026-0005", "ruleset", "routing-rules", "1.0.0", "1.1.0", [ruleset])
    repo.commit("Rules and an undeclared template edit")
    result = run_check(repo, capsys)
    assert result.code == 1
    assert (
        f"{ACK}: changed on this branch but declared by no change request "
        "(governed by change type template) (declare it in a template change request: "
        f"promotion-bot new --type template" in result.out
    )
    assert result.evidence is not None
    assert result.evidence["declarations"]["result"] == "failed"


def test_an_undeclared_file_of_the_same_type_points_at_the_branch_change_request(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.branch("feature")
    ruleset = repo.new_ruleset("1.1.0")
    extra = repo.new_ruleset("1.1.1")
    repo.update_pack()
    repo.change_request("CR-2026-0005", "ruleset", "routing-rules", "1.0.0", "1.1.0", [ruleset])
    repo.commit("Two rulesets, one declared")
    result = run_check(repo, capsys)
    assert result.code == 1
    assert (
        f"{extra}: changed on this branch but declared by no change request (governed by "
        f"change type ruleset) (add it to the artifacts of CR-2026-0005 "
        f"(change-requests/CR-2026-0005.yaml): - path: {extra}, sha256: {repo.sha256(extra)})"
    ) in result.out


def test_a_hash_mismatch_is_located_in_the_change_request(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.branch("feature")
    ruleset = repo.new_ruleset("1.1.0")
    repo.update_pack()
    wrong = "ab" * 32
    repo.change_request(
        "CR-2026-0005",
        "ruleset",
        "routing-rules",
        "1.0.0",
        "1.1.0",
        [ruleset],
        sha256={ruleset: wrong},
    )
    repo.commit("Wrong digest")
    result = run_check(repo, capsys)
    assert result.code == 1
    assert (
        f"change-requests/CR-2026-0005.yaml:9:13: artifacts[0].sha256: sha256 of {ruleset} in "
        f"the head commit is {repo.sha256(ruleset)}, not {wrong} "
        f"(run: promotion-bot hash {ruleset}, and commit)"
    ) in result.out


@pytest.mark.parametrize("action", ["modify", "delete"])
def test_a_merged_change_request_is_immutable(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    ruleset_branch(repo)
    merged = "change-requests/CR-2026-0001.yaml"
    if action == "modify":
        repo.replace(merged, "First promotion of", "Initial promotion of")
    else:
        repo.delete(merged)
    repo.commit(f"{action} a merged CR")
    result = run_check(repo, capsys)
    assert result.code == 1
    verb = "modifies" if action == "modify" else "deletes"
    assert (
        f"{merged}: this branch {verb} a merged change request; merged change requests are "
        "immutable" in result.out
    )


def test_a_stale_current_version_must_rebase_after_the_first_pr_merges(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    ruleset_branch(repo, "first", version="1.1.0", change_id="CR-2026-0005")
    ruleset_branch(repo, "second", version="1.2.0", change_id="CR-2026-0006")
    repo.checkout("first")
    assert run_check(repo, capsys).code == 0
    repo.checkout("second")
    assert run_check(repo, capsys).code == 0  # both pass while neither is merged
    repo.merge_into_main("first")
    repo.checkout("second")
    result = run_check(repo, capsys)
    assert result.code == 1
    assert (
        "change-requests/CR-2026-0006.yaml:6:18: current_version: rebase: routing-rules is at "
        "1.1.0 on main, not 1.0.0"
    ) in result.out


def test_a_rollback_restores_the_previous_version(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    ruleset_branch(repo, "first")
    repo.merge_into_main("first")
    repo.branch("rollback")
    repo.delete("configs/routing_tables/routing_rules_v1.1.0.json")
    repo.update_pack()
    repo.change_request(
        "CR-2026-0006",
        "ruleset",
        "routing-rules",
        "1.1.0",
        "1.0.0",
        ["configs/routing_tables/routing_rules_v1.0.0.json"],
        extra="rollback_of: CR-2026-0005\n",
    )
    repo.commit("Roll back routing rules 1.1.0")
    result = run_check(repo, capsys)
    assert result.code == 0, result.out
    assert [c["name"] for c in result.evidence["checks"]] == ["pack-verify"]  # type: ignore[index]


# --- check commands --------------------------------------------------------------------------


def test_a_failing_check_shows_its_output(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = json.loads(repo.read("configs/routing_tables/routing_rules_v1.0.0.json"))["rules"]
    rules[0]["any_keywords"] = [*rules[0]["any_keywords"], "Fraud"]
    ruleset_branch(repo, edit={"rules": rules})
    result = run_check(repo, capsys)
    assert result.code == 1
    lint = result.check("rules-lint")
    assert lint["result"] == "failed" and lint["exit_code"] == 1
    assert "keyword 'Fraud' must be lower case" in lint["output"]["tail"]
    assert "FAILED   rules-lint" in result.out and "exit 1" in result.out
    assert (
        "| routing_rules_v1.1.0.json: rule fraud-report: keyword 'Fraud' must be lower case"
        in result.out
    )
    assert "failed: 1 of 3 checks did not pass (rules-lint)" in result.out


def test_a_hanging_check_times_out_and_its_process_group_is_killed(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pid_file = tmp_path / "child.pid"
    hang = (
        "import signal, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('waiting forever', flush=True)\n"
        "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})\n"  # ready to die
        "time.sleep(120)\n"
    )
    set_checks(repo, "ruleset", {"hang": python_check(hang, timeout=1)}, ["hang"])
    ruleset_branch(repo)
    # the check (started on a thread of this one) cannot die of its timeout's SIGTERM before
    # it has started its child and said so, however late it runs; it dies as soon as it has
    monkeypatch.setattr(check_runner, "TERMINATE_GRACE_SECONDS", 30)
    with sigterm_held():
        result = run_check(repo, capsys)
    assert result.code == 1
    hung = result.check("hang")
    assert hung["result"] == "timeout"
    assert hung["reason"] == "timed out after 1 s; the process group was killed"
    assert "waiting forever" in hung["output"]["tail"]
    assert "TIMEOUT  hang" in result.out
    assert process_gone(int(pid_file.read_text()))


def test_a_missing_check_command_fails(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    set_checks(repo, "ruleset", {"lint": "    run: no-such-ieimctl rules lint\n"}, ["lint"])
    ruleset_branch(repo)
    result = run_check(repo, capsys)
    assert result.code == 1
    lint = result.check("lint")
    assert lint["result"] == "error" and lint["exit_code"] is None
    assert lint["reason"].startswith("cannot start no-such-ieimctl: not found on PATH")
    assert "ERROR    lint" in result.out


def test_check_commands_get_a_clean_environment(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    show = "import json, os; print(json.dumps(dict(os.environ), sort_keys=True))"
    set_checks(repo, "ruleset", {"env": python_check(show)}, ["env"])
    ruleset_branch(repo)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("ACTIONS_RUNTIME_TOKEN", "secret")
    result = run_check(repo, capsys)
    assert result.code == 0, result.out
    seen = json.loads(result.check("env")["output"]["tail"])
    promotion = {name for name in seen if name.startswith("PROMOTION_")}
    assert set(seen) - {"LC_CTYPE"} - promotion == {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL"}
    assert "secret" not in json.dumps(seen)
    assert seen["HOME"] != str(Path.home())
    # the facts of the change, and nothing else, are added
    assert seen["PROMOTION_ARTIFACTS"] == "configs/routing_tables/routing_rules_v1.1.0.json"
    assert seen["PROMOTION_CHANGE_ID"] == "CR-2026-0005"
    assert seen["PROMOTION_PROPOSED_VERSION"] == "1.1.0"
    assert seen["PROMOTION_CURRENT_VERSION"] == "1.0.0"


def meeting_check(me: str, other: str, place: Path) -> str:
    """A check that marks its start in `place` and waits for `other`'s mark: it says "met" once
    `other` has started too, "alone" when it has not within the patience written in `place`."""
    code = (
        "import pathlib, time\n"
        f"place = pathlib.Path({str(place)!r})\n"
        f"(place / {me!r}).touch()\n"
        "end = time.monotonic() + float((place / 'patience').read_text())\n"
        f"while not (place / {other!r}).exists() and time.monotonic() < end:\n"
        "    time.sleep(0.005)\n"
        f"print('met' if (place / {other!r}).exists() else 'alone')\n"
    )
    return python_check(code)


def test_independent_checks_run_in_parallel(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """With two jobs each check waits for the other to start, so neither can end before both
    ran; with one job the first waits for the second as long as a nap of 0.5 s lasted."""
    place = tmp_path / "meeting"
    place.mkdir()
    meet_a, meet_b = meeting_check("a", "b", place), meeting_check("b", "a", place)
    set_checks(repo, "ruleset", {"nap-a": meet_a, "nap-b": meet_b}, ["nap-a", "nap-b"])
    ruleset_branch(repo)

    def spans(jobs: str, patience: float) -> list[tuple[dt.datetime, dt.datetime, str]]:
        for mark in ("a", "b"):
            (place / mark).unlink(missing_ok=True)
        (place / "patience").write_text(str(patience))
        result = run_check(repo, capsys, "--jobs", jobs)
        assert result.code == 0, result.out
        found = []
        for name in ("nap-a", "nap-b"):
            check = result.check(name)
            start = dt.datetime.fromisoformat(check["started_at"].replace("Z", "+00:00"))
            end = start + dt.timedelta(seconds=check["duration_seconds"])
            found.append((start, end, check["output"]["tail"].strip()))
        return sorted(found)

    (_, first_end, first_saw), (second_start, _, second_saw) = spans("2", patience=60)
    assert second_start < first_end  # the second started before the first finished
    assert (first_saw, second_saw) == ("met", "met")
    (first_start, first_end, first_saw), (second_start, _, second_saw) = spans("1", patience=0.5)
    # one after the other (20 ms for the millisecond timestamps); the second may take less than
    # 20 ms, since it finds the first's mark at once
    assert first_start < first_end <= second_start + dt.timedelta(milliseconds=20)
    # the second had not started while the first waited for it, and started after it
    assert (first_saw, second_saw) == ("alone", "met")


# --- checks that receive the change ----------------------------------------------------------

NEW_RULES = "configs/routing_tables/routing_rules_v1.1.0.json"


def broken_ruleset_on_main(repo: GitRepo) -> None:
    """An old, broken ruleset already on main: linting every ruleset would fail on it."""
    old = repo.new_ruleset("0.9.0", edit={"default_queue": "nowhere"})
    repo.update_pack()
    repo.commit(f"Keep the old {old} for reference")


@pytest.mark.parametrize(
    ("edit", "code", "lint", "simulate"),
    [
        (None, 0, "passed", "passed"),
        # the new ruleset is broken: lint names it (and its cases land in no queue)
        ({"default_queue": "nowhere"}, 1, "failed", "failed"),
        # lints clean, but routes every golden case to the general queue
        ({"rules": []}, 1, "passed", "failed"),
    ],
    ids=["good-new-ruleset", "broken-new-ruleset", "misrouting-new-ruleset"],
)
def test_the_example_lints_and_simulates_only_the_rulesets_the_change_request_promotes(
    repo: GitRepo,
    capsys: pytest.CaptureFixture[str],
    edit: dict[str, object] | None,
    code: int,
    lint: str,
    simulate: str,
) -> None:
    """The example policy hands the change request's rulesets to ieimctl ({artifacts},
    {artifact} with for_each): the broken 0.9.0 on main is not linted, the new 1.1.0 is."""
    broken_ruleset_on_main(repo)
    ruleset_branch(repo, edit=edit)
    result = run_check(repo, capsys)
    assert result.code == code, result.out + result.err
    linted, simulated = result.check("rules-lint"), result.check("rules-simulate")
    assert linted["command"][-1] == NEW_RULES
    assert "rules lint: 1 ruleset(s)" in linted["output"]["tail"]
    assert "v0.9.0" not in linted["output"]["tail"]
    assert (linted["result"], simulated["result"]) == (lint, simulate)
    assert simulated["details"]["runs"][0]["subject"] == NEW_RULES
    assert "rules simulate: routing_rules_v1.1.0.json on 12 golden cases" in (
        simulated["output"]["tail"]
    )
    if edit == {"default_queue": "nowhere"}:
        assert "routing_rules_v1.1.0.json: default_queue is not one of the queues" in result.out


ARGV_CHECK = (
    "    run: [{python}, -c, 'import json, os, sys; "
    "print(json.dumps([sys.argv[1:], os.environ[\"PROMOTION_ARTIFACT\"]]))', "
    "'--path={{artifact}}', '{{artifact}}']\n    for_each: artifact\n    timeout: 60\n"
)


@pytest.mark.parametrize(
    "name",
    [
        "a b; touch PWNED.md",
        "$(touch PWNED).md",
        "`touch PWNED`.md",
        "it's \"quoted\" && rm -rf ~.md",
        "-rf.md",
    ],
)
def test_an_artifact_path_reaches_the_check_as_data_never_as_shell(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    set_checks(repo, "template", {"argv": ARGV_CHECK.format(python=json.dumps(sys.executable))},
               ["argv"])
    repo.branch("template")
    path = f"templates/replies/{name}"
    repo.write(path, "Hello.\n")
    repo.change_request("CR-2026-0005", "template", "reply-templates", "1.0.0", "1.1.0", [path])
    repo.commit("A template with an odd name")
    result = run_check(repo, capsys)
    assert result.code == 0, result.out + result.err
    argv, environment = json.loads(result.check("argv")["output"]["tail"])
    shown = f"./{path}" if path.startswith("-") else path
    assert argv == [f"--path={path}", shown]
    assert environment == path


def test_a_check_about_artifacts_without_any_fails(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    lint = (
        "    run: python3 tools/ieimctl.py rules lint {artifacts}\n"
        '    artifact_paths: ["configs/routing_tables/*.yaml"]\n'
    )
    set_checks(repo, "ruleset", {"yaml-lint": lint}, ["yaml-lint"])
    ruleset_branch(repo)
    result = run_check(repo, capsys)
    assert result.code == 1
    assert result.check("yaml-lint")["reason"] == (
        "nothing to check: CR-2026-0005 declare no artifact under configs/routing_tables/*.yaml "
        "for this check; fix the check's artifact_paths in the policy"
    )


APP = "configs/app.yaml"
APP_BASE = "auth:\n  session_minutes: '30'\nclassification:\n  llm:\n    model: qwen2.5:7b-1.2.3\n"


@pytest.mark.parametrize(
    ("edit", "code", "problem"),
    [
        (("'30'", "'60'"), 0, None),  # auth only: governed as the rest of the policy says
        (("qwen2.5:7b-1.2.3", "qwen2.5:7b-1.3.0"), 1,
         "configs/app.yaml: its model keys changed on this branch (classification.llm) but "
         "declared by no change request (governed by change type model)"),
        (("qwen2.5:7b-1.2.3", "[unclosed"), 1, "configs/app.yaml:6:1: expected"),
    ],
    ids=["other-keys", "governed-key", "unreadable"],
)
def test_a_governed_key_inside_a_config_must_be_declared(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], edit: tuple[str, str], code: int,
    problem: str | None,
) -> None:
    repo.replace(
        ".promotion/policy.yaml",
        '    paths: ["configs/models/**"]\n',
        '    paths: ["configs/models/**"]\n'
        '    keys:\n      - files: ["configs/app.yaml"]\n        keys: [classification.llm]\n',
    )
    repo.write(APP, APP_BASE)
    repo.commit("Govern the model keys of the app config")
    repo.branch("config")
    repo.write(APP, APP_BASE.replace(*edit))
    repo.commit("Edit the app config")
    result = run_check(repo, capsys)
    assert result.code == code, result.out + result.err
    if problem:
        assert f"  {problem}" in result.out


# --- built-in checks -------------------------------------------------------------------------


def test_prohibited_template_content_is_reported_with_file_line_and_rule(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.branch("templates")
    repo.replace(
        ACK,
        "We answer within two working days.",
        "We guarantee an answer within two working days.\nThis is legal advice.",
    )
    repo.update_pack()
    repo.change_request("CR-2026-0005", "template", "reply-templates", "1.0.0", "1.1.0", [ACK])
    repo.commit("Templates 1.1.0")
    result = run_check(repo, capsys)
    assert result.code == 1
    assert f"{ACK}:6:44: [no-guarantees] do not promise outcomes (found 'guarantee')" in result.out
    assert (
        f"{ACK}:7:1: [no-legal-advice] templates must not present themselves as legal advice "
        "(found 'This is legal advice')"
    ) in result.out
    policy = result.check("template-policy")
    assert [f["rule"] for f in policy["findings"]] == ["no-guarantees", "no-legal-advice"]


def _model_branch(repo: GitRepo, identifier: str, recorded: str) -> None:
    repo.branch("model")
    repo.replace(MODEL, f"identifier: {PINNED}", f"identifier: {identifier}")
    repo.update_pack()
    extra = f"models:\n  - name: classifier\n    identifier: {recorded}\n"
    repo.change_request(
        "CR-2026-0005", "model", "classifier", "1.0.0", "1.1.0", [MODEL], extra=extra
    )
    repo.commit("Model 1.1.0")


def test_a_floating_model_tag_in_the_configuration_fails(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    _model_branch(repo, "ollama/qwen2.5:latest", PINNED)
    result = run_check(repo, capsys)
    assert result.code == 1
    assert (
        f"{MODEL}:6: [unpinned] ollama/qwen2.5:latest is a floating tag; pin a version or a "
        "digest" in result.out
    )
    assert (
        f"{MODEL}:6: [not-recorded] model identifier ollama/qwen2.5:latest is not recorded "
        "in CR-2026-0005" in result.out
    )


def test_a_floating_model_tag_in_the_change_request_is_rejected_where_it_is_written(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    _model_branch(repo, "ollama/qwen2.5:latest", "ollama/qwen2.5:latest")
    result = run_check(repo, capsys)
    assert result.code == 1
    assert "change-requests/CR-2026-0005.yaml:13:17: models[0].identifier: " in result.out
    assert "floating tag" in result.out


def test_a_safety_metric_regression_fails_and_is_named(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.branch("prompt")
    repo.replace(PROMPT, "version 1.0.0", "version 1.1.0")
    repo.replace(
        PROMPT,
        "- Never repeat personal data (names, account numbers, addresses) from the message.\n",
        "",
    )
    repo.update_pack()
    extra = (
        f'prompts:\n  - path: {PROMPT}\n    version: "1.1.0"\n    sha256: {repo.sha256(PROMPT)}\n'
    )
    repo.change_request(
        "CR-2026-0005", "prompt", "classify-prompt", "1.0.0", "1.1.0", [PROMPT], extra=extra
    )
    repo.commit("Shorter prompt")
    result = run_check(repo, capsys)
    assert result.code == 1
    assert (
        "safety-eval.head.json: [regression] pii_guard regressed: 1 on base, 0 on head "
        "(higher is better)" in result.out
    )
    safety = result.check("safety-eval")
    assert safety["reason"] == "regression in pii_guard"
    assert result.check("prompt-hashes")["result"] == "passed"


SIMULATE_METRICS = (
    "    builtin: no-regression\n    timeout: 60\n    with:\n"
    "      run: python3 tools/simulate_metrics.py {output}\n"
    "      metrics:\n        simulate_accuracy: higher_is_better\n"
    "        simulate_failures: lower_is_better\n"
)


@pytest.mark.parametrize(
    ("edit", "code", "reason"),
    [
        (None, 0, "no regression in 2 metrics"),
        # the fraud rule dropped: golden fraud cases now land in the general queue
        ({"rules": []}, 1, "regression in simulate_accuracy, simulate_failures"),
    ],
)
def test_the_example_metrics_wrapper_feeds_no_regression(
    repo: GitRepo,
    capsys: pytest.CaptureFixture[str],
    edit: dict[str, object] | None,
    code: int,
    reason: str,
) -> None:
    """tools/simulate_metrics.py (docs/checks.md) turns a tool that only prints its results
    into the metrics file no-regression compares, in the named-list shape."""
    set_checks(repo, "ruleset", {"simulate-metrics": SIMULATE_METRICS}, ["simulate-metrics"])
    ruleset_branch(repo, edit=edit)
    result = run_check(repo, capsys)
    assert result.code == code, result.out + result.err
    assert result.check("simulate-metrics")["reason"] == reason


# --- reporting and errors --------------------------------------------------------------------


def test_github_actions_gets_a_job_summary_and_the_run_in_the_evidence(
    repo: GitRepo,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    summary = tmp_path / "summary.md"
    for name, value in {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/intake",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_WORKFLOW": "checks",
    }.items():
        monkeypatch.setenv(name, value)
    ruleset_branch(repo)
    result = run_check(repo, capsys)
    assert result.code == 0
    assert result.evidence is not None
    assert result.evidence["repository"]["name"] == "acme/intake"
    github = result.evidence["runner"]["github"]
    assert github["run_id"] == "4242" and github["run_attempt"] == 2
    assert github["run_url"] == "https://github.com/acme/intake/actions/runs/4242/attempts/2"
    text = summary.read_text()
    assert text.startswith("### ✅ promotion-bot check passed")
    assert "| rules\\-lint | ✅ passed |" in text or "| rules-lint | ✅ passed |" in text


def test_json_format_prints_the_evidence(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    ruleset_branch(repo)
    result = run_check(repo, capsys, "--format", "json")
    assert result.code == 0
    assert json.loads(result.out) == result.evidence


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "no-such-branch"], "'no-such-branch' is not a commit"),
        (["--head", "no-such-head"], "'no-such-head' is not a commit"),
        (["--jobs", "0"], "Invalid value for '--jobs'"),
    ],
)
def test_usage_errors_exit_2(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    ruleset_branch(repo)
    code = main(["check", "--repo", str(repo.root), *args])
    captured = capsys.readouterr()
    assert code == 2
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_an_unwritable_output_folder_is_a_usage_error(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ruleset_branch(repo)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(
        ["check", "--repo", str(repo.root), "--base", "main", "--output-dir", str(blocker / "out")]
    )
    assert code == 2
    assert f"--output-dir {blocker / 'out'}: Not a directory" in capsys.readouterr().err


def test_the_cyclic_collector_runs_again_after_a_check_in_the_same_process(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """check pauses it while it runs (a program calling main() keeps its own), passing or not"""
    import gc

    ruleset_branch(repo)
    assert run_check(repo, capsys).code == 0
    assert gc.isenabled()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["check", "--repo", str(repo.root), "--output-dir", str(blocker / "out")]) == 2
    assert gc.isenabled()


def test_a_broken_policy_on_the_base_is_a_configuration_error(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.replace(".promotion/policy.yaml", "    timeout: 120\n", "    timeout: soon\n")
    repo.commit("Break the policy")
    ruleset_branch(repo)
    result = run_check(repo, capsys)
    assert result.code == 2
    assert ".promotion/policy.yaml (at base " in result.err
    assert "checks.rules-lint.timeout" in result.err
    assert result.evidence is None


def test_the_policy_comes_from_the_base_not_the_branch(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.branch("lower-the-bar")
    repo.replace(
        ".promotion/policy.yaml",
        "required_checks: [rules-lint, rules-simulate, pack-verify]",
        "required_checks: []",
    )
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "lower the bar")
    repo.new_ruleset("1.1.0", edit={"default_queue": "nowhere"})
    repo.update_pack()
    repo.change_request(
        "CR-2026-0005",
        "ruleset",
        "routing-rules",
        "1.0.0",
        "1.1.0",
        ["configs/routing_tables/routing_rules_v1.1.0.json"],
    )
    repo.commit("Broken rules")
    result = run_check(repo, capsys)
    assert result.code == 1
    assert result.check("rules-lint")["result"] == "failed"
    assert ".promotion/policy.yaml" in result.evidence["declarations"]["governance_changes"]  # type: ignore[index]


def test_the_base_defaults_to_origin_main_else_main(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ruleset_branch(repo)
    evidence = tmp_path / "e.json"
    assert main(["check", "--repo", str(repo.root), "-o", str(evidence)]) == 0
    assert json.loads(evidence.read_text())["base"]["ref"] == "main"
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.root), str(clone)], check=True)
    assert main(["check", "--repo", str(clone), "--evidence", str(evidence)]) == 0
    assert json.loads(evidence.read_text())["base"]["ref"] == "origin/main"
    capsys.readouterr()


def test_a_shallow_clone_is_refused(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ruleset_branch(repo)
    repo.new_ruleset("1.2.0")
    repo.commit("more history")
    shallow = tmp_path / "shallow"
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--depth",
            "1",
            "--no-single-branch",
            f"file://{repo.root}",
            str(shallow),
        ],
        check=True,
    )
    code = main(["check", "--repo", str(shallow), "--base", "origin/main"])
    assert code == 2
    assert "this clone is shallow" in capsys.readouterr().err


def test_a_base_without_common_history_is_refused(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """No merge base, no diff to judge: the merge base asked with the commits is not there,
    and git merge-base's refusal is the answer."""
    ruleset_branch(repo)
    repo.git("checkout", "-q", "--orphan", "lonely")
    repo.commit("the same files, no common history")
    code = main(["check", "--repo", str(repo.root), "--base", "lonely", "--head", "feature"])
    assert code == 2
    assert "lonely and feature have no common history; check --base" in capsys.readouterr().err


@pytest.mark.parametrize("length", [7, 12])
def test_a_tag_named_like_the_base_s_abbreviated_id_is_refused(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], length: int
) -> None:
    """git takes a ref named like an abbreviated commit id before the commit: a tag pushed
    under the id given as --base, on the head, would leave nothing to check and pass."""
    ruleset_branch(repo)
    base = repo.git("rev-parse", "main")[:length]
    result = run_check(repo, capsys, base=base)
    assert result.code == 0 and result.evidence is not None
    assert len(result.evidence["checks"]) == 3
    repo.git("tag", base, "feature")
    result = run_check(repo, capsys, base=base)
    assert result.code == 2 and result.evidence is None
    assert f"{base!r} is ambiguous here" in result.err
    assert "may also be an abbreviated commit id" in result.err


def test_criss_cross_merges_are_judged_from_the_merge_base_git_picks(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two merge bases: the one rev-parse A...B cannot give alone is git merge-base's, as
    before, and the evidence names it."""
    ruleset_branch(repo)
    repo.checkout("main")
    repo.write("NOTES.md", "main moved on\n")
    moved = repo.commit("main moved on")
    repo.checkout("feature")
    promoted = repo.head()
    repo.git("merge", "-q", "--no-ff", "-m", "main into feature", moved)
    repo.checkout("main")
    repo.git("merge", "-q", "--no-ff", "-m", "feature's promotion into main", promoted)
    repo.checkout("feature")
    assert len(repo.git("merge-base", "--all", "main", "feature").split()) == 2
    result = run_check(repo, capsys)
    assert result.evidence is not None
    assert result.evidence["merge_base"] == repo.git("merge-base", "main", "feature")
    assert (result.evidence["base"]["sha"], result.evidence["head"]["sha"]) == (
        repo.git("rev-parse", "main"), repo.git("rev-parse", "feature"))


def test_a_ref_that_git_takes_before_the_default_base_is_refused(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --base the base is origin/main, resolved by git: refs/origin/main (a clone that
    fetches every ref has whatever was pushed there) comes before the remote-tracking branch,
    and on the head it left nothing to check."""
    ruleset_branch(repo)
    repo.git("update-ref", "refs/remotes/origin/main", repo.git("rev-parse", "main"))
    repo.git("update-ref", "refs/origin/main", repo.git("rev-parse", "feature"))
    code = main(["check", "--repo", str(repo.root), "--output-dir", str(repo.root.parent / "out"),
                 "--output", str(repo.root.parent / "evidence.json")])
    assert code == 2
    assert "'origin/main' is ambiguous here" in capsys.readouterr().err
    assert not (repo.root.parent / "evidence.json").exists()

def test_the_command_runs_as_a_real_subprocess(repo: GitRepo) -> None:
    ruleset_branch(repo)
    completed = subprocess.run(
        [sys.executable, "-m", "promotion_bot", "check", "--base", "main"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "passed: 3 required checks passed" in completed.stdout


def test_on_a_pull_request_the_evidence_names_the_head_the_merge_commit_merges(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GitHub checks out refs/pull/N/merge; the record binds evidence to the approved head."""
    from promotion_bot.core.merge_facts import summarise_evidence

    ruleset_branch(repo)
    pr_head = repo.git("rev-parse", "feature")
    repo.git("checkout", "-q", "main")
    repo.git("checkout", "-q", "-b", "pull-merge")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge feature into main", "feature")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": pr_head}},
                                 "repository": {"full_name": "example-org/intake"}}))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    result = run_check(repo, capsys)
    assert result.code == 0, result.out + result.err
    assert result.evidence is not None
    assert result.evidence["head"]["sha"] == repo.git("rev-parse", "HEAD")  # what was checked
    assert result.evidence["pull_request"] == {"number": 7, "head_sha": pr_head}
    raw = (repo.root.parent / "evidence.json").read_bytes()
    assert summarise_evidence(raw, "evidence.json").head_sha == pr_head

    # an event naming a head the checked commit does not merge is not believed
    event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": "f" * 40}},
                                 "repository": {"full_name": "example-org/intake"}}))
    result = run_check(repo, capsys)
    assert result.evidence is not None and "pull_request" not in result.evidence


def test_a_tag_named_origin_main_does_not_become_the_default_base(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """git resolves refs/tags/origin/main before the remote-tracking branch: a tag on the
    branch's own head would make its diff empty and its checks 'not required'."""
    ruleset_branch(repo)
    repo.git("update-ref", "refs/remotes/origin/main", "main")
    repo.git("tag", "origin/main", "HEAD")
    code = main(["check", "--repo", str(repo.root), "--output-dir",
                 str(repo.root.parent / "check-output")])
    captured = capsys.readouterr()
    assert code == 2, captured.out
    assert "'origin/main' is ambiguous here" in captured.out + captured.err


@pytest.mark.parametrize("base", ["origin/main", "main"])
def test_a_tag_imitating_an_explicit_base_is_refused(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], base: str
) -> None:
    """The checks workflow passes --base origin/<base branch>: a tag of that name on the head
    would make the head its own base, so a no-regression check would compare it with itself."""
    ruleset_branch(repo)
    repo.git("update-ref", "refs/remotes/origin/main", "main")
    repo.git("tag", base, "HEAD")
    code = main(["check", "--repo", str(repo.root), "--base", base, "--output-dir",
                 str(repo.root.parent / "check-output")])
    captured = capsys.readouterr()
    assert code == 2, captured.out
    assert f"'{base}' is ambiguous here" in captured.out + captured.err
    assert not (repo.root.parent / "check-output" / "evidence.json").exists()


@pytest.mark.parametrize("imitation", ["tag", "abbreviated-id"])
def test_a_head_that_a_second_ref_imitates_is_refused(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], imitation: str
) -> None:
    """--head goes through the same refusal as --base: git takes refs/tags/<name> before the
    branch (and any ref before an abbreviated id), so a tag pushed under the head's name on
    main would leave nothing to check and pass."""
    ruleset_branch(repo)
    head = "feature" if imitation == "tag" else repo.git("rev-parse", "feature")[:12]
    result = run_check(repo, capsys, "--head", head)
    assert result.code == 0 and result.evidence is not None
    assert len(result.evidence["checks"]) == 3
    repo.git("tag", head, "main")
    result = run_check(repo, capsys, "--head", head)
    assert result.code == 2 and result.evidence is None
    assert f"{head!r} is ambiguous here" in result.err


@pytest.mark.parametrize("base", ["origin/main", "refs/remotes/origin/main", "main~0", "sha"])
def test_an_explicit_base_that_names_one_commit_is_used(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], base: str
) -> None:
    ruleset_branch(repo)
    repo.git("update-ref", "refs/remotes/origin/main", "main")
    given = repo.git("rev-parse", "main") if base == "sha" else base
    code = main(["check", "--repo", str(repo.root), "--base", given, "--output-dir",
                 str(repo.root.parent / "check-output")])
    captured = capsys.readouterr()
    evidence = json.loads((repo.root.parent / "check-output" / "evidence.json").read_text())
    assert evidence["base"]["sha"] == repo.git("rev-parse", "main"), captured.out + captured.err
    assert code == 0, captured.out + captured.err
