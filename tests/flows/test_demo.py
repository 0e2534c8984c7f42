"""`promotion-bot demo` end to end: the seven steps of the lifecycle with the real commands, and
a demo that stops, with the reason, as soon as a step gives another answer."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from promotion_bot.flows.demo import STEPS, run_demo
from tests.conftest import EXAMPLE, DemoRun, RecordingListener

CR = r"CR-\d{4}-\d{4}"


def test_the_demo_walks_all_seven_steps_with_the_expected_answers(demo_run: DemoRun) -> None:
    result = demo_run.result
    assert result.failure is None, "\n".join(demo_run.lines[-40:])
    assert result.ok and result.steps_done == STEPS
    headings = [line for line in demo_run.lines if line.startswith("== step ")]
    assert [h.split()[2] for h in headings] == [f"{n}/{STEPS}" for n in range(1, STEPS + 1)]
    for who, heading in zip(
        ["engineer erin", "approvers pat and adam, and the gate (CI)", "GitHub, then CI",
         "the deploy job (CI)", "engineer erin, then on-call oscar", "auditor audrey",
         "mallory, the auditor and the deploy job"],
        headings, strict=True,
    ):
        assert f"  {who}: " in heading


@pytest.mark.parametrize(
    ("key", "step", "exit_code", "says"),
    [
        # 1. engineer: a change request from `new`, a mistake `validate` finds, the checks
        ("new", 1, 0, rf"wrote change-requests/{CR}\.yaml \(ruleset routing-rules: 1\.0\.0 -> 1\.1\.0\)"),
        ("validate-rejected", 1, 1, r"approvals: 'approvals' is not allowed here"),
        ("validate", 1, 0, r"valid: 5 change requests and the policy"),
        ("check", 1, 0, r"passed: 3 required checks passed"),
        # 2. the gate's decision, as the pull request's comment reads
        ("approvals-pending", 2, 1, r"## Promotion approvals: ⏳ pending\n\n\*\*Waiting for administrator\.\*\*"),
        ("approvals-approved", 2, 0, r"## Promotion approvals: ✅ approved"),
        # 3. the merge is recorded and signed
        ("record", 3, 0, rf"created   promotion/{CR} on [0-9a-f]{{12}}: approved: pat \(reviewer\), adam \(administrator\)"),
        # 4. what runs where; deploy allowed
        ("status", 4, 0, rf"routing-rules    ruleset   1\.1\.0    {CR}  [0-9a-f]{{12}}  \S+  recorded"),
        ("verify", 4, 0, r"ok: all 11 governed file\(s\) at [0-9a-f]{12} are covered"),
        # 5. a second promotion, its rollback, recorded with rollback_of
        ("record-2", 5, 0, r"created   promotion/CR-\d{4}-\d{4} on [0-9a-f]{12}: approved"),
        ("rollback", 5, 0, rf"rollback of {CR}: routing-rules 1\.2\.0 -> 1\.1\.0"),
        ("rollback", 5, 0, r"not pushed \(--no-push\)"),
        ("check-rollback", 5, 0, r"passed: 1 required check passed"),
        ("record-rollback", 5, 0, r"approved: rita \(reviewer\), adam \(administrator\)"),
        ("audit-rollback", 5, 0, rf"{CR} \(rollback of {CR}\)  routing-rules  1\.2\.0 -> 1\.1\.0 .* recorded"),
        # 6. the auditor's clone: no findings, and the HTML report
        ("audit", 6, 0, r"6 promotions, 1 rollback, 0 findings"),
        ("audit-html", 6, 0, r"wrote \.\./audit\.html \(7 promotions, 0 findings\)"),
        # 7. a rewritten record: refused by the audit and the deployment gate
        ("audit-tampered", 7, 1, rf"BAD_SIGNATURE +promotion/{CR}: the signature does not verify"),
        ("audit-tampered", 7, 1, r"FAILED: the findings above need an explanation"),
        ("verify-tampered", 7, 1, r"NOT COVERED configs/routing_tables/routing_rules_v1\.0\.0\.json: no valid promotion record lists this file"),
    ],
)
def test_each_command_of_the_story_gives_its_answer(
    demo_run: DemoRun, key: str, step: int, exit_code: int, says: str
) -> None:
    ran = demo_run.result.run(key)
    assert (ran.step, ran.exit_code) == (step, exit_code), ran.console()
    assert re.search(says, ran.output), ran.console()
    assert "Traceback" not in ran.output


def test_the_rollback_record_names_what_it_rolls_back(demo_run: DemoRun) -> None:
    rolled_back = re.search(rf"created   promotion/({CR})", demo_run.result.run("record-2").output)
    rollback = re.search(rf"created   promotion/({CR})",
                         demo_run.result.run("record-rollback").output)
    assert rolled_back and rollback
    audit = demo_run.result.run("audit").output
    assert f"{rollback[1]} (rollback of {rolled_back[1]})" in audit


def test_the_demo_ends_with_an_html_report_and_removes_the_rest(demo_run: DemoRun) -> None:
    result = demo_run.result
    assert result.report is not None and not result.kept
    assert sorted(p.name for p in result.folder.iterdir()) == ["audit.html"]
    html = result.report.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "routing-rules" in html and "rollback of" in html
    assert f"# the report: {result.report}" in demo_run.lines


def test_every_promotion_bot_command_is_shown_as_a_person_types_it(demo_run: DemoRun) -> None:
    shown = [line for line in demo_run.lines if line.startswith("$ ")]
    bot = [run.command for run in demo_run.result.runs if run.command.startswith("promotion-bot")]
    assert bot and all(f"$ {command}" in shown for command in bot)
    assert not [line for line in shown if "/promotion_bot" in line or sys.executable in line]


def broken_update_pack(example: Path) -> None:
    (example / "scripts/update_pack.sh").write_text("echo 'update_pack: disk full' >&2\nexit 3\n")


def lenient_ruleset_policy(example: Path) -> None:
    """Ruleset changes need the administrator only: pat's first review approves them."""
    policy = example / ".promotion/policy.yaml"
    text = policy.read_text()
    old = "    paths: [\"configs/routing_tables/**\"]\n    required_roles: [reviewer, administrator]"
    assert old in text
    policy.write_text(text.replace(old, old.replace("reviewer, administrator", "administrator")))


@pytest.mark.parametrize(
    ("change", "stopped_at", "message"),
    [
        (broken_update_pack, 0,
         "step 1 stopped: `bash scripts/update_pack.sh` exited 3, expected 0"),
        (lenient_ruleset_policy, 1,
         "step 2 stopped: `promotion-bot approvals --snapshot ../github/pr-2.json --format "
         "markdown` exited 0, expected 1 (pending: the administrator has not approved)"),
    ],
    ids=["a-failing-command", "an-unexpected-approval"],
)
def test_a_step_with_another_answer_stops_the_demo_and_keeps_the_folder(
    tmp_path: Path, change: Callable[[Path], None], stopped_at: int, message: str
) -> None:
    example = tmp_path / "example"
    shutil.copytree(EXAMPLE, example)
    change(example)
    listener = RecordingListener()
    result = run_demo(tmp_path / "demo", listener, example=example)
    assert not result.ok
    assert result.failure is not None and result.failure.startswith(message), result.failure
    assert result.steps_done == stopped_at
    assert result.kept and (tmp_path / "demo/work/.git").is_dir()
    assert not any(line.startswith(f"== step {stopped_at + 2}/") for line in listener.lines)


def test_the_failing_commands_output_is_shown_even_when_it_ran_quietly(tmp_path: Path) -> None:
    example = tmp_path / "example"
    shutil.copytree(EXAMPLE, example)
    tool = example / "tools/ieimctl.py"
    tool.write_text(tool.read_text().replace('print(f"rules lint:', 'problems.append("x")\n    print(f"rules lint:'))
    listener = RecordingListener()
    result = run_demo(tmp_path / "demo", listener, example=example)
    assert result.failure is not None
    assert result.failure.startswith("the set-up stopped: `promotion-bot check --jobs 1")
    assert "exited 1, expected 0" in result.failure
    assert any("FAILED   rules-lint" in line for line in listener.lines)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "promotion_bot", "demo", *args],
                          capture_output=True, text=True, check=False)


def test_a_folder_that_is_not_empty_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("mine\n")
    finished = run_cli(str(tmp_path))
    assert finished.returncode == 2
    assert f"{tmp_path} is not an empty folder; give a new or empty one" in finished.stderr
    assert (tmp_path / "something").read_text() == "mine\n"
