"""The audit report as a terminal table, Markdown, JSON, CSV or a self-contained HTML page.

Every renderer shows the same facts: per promotion or rollback its date, change request,
target and versions, pull request, who approved in which role, the checks (with run links),
the artifact hashes, the record's state and finding codes; then the findings. Pure.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import html
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from promotion_bot import __version__
from promotion_bot.core.audit import FINDINGS, AuditReport, Finding, TimelineEntry


def _date(entry: TimelineEntry) -> str:
    return entry.merged_at.strftime("%Y-%m-%d %H:%M")


def _versions(entry: TimelineEntry) -> str:
    if entry.kind == "governance":
        return "-"
    return f"{entry.from_version or '-'} -> {entry.to_version}"


def _approvers(entry: TimelineEntry) -> str:
    return ", ".join(f"{a.login}:{a.role}" for a in entry.approvals) or "-"


def _checks(entry: TimelineEntry) -> str:
    """'3 passed', or '2 passed, rules-lint failed': the table stays narrow."""
    if not entry.checks:
        return "-"
    passed = sum(1 for c in entry.checks if c.result == "passed")
    others = [f"{c.name} {c.result}" for c in entry.checks if c.result != "passed"]
    return ", ".join([f"{passed} passed", *others] if passed else others)


def _state(entry: TimelineEntry) -> str:
    if entry.findings:
        return f"{entry.state} [{', '.join(entry.findings)}]"
    return entry.state


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _summary(report: AuditReport) -> str:
    promotions = sum(1 for e in report.entries if e.kind == "promotion")
    rollbacks = sum(1 for e in report.entries if e.kind == "rollback")
    governance = sum(1 for e in report.entries if e.kind == "governance")
    baselines = {e.change_id for e in report.entries if e.kind == "baseline"}
    others = (f"{_count(governance, 'governance change')}, " if governance else "") + (
        f"{_count(len(baselines), 'baseline')}, " if baselines else ""
    )
    return (
        f"{_count(report.commits, 'commit')} on {report.ref} ({(report.head or '')[:12]}), "
        f"{_count(report.records, 'record')}, {_count(promotions, 'promotion')}, "
        f"{_count(rollbacks, 'rollback')}, {others}{_count(len(report.findings), 'finding')}"
    )


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


HEADER = ["MERGED", "CHANGE", "TARGET", "VERSION", "PR", "APPROVED BY", "CHECKS", "STATE"]
MD_HEADER = ["Merged (UTC)", "Change", "Target", "Version", "PR", "Approved by", "Checks", "Record"]


def _row(entry: TimelineEntry) -> list[str]:
    change = entry.change_id + (f" (rollback of {entry.rollback_of})" if entry.rollback_of else "")
    return [
        _date(entry),
        change,
        entry.target,
        _versions(entry),
        f"#{entry.pull_number}" if entry.pull_number else "-",
        _approvers(entry),
        _checks(entry),
        _state(entry),
    ]


def render_text(report: AuditReport) -> str:
    out = [f"audit: {_summary(report)}"]
    if report.entries:
        out.append("")
        out.append(_table([HEADER, *(_row(e) for e in report.entries)]))
    out.append("")
    if report.findings:
        out.append(f"findings ({len(report.findings)}):")
        for finding in report.findings:
            out.append(f"  {finding.code:26} {finding.message}")
        out.append("")
        out.append("FAILED: the findings above need an explanation (docs/records.md)")
    else:
        out.append("OK: every merge on main is recorded, signed, approved and intact")
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: AuditReport) -> str:
    out = ["# Promotion audit", "", f"{_summary(report)}.", ""]
    if report.entries:
        out.append("| " + " | ".join(MD_HEADER) + " |")
        out.append("|" + "---|" * len(HEADER))
        for entry in report.entries:
            cells = _row(entry)
            if entry.pull_url and entry.pull_number:
                cells[4] = f"[#{entry.pull_number}]({entry.pull_url})"
            runs = sorted({c.run_url for c in entry.checks if c.run_url and _safe_url(c.run_url)})
            if runs:
                links = ", ".join(f"[run]({url})" for url in runs)
                cells[6] = f"{cells[6]} ({links})"
            out.append("| " + " | ".join(_md(c) for c in cells) + " |")
        out.append("")
    if report.findings:
        out += [f"## Findings ({len(report.findings)})", "", "| Code | Finding |", "|---|---|"]
        out += [f"| `{f.code}` | {_md(f.message)} |" for f in report.findings]
    else:
        out.append("**No findings.** Every merge on main is recorded, signed, approved and intact.")
    return "\n".join(out) + "\n"


def render_json(report: AuditReport) -> str:
    return json.dumps(report.as_data(), indent=2) + "\n"


CSV_COLUMNS = [
    "kind",
    "merged_at",
    "change_id",
    "target",
    "change_type",
    "from_version",
    "to_version",
    "rollback_of",
    "commit",
    "pull_request",
    "pull_request_url",
    "merged_by",
    "approvals",
    "checks",
    "run_urls",
    "evidence_sha256",
    "artifacts",
    "state",
    "tag",
    "findings",
]


def render_csv(report: AuditReport) -> str:
    """One row per promotion or rollback, then one row per finding (kind=finding)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in report.entries:
        writer.writerow(
            [
                e.kind,
                e.as_data()["merged_at"],
                e.change_id,
                e.target,
                e.change_type,
                e.from_version or "",
                e.to_version,
                e.rollback_of or "",
                e.commit,
                e.pull_number or "",
                e.pull_url or "",
                e.merged_by or "",
                "; ".join(f"{a.login}={a.role}" for a in e.approvals),
                "; ".join(f"{c.name}={c.result}" for c in e.checks),
                "; ".join(sorted({c.run_url for c in e.checks if c.run_url})),
                e.evidence_sha256 or "",
                "; ".join(f"{path}={digest}" for path, digest in e.artifacts),
                e.state,
                e.tag or "",
                "; ".join(e.findings),
            ]
        )
    for f in report.findings:
        row = dict.fromkeys(CSV_COLUMNS, "")
        row.update(
            kind="finding",
            merged_at=f.as_data()["at"] or "",
            change_id=f.change_id or "",
            target=f.target or "",
            commit=f.commit or "",
            tag=f.tag or "",
            state=f.code,
            findings=f.message,
        )
        writer.writerow([row[c] for c in CSV_COLUMNS])
    return buffer.getvalue()


def _safe_url(url: str) -> bool:
    return urlparse(url).scheme in ("https", "http")


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1f2328}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin-top:2rem}
.summary{color:#59636e;margin-bottom:1rem}
.verdict{padding:.6rem 1rem;border-radius:6px;font-weight:600;margin:1rem 0}
.ok{background:#dafbe1;color:#116329}.bad{background:#ffebe9;color:#a40e26}
table{border-collapse:collapse;width:100%;margin-top:.5rem}
th,td{border-bottom:1px solid #d1d9e0;padding:.4rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600;position:sticky;top:0}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
.state-recorded{color:#116329}.state-violation,.state-unrecorded,.state-invalid{color:#a40e26;font-weight:600}
.code{font-family:ui-monospace,monospace;font-weight:600;color:#a40e26;white-space:nowrap}
.missing{color:#a40e26;margin:.25rem 0 0 1rem;padding:0}
details summary{cursor:pointer;color:#0969da}
.filters{display:flex;gap:.75rem;flex-wrap:wrap;align-items:center;margin:.5rem 0;
padding:.5rem;background:#f6f8fa;border-radius:6px}
.filters input[type=search]{min-width:18rem;padding:.25rem .4rem}
tr:target{background:#fff8c5}
.num{text-align:right}
"""

# Filters the promotions table in the page itself, offline: a search box over each row's text,
# the target, the record state, and "with findings only". No external resource is loaded; the
# page's Content-Security-Policy allows this one script by its hash and nothing else.
_SCRIPT = """
(function(){
var rows=[].slice.call(document.querySelectorAll('#entries tbody tr'));
var texts=rows.map(function(r){return r.textContent.toLowerCase();});
var q=document.getElementById('q'),t=document.getElementById('target'),
s=document.getElementById('state'),f=document.getElementById('flagged'),
n=document.getElementById('shown');
function apply(){
var words=q.value.toLowerCase().split(/\\s+/).filter(Boolean),shown=0;
rows.forEach(function(r,i){
var text=texts[i],ok=words.every(function(w){return text.indexOf(w)>=0;});
ok=ok&&(!t.value||r.getAttribute('data-target')===t.value);
ok=ok&&(!s.value||r.getAttribute('data-state')===s.value);
ok=ok&&(!f.checked||r.getAttribute('data-findings')!=='0');
r.hidden=!ok;if(ok){shown++;}
});
n.textContent=shown+' of '+rows.length;
}
[q,t,s,f].forEach(function(e){e.addEventListener('input',apply);e.addEventListener('change',apply);});
apply();
})();
"""


def _script_hash() -> str:
    digest = hashlib.sha256(_SCRIPT.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


_PULL = re.compile(r"^(https://[^/\s]+/[^/\s]+/[^/\s]+)/pull/\d+$")


def repository_url(report: AuditReport) -> str | None:
    """The repository's web address, from the pull request links the records carry."""
    for entry in report.entries:
        found = _PULL.match(entry.pull_url or "")
        if found:
            return found.group(1)
    return None


def anchor(change_id: str) -> str:
    return "entry-" + re.sub(r"[^A-Za-z0-9_.-]", "-", change_id)


@dataclass(frozen=True)
class TargetSummary:
    target: str
    change_type: str
    version: str
    last_change: str
    last_merged: str
    promotions: int
    rollbacks: int
    findings: int


def target_summaries(report: AuditReport) -> list[TargetSummary]:
    """Per target: the version main promotes now, its last change, and how many promotions,
    rollbacks and findings it had (in this report)."""
    latest: dict[str, TimelineEntry] = {}
    counts: dict[str, list[int]] = {}
    for entry in report.entries:
        if entry.kind == "governance":
            continue  # governance changes have no version; the summary line counts them
        latest[entry.target] = entry
        tally = counts.setdefault(entry.target, [0, 0])
        if entry.kind in ("promotion", "rollback"):
            tally[0 if entry.kind == "promotion" else 1] += 1
    found: dict[str, int] = {}
    for item in report.findings:
        if item.target:
            found[item.target] = found.get(item.target, 0) + 1
    return [
        TargetSummary(
            target,
            entry.change_type,
            entry.to_version,
            entry.change_id,
            _date(entry),
            counts[target][0],
            counts[target][1],
            found.get(target, 0),
        )
        for target, entry in sorted(latest.items())
    ]


def render_html(
    report: AuditReport,
    generated_at: dt.datetime | None = None,
    tool_version: str = __version__,
) -> str:
    e = html.escape
    repo = repository_url(report)

    def commit_link(sha: str) -> str:
        short = e(sha[:12])
        return f'<a class=mono href="{e(repo)}/commit/{e(sha)}">{short}</a>' if repo else (
            f"<span class=mono>{short}</span>"
        )

    verdict = (
        '<div class="verdict ok">No findings: every merge on main is recorded, signed, '
        "approved and intact.</div>"
        if report.ok
        else f'<div class="verdict bad">{len(report.findings)} finding(s) need an '
        "explanation.</div>"
    )
    summaries = "".join(
        f"<tr><td>{e(t.target)}<br><small>{e(t.change_type)}</small></td><td>{e(t.version)}</td>"
        f'<td><a href="#{e(anchor(t.last_change))}">{e(t.last_change)}</a><br>'
        f"<small>{e(t.last_merged)}</small></td><td class=num>{t.promotions}</td>"
        f"<td class=num>{t.rollbacks}</td><td class=num>{t.findings}</td></tr>"
        for t in target_summaries(report)
    )
    rows = []
    for entry in report.entries:
        pull = "-"
        if entry.pull_number:
            pull = (
                f'<a href="{e(entry.pull_url)}">#{entry.pull_number}</a>'
                if entry.pull_url and _safe_url(entry.pull_url)
                else f"#{entry.pull_number}"
            )
        checks = "<br>".join(
            (
                f'<a href="{e(c.run_url)}">{e(c.name)}</a>: {e(c.result)}'
                if c.run_url and _safe_url(c.run_url)
                else f"{e(c.name)}: {e(c.result)}"
            )
            for c in entry.checks
        )
        approvals = "<br>".join(
            f"{e(a.login)} <small>({e(a.role)}, review {a.review_id})</small>"
            for a in entry.approvals
        )
        artifacts = "".join(
            f"<div class=mono>{e(path)}<br>sha256:{e(digest)}</div>"
            for path, digest in entry.artifacts
        )
        change = e(entry.change_id)
        if entry.rollback_of:
            change += (
                f'<br><small>rollback of <a href="#{e(anchor(entry.rollback_of))}">'
                f"{e(entry.rollback_of)}</a></small>"
            )
        state = e(entry.state)
        if entry.findings:
            state += "<br>" + " ".join(f'<span class="code">{e(c)}</span>' for c in entry.findings)
        if entry.state == "violation" and entry.missing:
            state += '<ul class="missing">' + "".join(
                f"<li>{e(line)}</li>" for line in entry.missing
            ) + "</ul>"
        rows.append(
            f'<tr id="{e(anchor(entry.change_id))}" data-target="{e(entry.target)}" '
            f'data-state="{e(entry.state)}" data-findings="{len(entry.findings)}">'
            f"<td>{e(_date(entry))}</td>"
            f"<td>{change}<br><small>{e(entry.title)}</small></td>"
            f"<td>{e(entry.target)}<br><small>{e(entry.change_type)}</small></td>"
            f"<td>{e(_versions(entry))}</td>"
            f"<td>{pull}<br><small>merged by {e(entry.merged_by or '?')}</small></td>"
            f"<td>{approvals or '-'}</td>"
            f"<td>{checks or '-'}</td>"
            f"<td><details><summary>{len(entry.artifacts)} file(s)</summary>{artifacts}"
            f"</details>{commit_link(entry.commit)}</td>"
            f'<td class="state-{e(entry.state)}">{state}</td>'
            "</tr>"
        )
    ids = {entry.change_id for entry in report.entries}
    findings = "".join(
        f'<tr><td class="code">{e(f.code)}</td><td>{e(f.message)}'
        + (
            f' <a href="#{e(anchor(f.change_id))}">(row)</a>'
            if f.change_id and f.change_id in ids
            else ""
        )
        + f"</td><td>{commit_link(f.commit) if f.commit else ''}</td></tr>"
        for f in report.findings
    )
    legend = "".join(
        f'<tr><td class="code">{e(code)}</td><td>{e(text)}</td></tr>'
        for code, text in FINDINGS.items()
        if any(f.code == code for f in report.findings)
    )
    keys = "".join(f"<li class=mono>{e(k)}</li>" for k in report.trusted_keys)
    targets = sorted({x.target for x in report.entries})
    states = sorted({x.state for x in report.entries})
    target_options = "".join(f'<option value="{e(t)}">{e(t)}</option>' for t in targets)
    state_options = "".join(f'<option value="{e(s)}">{e(s)}</option>' for s in states)
    when = (
        generated_at.astimezone(dt.UTC).strftime(" %Y-%m-%d %H:%M:%S UTC") if generated_at else ""
    )
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src '{_script_hash()}'; img-src 'none'; base-uri 'none'; form-action 'none'"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Promotion audit {e((report.head or "")[:12])}</title>
<style>{_CSS}</style></head><body>
<h1>Promotion audit</h1>
<div class="summary">{e(_summary(report))}</div>
{verdict}
<h2>Targets</h2>
{
        "<table><thead><tr><th>Target</th><th>Current version</th><th>Last change</th>"
        "<th class=num>Promotions</th><th class=num>Rollbacks</th><th class=num>Findings</th>"
        "</tr></thead><tbody>" + summaries + "</tbody></table>"
        if summaries
        else "<p>Nothing promoted.</p>"
    }
<h2>Findings</h2>
{
        "<table><thead><tr><th>Code</th><th>Finding</th><th>Commit</th></tr></thead><tbody>"
        + findings + "</tbody></table>"
        if findings
        else "<p>None.</p>"
    }
<h2>Promotions and rollbacks</h2>
<div class="filters"><input type="search" id="q" placeholder="Search: change, title, approver, \
file, commit…" aria-label="Search the promotions">
<label>Target <select id="target"><option value="">all</option>{target_options}</select></label>
<label>Record <select id="state"><option value="">all</option>{state_options}</select></label>
<label><input type="checkbox" id="flagged"> with findings only</label>
<span id="shown" class="summary"></span></div>
<table id="entries"><thead><tr><th>Merged (UTC)</th><th>Change</th><th>Target</th>
<th>Version</th><th>Pull request</th><th>Approved by</th><th>Checks</th><th>Artifacts</th>
<th>Record</th></tr></thead><tbody>
{"".join(rows)}</tbody></table>
{"<h2>What the findings mean</h2><table>" + legend + "</table>" if legend else ""}
<h2>Trusted keys</h2><ul>{keys}</ul>
<p class="summary">Generated{e(when)} by promotion-bot {e(tool_version)} audit, from git \
alone; see docs/records.md.</p>
<script>{_SCRIPT}</script>
</body></html>
"""


RENDERERS: dict[str, Callable[[AuditReport], str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
    "csv": render_csv,
    "html": render_html,
}

__all__ = ["RENDERERS", "Finding", "render_csv", "render_html", "render_json", "render_markdown"]
