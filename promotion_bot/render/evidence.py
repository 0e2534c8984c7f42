"""Evidence documents for people: a terminal rendering and GitHub-flavoured Markdown. Pure.

Both take the evidence dict (as written to evidence.json), so a stored document renders the
same as a fresh one. Everything that came from the branch (titles, paths, messages, output) is
escaped in Markdown: a change request title cannot inject links, HTML or table cells.
"""

from __future__ import annotations

import html
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

ICONS = {"passed": "✅", "failed": "❌", "timeout": "⏱️", "error": "⛔"}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def _short(sha: str) -> str:
    return sha[:12]


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s"


def _command(check: Mapping[str, Any]) -> str:
    """The command as a shell would read it back (quoted like the progress lines)."""
    if check.get("command"):
        return shlex.join(check["command"])
    return f"built-in {check.get('builtin')}"


_FAILING_LINE = re.compile(
    r"(?i)\b(fail(s|ed|ure)?|error|errors|invalid|problems?|traceback|exception|missing|"
    r"denied|refused|regress(ed|ion)?)\b"
)
_CLEAN_SUMMARY = re.compile(r"(?i)\b0 (problems?|failures?|errors?)\b")


def first_failing_line(check: Mapping[str, Any]) -> str | None:
    """The line a person looks for first when a check did not pass: its first finding, else
    the first line of its output that reads like a failure, else its last line."""
    if check["findings"]:
        return _finding_text(check["findings"][0])
    output = check.get("output")
    lines = [line for line in (output["tail"] if output else "").split("\n") if line.strip()]
    for line in lines:
        if _FAILING_LINE.search(line) and not _CLEAN_SUMMARY.search(line):
            return line.strip()
    return lines[-1].strip() if lines else None


def _version_move(cr: Mapping[str, Any]) -> str:
    current = cr.get("current_version") or "(first promotion)"
    move = f"{current} -> {cr['proposed_version']}"
    if cr.get("rollback_of"):
        move += f" (rollback of {cr['rollback_of']})"
    return move


def _problem_text(problem: Mapping[str, Any]) -> str:
    where = str(problem["file"])
    if problem.get("line") is not None:
        where += f":{problem['line']}"
        if problem.get("column") is not None:
            where += f":{problem['column']}"
    text = f"{where}: "
    if problem.get("field"):
        text += f"{problem['field']}: "
    text += str(problem["message"])
    if problem.get("hint"):
        text += f" ({problem['hint']})"
    return text


def _finding_text(finding: Mapping[str, Any]) -> str:
    where = str(finding["file"])
    if finding.get("line") is not None:
        where += f":{finding['line']}"
        if finding.get("column") is not None:
            where += f":{finding['column']}"
    rule = f"[{finding['rule']}] " if finding.get("rule") else ""
    return f"{where}: {rule}{finding['message']}"


def verdict(evidence: Mapping[str, Any]) -> str:
    """One line: passed, or what failed."""
    problems = len(evidence["declarations"]["problems"])
    checks: Sequence[Mapping[str, Any]] = evidence["checks"]
    failed = [c["name"] for c in checks if c["result"] != "passed"]
    if evidence["result"] == "passed":
        count = len(checks)
        if not count:
            return "passed: no checks are required"
        return f"passed: {count} required check{'s' if count != 1 else ''} passed"
    parts = []
    if problems:
        parts.append(f"{problems} declaration problem{'s' if problems != 1 else ''}")
    if failed:
        parts.append(f"{len(failed)} of {len(checks)} checks did not pass ({', '.join(failed)})")
    return "failed: " + ("; ".join(parts) or "see above")


# --- terminal --------------------------------------------------------------------------------


def render_text(evidence: Mapping[str, Any], evidence_path: str | None = None) -> str:
    lines = [
        f"base {evidence['base']['ref']} {_short(evidence['base']['sha'])}, "
        f"head {evidence['head']['ref']} {_short(evidence['head']['sha'])}, "
        f"merge base {_short(evidence['merge_base'])}"
    ]
    crs = evidence["change_requests"]
    if crs:
        lines.append("change requests:")
        for cr in crs:
            lines.append(
                f"  {cr['change_id']}  {cr['change_type']} {cr['target']} {_version_move(cr)}"
                f"  {cr['title']}"
            )
    for note in evidence["notes"]:
        lines.append(f"note: {note}")
    problems = evidence["declarations"]["problems"]
    if problems:
        lines.append("declarations:")
        lines += [f"  {_problem_text(problem)}" for problem in problems]
    elif crs:
        lines.append("declarations: the branch changes exactly what its change requests declare")
    if evidence["checks"]:
        lines.append("checks:")
        width = max(len(check["name"]) for check in evidence["checks"])
        for check in evidence["checks"]:
            lines += _text_check(check, width)
    lines.append(verdict(evidence))
    if evidence_path:
        lines.append(f"evidence: {evidence_path}")
    return "\n".join(lines) + "\n"


def _text_check(check: Mapping[str, Any], width: int) -> list[str]:
    word = "passed" if check["result"] == "passed" else check["result"].upper()
    lines = [
        f"  {word:<8} {check['name']:<{width}}  {_duration(check['duration_seconds']):>8}  "
        f"{_command(check)}"
    ]
    if check["result"] == "passed":
        return lines
    lines.append(f"           {check['reason']}")
    lines += [f"           {_finding_text(finding)}" for finding in check["findings"]]
    output = check.get("output")
    if output and output["tail"] and not check["findings"]:
        lines.append(f"           last lines of {output['file']}:")
        lines += [f"           | {line}" for line in output["tail"].split("\n")]
    return lines


# --- Markdown (GitHub job summary) -----------------------------------------------------------


def md_text(text: object) -> str:
    """Untrusted text as literal Markdown inline text (no HTML, links or table breaks)."""
    escaped = html.escape(str(text), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", escaped).replace("\n", " ")


def md_code(text: object) -> str:
    return f"<code>{html.escape(str(text), quote=False).replace('|', '&#124;')}</code>"


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def render_markdown(evidence: Mapping[str, Any]) -> str:
    passed = evidence["result"] == "passed"
    icon = ICONS["passed"] if passed else ICONS["failed"]
    lines = [f"### {icon} promotion-bot check {'passed' if passed else 'failed'}", ""]
    for cr in evidence["change_requests"]:
        lines.append(
            f"- {md_code(cr['change_id'])} {md_text(cr['change_type'])} "
            f"**{md_text(cr['target'])}** {md_text(_version_move(cr))}: {md_text(cr['title'])}"
        )
    for note in evidence["notes"]:
        lines.append(f"- {md_text(note)}")
    lines.append("")
    if evidence["checks"]:
        lines += ["| Check | Result | Time | Details |", "|---|---|---|---|"]
        for check in evidence["checks"]:
            icon = ICONS.get(check["result"], ICONS["failed"])
            detail = md_code(_command(check))
            if check["result"] != "passed":
                detail = md_text(check["reason"])
                line = first_failing_line(check)
                if line:
                    detail += f"<br>{md_code(line)}"
            lines.append(
                f"| {md_text(check['name'])} | {icon} {check['result']} | "
                f"{_duration(check['duration_seconds'])} | {detail} |"
            )
        lines.append("")
    problems = evidence["declarations"]["problems"]
    if problems:
        lines.append(
            f"**Declarations: {len(problems)} problem{'s' if len(problems) != 1 else ''}**"
        )
        lines.append("")
        lines += [f"- {md_text(_problem_text(problem))}" for problem in problems]
        lines.append("")
    for check in evidence["checks"]:
        if check["result"] != "passed":
            lines += _md_failure(check)
    lines.append(_md_footer(evidence))
    return "\n".join(lines) + "\n"


def _md_failure(check: Mapping[str, Any]) -> list[str]:
    body = [_finding_text(finding) for finding in check["findings"]]
    output = check.get("output")
    text = "\n".join(body) if body else (output["tail"] if output else "")
    title = "findings" if body else "last lines of output"
    return [
        f"<details><summary>{html.escape(check['name'])}: {title}</summary>",
        "",
        _fence(text or "(no output)"),
        "",
        "</details>",
        "",
    ]


def _md_footer(evidence: Mapping[str, Any]) -> str:
    parts = [
        f"base {md_code(evidence['base']['ref'])} @ {md_code(_short(evidence['base']['sha']))}",
        f"head @ {md_code(_short(evidence['head']['sha']))}",
    ]
    github = evidence["runner"].get("github")
    if github and github.get("run_url"):
        parts.append(f"[run {md_text(github['run_id'])}]({github['run_url']})")
    return "<sub>" + " · ".join(parts) + "</sub>"


__all__ = [
    "first_failing_line",
    "md_code",
    "md_text",
    "render_markdown",
    "render_text",
    "verdict",
]
