"""The evidence document: GitHub Actions facts, schema validity, and its two renderings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from promotion_bot.core.check_results import CheckResult, Finding, OutputFile
from promotion_bot.core.errors import Problem
from promotion_bot.core.evidence import (
    ChangeRequestEvidence,
    EvidenceInput,
    Revision,
    build_evidence,
    github_run,
    repository_name,
    runner_info,
    timestamp,
)
from promotion_bot.core.formats.schemas import validate_data
from promotion_bot.core.models import Artifact, ChangeRequest
from promotion_bot.render.evidence import (
    first_failing_line,
    md_text,
    render_markdown,
    render_text,
)

T0 = dt.datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
SHA = "a" * 40
HEX = "b" * 64


def change_request(title: str = "Route GDPR requests to the privacy queue") -> ChangeRequest:
    return ChangeRequest(
        "CR-2026-0005",
        "ruleset",
        "routing-rules",
        title,
        "1.1.0",
        "1.0.0",
        (Artifact("configs/routing_tables/routing_rules_v1.1.0.json", HEX),),
        "Revert the pull request.",
        source_path="change-requests/CR-2026-0005.yaml",
    )


def check(name: str = "rules-lint", result: str = "passed", **kwargs: Any) -> CheckResult:
    defaults: dict[str, Any] = {
        "reason": "exit 0" if result == "passed" else "exit 1",
        "started_at": T0,
        "duration": 0.25,
        "required_by": ("CR-2026-0005",),
        "command": ("python3", "tools/ieimctl.py", "rules", "lint"),
        "exit_code": 0 if result == "passed" else 1,
        "output": OutputFile(f"{name}.log", HEX, 42, "rules lint: 1 ruleset(s), 0 problem(s)"),
    }
    defaults.update(kwargs)
    return CheckResult(name, "command", result, **defaults)


def evidence(
    checks: list[CheckResult],
    problems: list[Problem] | None = None,
    title: str = "Route GDPR requests to the privacy queue",
    environ: dict[str, str] | None = None,
) -> dict[str, Any]:
    document = build_evidence(
        EvidenceInput(
            repository="acme/intake",
            root="",
            base=Revision("origin/main", SHA),
            head=Revision("HEAD", "c" * 40),
            merge_base=SHA,
            policy_path=".promotion/policy.yaml",
            policy_sha256=HEX,
            change_requests=[ChangeRequestEvidence(change_request(title), HEX, ("rules-lint",))],
            problems=problems or [],
            checks=checks,
            runner=runner_info(environ or {}),
            started_at=T0,
            finished_at=T0 + dt.timedelta(seconds=2),
        )
    )
    assert validate_data("evidence", document, "evidence.json") == []
    return document


def test_timestamps_are_utc_with_milliseconds() -> None:
    assert timestamp(T0) == "2026-05-01T12:00:00.123Z"
    berlin = dt.timezone(dt.timedelta(hours=2))
    assert timestamp(dt.datetime(2026, 5, 1, 14, 0, tzinfo=berlin)) == "2026-05-01T12:00:00.000Z"


def test_outside_github_actions_there_is_no_run() -> None:
    assert github_run({"GITHUB_RUN_ID": "1"}) is None
    assert runner_info({}) == {"kind": "local", "github": None}


def test_the_github_run_comes_from_the_standard_variables() -> None:
    run = github_run(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_SERVER_URL": "https://ghe.example.com/",
            "GITHUB_REPOSITORY": "acme/intake",
            "GITHUB_RUN_ID": "99",
            "GITHUB_RUN_ATTEMPT": "3",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_SHA": SHA,
            "GITHUB_TOKEN": "ghs_secret",
        }
    )
    assert run == {
        "run_id": "99",
        "run_attempt": 3,
        "run_url": "https://ghe.example.com/acme/intake/actions/runs/99/attempts/3",
        "workflow": None,
        "job": None,
        "event_name": "pull_request",
        "ref": None,
        "sha": SHA,
        "repository": "acme/intake",
    }
    assert "ghs_secret" not in str(run)


@pytest.mark.parametrize(
    ("environ", "remote", "name"),
    [
        ({"GITHUB_REPOSITORY": "acme/intake"}, None, "acme/intake"),
        ({}, "git@github.com:acme/rules.git", "acme/rules"),
        ({}, "https://github.com/acme/rules", "acme/rules"),
        ({}, "/srv/git/rules.git", "governed"),
        ({"GITHUB_REPOSITORY": "not a repo"}, None, "governed"),
    ],
)
def test_the_repository_name(environ: dict[str, str], remote: str | None, name: str) -> None:
    assert repository_name(environ, remote, "governed") == name


def test_a_passing_document_validates_and_says_passed() -> None:
    document = evidence([check()])
    assert document["result"] == "passed"
    assert document["checks"][0]["started_at"] == "2026-05-01T12:00:00.123Z"
    assert document["checks"][0]["output"] == {
        "file": "rules-lint.log",
        "sha256": HEX,
        "bytes": 42,
        "tail": "rules lint: 1 ruleset(s), 0 problem(s)",
    }
    assert document["change_requests"][0]["required_checks"] == ["rules-lint"]


def test_any_failed_check_or_declaration_problem_fails_the_document() -> None:
    assert evidence([check(), check("pack", "failed")])["result"] == "failed"
    assert evidence([check("hang", "timeout", exit_code=-15)])["result"] == "failed"
    problem = Problem("change-requests/CR-2026-0005.yaml", "rebase: x", 6, 18, "current_version")
    document = evidence([check()], [problem])
    assert document["result"] == "failed" and document["declarations"]["result"] == "failed"


def test_the_terminal_rendering_shows_failures_with_their_output() -> None:
    text = render_text(
        evidence(
            [
                check(),
                check(
                    "pack-verify",
                    "failed",
                    output=OutputFile(
                        "pack-verify.log",
                        HEX,
                        10,
                        "verify_pack: files in the pack but not in pack/SHA256SUMS:\n"
                        "configs/x.json",
                    ),
                ),
            ]
        ),
        "/tmp/evidence.json",
    )
    assert "  passed   rules-lint      0.2 s  python3 tools/ieimctl.py rules lint" in text
    assert "  FAILED   pack-verify     0.2 s  python3 tools/ieimctl.py rules lint" in text
    assert "           | configs/x.json" in text
    assert text.endswith(
        "failed: 1 of 2 checks did not pass (pack-verify)\nevidence: /tmp/evidence.json\n"
    )


def test_findings_replace_the_output_tail() -> None:
    finding = Finding(
        "templates/a.md", "do not promise (found 'guarantee')", 6, 44, "no-guarantees"
    )
    text = render_text(evidence([check("template-policy", "failed", findings=(finding,))]))
    assert (
        "           templates/a.md:6:44: [no-guarantees] do not promise (found 'guarantee')" in text
    )


def test_the_markdown_summary_is_a_table_with_details_for_failures() -> None:
    markdown = render_markdown(
        evidence(
            [check(), check("pack-verify", "failed")],
            environ={
                "GITHUB_ACTIONS": "true",
                "GITHUB_REPOSITORY": "acme/intake",
                "GITHUB_RUN_ID": "7",
                "GITHUB_RUN_ATTEMPT": "1",
            },
        )
    )
    lines = markdown.splitlines()
    assert lines[0] == "### ❌ promotion-bot check failed"
    assert "| Check | Result | Time | Details |" in lines
    assert (
        "| rules-lint | ✅ passed | 0.2 s | <code>python3 tools/ieimctl.py rules lint</code> |"
        in lines
    )
    # the first failing line is in the table, not only in the collapsed block below it
    assert (
        "| pack-verify | ❌ failed | 0.2 s | exit 1<br><code>rules lint: 1 ruleset(s), 0 "
        "problem(s)</code> |" in lines
    )
    assert "<details><summary>pack-verify: last lines of output</summary>" in lines
    assert "[run 7](https://github.com/acme/intake/actions/runs/7/attempts/1)" in lines[-1]


@pytest.mark.parametrize(
    ("tail", "findings", "line"),
    [
        # the first line that reads like a failure, not the summary after it
        ("ok   g01: expected fraud, got fraud\nFAIL g05: expected privacy, got general\n"
         "rules simulate: routing_rules_v1.1.0.json on 12 golden cases, 1 failure(s)", (),
         "FAIL g05: expected privacy, got general"),
        ("routing_rules_v1.1.0.json: default_queue is not one of the queues\n"
         "rules lint: 1 ruleset(s), 1 problem(s)", (),
         "rules lint: 1 ruleset(s), 1 problem(s)"),
        ("Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'a'", (),
         "Traceback (most recent call last):"),
        # nothing reads like a failure: the last line
        ("checking...\n3 done\nexit now", (), "exit now"),
        ("", (), None),
        # a built-in: its first finding
        ("", (Finding("templates/a.md", "do not promise", 6, 44, "no-guarantees"),),
         "templates/a.md:6:44: [no-guarantees] do not promise"),
    ],
)
def test_the_first_failing_line_of_a_check(
    tail: str, findings: tuple[Finding, ...], line: str | None
) -> None:
    failed = check("x", "failed", findings=findings,
                   output=OutputFile("x.log", HEX, len(tail), tail))
    (rendered,) = evidence([failed])["checks"]
    assert first_failing_line(rendered) == line


def test_commands_are_shown_quoted_in_the_report() -> None:
    command = ("bash", "-c", "for f in $PROMOTION_ARTIFACTS; do jq . \"$f\"; done")
    text = render_text(evidence([check(command=command)]))
    assert (
        "python3" not in text
        and "bash -c 'for f in $PROMOTION_ARTIFACTS; do jq . \"$f\"; done'" in text
    )


def test_untrusted_text_cannot_inject_markdown_or_html() -> None:
    title = "Fix | <img src=x onerror=alert(1)> [click](javascript:alert(1)) `code`"
    output = OutputFile("x.log", HEX, 1, "```\n</details><script>x</script>")
    markdown = render_markdown(evidence([check("x", "failed", output=output)], title=title))
    assert "<img" not in markdown  # escaped in the list line; the output only inside a fence
    assert md_text(title) == (
        "Fix \\| &lt;img src=x onerror=alert(1)&gt; \\[click\\](javascript:alert(1)) \\`code\\`"
    )
    assert "````text\n```\n</details><script>x</script>\n````" in markdown  # a longer fence
