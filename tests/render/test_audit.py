"""The HTML audit report: what an auditor with thousands of records needs to find their way."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from html.parser import HTMLParser

from promotion_bot.core.audit import AuditReport, Finding, TimelineEntry
from promotion_bot.core.records import Approval, CheckSummary
from promotion_bot.render.audit import render_html, target_summaries

REPO = "https://github.com/example-org/intake-routing"
WHEN = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def entry(change_id: str, target: str, to: str, *, state: str = "recorded", rollback_of: str | None = None,
          findings: list[str] | None = None, number: int | None = 101, roles: tuple[str, ...] = (),
          approvals: tuple[Approval, ...] = (), violations: tuple[str, ...] = ()) -> TimelineEntry:
    return TimelineEntry(
        change_id=change_id, target=target, change_type="ruleset", title=f"{target} {to}",
        from_version=None, to_version=to, rollback_of=rollback_of,
        commit=hashlib.sha1(change_id.encode()).hexdigest(), merged_at=WHEN, state=state,
        merged_by="adam", pull_number=number, pull_url=f"{REPO}/pull/{number}" if number else None,
        approvals=approvals, checks=(CheckSummary("rules-lint", "passed", f"{REPO}/actions/runs/7/attempts/1"),),
        artifacts=(("configs/a.json", "0" * 64),), tag=f"promotion/{change_id}",
        findings=findings or [], required_roles=roles, violations=violations,
    )


def report() -> AuditReport:
    rita = Approval("rita", "reviewer", 5001, None, "2026-03-01T10:00:00Z")
    entries = [
        entry("CR-2026-0001", "routing-rules", "1.0.0"),
        entry("CR-2026-0002", "routing-rules", "1.1.0"),
        entry("CR-2026-0003", "routing-rules", "1.0.0", rollback_of="CR-2026-0002"),
        entry("CR-2026-0004", "classifier", "2.0.0", state="violation", findings=["POLICY_VIOLATION"],
              roles=("reviewer", "administrator"), approvals=(rita,),
              violations=("approvals: pending: waiting for administrator", "role administrator: pending")),
    ]
    findings = [Finding("POLICY_VIOLATION", "CR-2026-0004 was merged without satisfying the policy",
                        change_id="CR-2026-0004", commit=entries[3].commit, target="classifier")]
    return AuditReport("main", "f" * 40, entries, findings, 5, 1, 4, ["abc (policy on main)"])


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        if tag == "script":
            assert "src" not in values, "the report loads nothing from outside the file"
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def test_per_target_summary_counts_promotions_rollbacks_and_findings() -> None:
    summaries = {s.target: s for s in target_summaries(report())}
    rules = summaries["routing-rules"]
    assert (rules.version, rules.last_change, rules.promotions, rules.rollbacks, rules.findings) == (
        "1.0.0", "CR-2026-0003", 2, 1, 0)
    assert (summaries["classifier"].promotions, summaries["classifier"].findings) == (1, 1)
    html = render_html(report(), generated_at=WHEN)
    assert re.search(r"<td>routing-rules<br><small>ruleset</small></td><td>1\.0\.0</td>.*?CR-2026-0003.*?"
                     r"<td class=num>2</td><td class=num>1</td><td class=num>0</td>", html)


def test_governance_changes_are_counted_apart_from_targets() -> None:
    with_governance = report()
    governance = entry("GOV-0123456789ab", "(governance)", "", roles=("administrator",))
    governance.record_kind, governance.change_type = "governance", "governance"
    with_governance.entries.append(governance)
    assert "(governance)" not in {s.target for s in target_summaries(with_governance)}
    html = render_html(with_governance, generated_at=WHEN)
    assert "1 rollback, 1 governance change, 1 finding" in html
    row = html[html.index('id="entry-GOV-0123456789ab"'):]
    assert "<td>-</td>" in row[: row.index("</tr>")]  # no version for a governance change


def test_findings_link_to_their_rows_and_commits_to_the_repository() -> None:
    page = Page()
    page.feed(render_html(report(), generated_at=WHEN))
    internal = [link for link in page.links if link.startswith("#")]
    assert "#entry-CR-2026-0004" in internal
    assert all(link[1:] in page.ids for link in internal), "every in-page link has its target"
    commit = hashlib.sha1(b"CR-2026-0004").hexdigest()
    assert f"{REPO}/commit/{commit}" in page.links
    assert f"{REPO}/pull/101" in page.links


def test_filter_and_search_work_offline_under_a_strict_content_security_policy() -> None:
    html = render_html(report(), generated_at=WHEN)
    page = Page()
    page.feed(html)
    [script] = page.scripts
    allowed = re.search(r"script-src '(sha256-[^']+)'", html)
    assert allowed is not None
    assert allowed.group(1) == "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert "default-src 'none'" in html
    assert {"q", "target", "state", "flagged", "entries"} <= page.ids
    row = re.search(r'<tr id="entry-CR-2026-0004" data-target="classifier" data-state="violation" '
                    r'data-findings="1">(.*?)</tr>', html, flags=re.S)
    assert row is not None  # the filters read these attributes; the search reads the row's text
    assert "rita" in row.group(1) and "configs/a.json" in row.group(1)


def test_a_violation_row_says_what_was_missing() -> None:
    html = render_html(report(), generated_at=WHEN)
    row = html[html.index('id="entry-CR-2026-0004"'):]
    row = row[: row.index("</tr>")]
    assert "<li>administrator: no approval</li>" in row
    assert "reviewer: no approval" not in row  # rita approved as reviewer


def test_generation_time_and_tool_version() -> None:
    html = render_html(report(), generated_at=WHEN, tool_version="9.8.7")
    assert "Generated 2026-03-01 12:00:00 UTC by promotion-bot 9.8.7 audit" in html


def test_hostile_text_is_escaped() -> None:
    hostile = report()
    hostile.entries[0].title = '<img src=x onerror=alert(1)>"'
    html = render_html(hostile, generated_at=WHEN)
    assert "<img src=x" not in html and "&lt;img src=x" in html
