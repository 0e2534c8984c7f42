"""A Decision as terminal text, as Markdown (sticky PR comment, job summary) and as JSON.

All three show the same decision from the same tree; none of them decides anything.
The JSON keys are documented in docs/approvals.md and kept stable (`format` names the version).
"""

from __future__ import annotations

import re
from typing import Any

from promotion_bot.core.approvals import (
    COMMENT_MARKER,
    Approval,
    Decision,
    IgnoredReview,
    ReviewRef,
    RoleDecision,
    Status,
)
from promotion_bot.core.models import ChangeRequest
from promotion_bot.core.policy import KeyChange, Reason
from promotion_bot.core.snapshot import format_time

JSON_FORMAT = "promotion-bot/approvals/v1"

_TEXT_MARK = {
    Status.APPROVED: "[ok]",
    Status.PENDING: "[..]",
    Status.BLOCKED: "[!!]",
    Status.ERROR: "[??]",
}
_MD_MARK = {
    Status.APPROVED: "✅ approved",
    Status.PENDING: "⏳ pending",
    Status.BLOCKED: "⛔ blocked",
    Status.ERROR: "❌ error",
}


# -- JSON -------------------------------------------------------------------------------------


def decision_to_json(decision: Decision) -> dict[str, Any]:
    return {
        "format": JSON_FORMAT,
        "status": decision.status.value,
        "summary": decision.summary,
        "pull_request": {
            "number": decision.pull_number,
            "repository": decision.repository,
            "author": decision.author,
            "base_ref": decision.base_ref or None,
            "base_sha": decision.base_sha,
            "head_sha": decision.head_sha,
        },
        "roles": [_role_json(role) for role in decision.roles],
        "change_requests": [_change_request_json(cr) for cr in decision.change_requests],
        "governed_files": list(decision.governed_files),
        "config_key_changes": [_key_change_json(k) for k in decision.key_changes],
        "blocking_reviews": [_review_json(r) for r in decision.blocking],
        "ignored_reviews": [_ignored_json(i) for i in decision.ignored_reviews],
        "unused_approvals": [_ignored_json(i) for i in decision.unused_approvals],
        "membership_source": decision.membership_source,
        "notes": list(decision.notes),
        "problems": [problem.as_dict() for problem in decision.problems],
    }


def _review_json(review: ReviewRef) -> dict[str, Any]:
    return {
        "login": review.login,
        "review_id": review.review_id,
        "state": review.state,
        "commit_id": review.commit_id,
        "submitted_at": format_time(review.submitted_at) if review.submitted_at else None,
    }


def _approval_json(approval: Approval) -> dict[str, Any]:
    return {**_review_json(approval.review), "note": approval.note or None}


def _ignored_json(item: IgnoredReview) -> dict[str, Any]:
    return {**_review_json(item.review), "reason": item.reason}


def _key_change_json(change: KeyChange) -> dict[str, Any]:
    return {"file": change.file, "key": change.key, "before": change.before, "after": change.after}


def _reason_json(reason: Reason) -> dict[str, Any]:
    return {
        "kind": reason.kind,
        "message": reason.message,
        "path": reason.path,
        "change_id": reason.change_id,
        "condition": reason.condition,
        "key_change": _key_change_json(reason.key_change) if reason.key_change else None,
    }


def _role_json(role: RoleDecision) -> dict[str, Any]:
    return {
        "role": role.role,
        "status": role.status.value,
        "owners": list(role.owners),
        "min_approvals": role.min_approvals,
        "approvals": [_approval_json(a) for a in role.satisfied_by],
        "candidates": [{"owner": c.owner, "logins": list(c.logins)} for c in role.candidates],
        "blocked_by": [_review_json(r) for r in role.blocked_by],
        "reasons": [_reason_json(r) for r in role.reasons],
        "notes": list(role.notes),
    }


def _change_request_json(cr: ChangeRequest) -> dict[str, Any]:
    return {
        "change_id": cr.change_id,
        "change_type": cr.change_type,
        "target": cr.target,
        "title": cr.title,
        "current_version": cr.current_version,
        "proposed_version": cr.proposed_version,
        "rollback_of": cr.rollback_of,
        "source_path": cr.source_path,
        "artifacts": [{"path": a.path, "sha256": a.sha256} for a in cr.artifacts],
    }


# -- terminal text ----------------------------------------------------------------------------


def render_text(decision: Decision) -> str:
    lines = [
        f"Pull request #{decision.pull_number}"
        + (f" in {decision.repository}" if decision.repository else "")
        + f" by {decision.author}",
        f"  head {decision.head_sha[:12]}   base "
        + (f"{decision.base_ref} " if decision.base_ref else "")
        + f"{decision.base_sha[:12]}   (policy and CODEOWNERS from the base)",
        "",
        f"Decision: {decision.status.value.upper()}: {decision.summary}",
    ]
    if decision.roles:
        lines.append("")
        lines.append("Roles:")
    for role in decision.roles:
        lines.extend(_role_text(role))
    if decision.change_requests:
        lines.append("")
        lines.append("Change requests:")
        for cr in decision.change_requests:
            lines.append(f"  {cr.change_id} {_versions(cr)}  {cr.title}")
            lines.extend(f"      {a.sha256}  {a.path}" for a in cr.artifacts)
    if decision.blocking:
        lines.append("")
        lines.append("Changes requested (blocking):")
        lines.extend(f"  - {_review_text(r)}" for r in decision.blocking)
    ignored = [*decision.ignored_reviews, *decision.unused_approvals]
    if ignored:
        lines.append("")
        lines.append("Reviews that do not count:")
        lines.extend(f"  - {_review_text(i.review)}: {i.reason}" for i in ignored)
    if decision.notes:
        lines.append("")
        lines.append("Notes:")
        lines.extend(f"  - {note}" for note in decision.notes)
    if decision.problems:
        lines.append("")
        lines.append("Problems (the decision is 'error' until they are fixed):")
        lines.extend(f"  - {problem.render()}" for problem in decision.problems)
    return "\n".join(lines) + "\n"


def _role_text(role: RoleDecision) -> list[str]:
    count = f"{len(role.satisfied_by)}/{role.min_approvals}"
    lines = [f"  {_TEXT_MARK[role.status]} {role.role} ({count})  {role.status.value}"]
    for approval in role.satisfied_by:
        lines.append(f"      approved by {_review_text(approval.review)}")
        if approval.note:
            lines.append(f"        ({approval.note})")
    for review in role.blocked_by:
        lines.append(f"      changes requested by {_review_text(review)}")
    if role.status is not Status.APPROVED:
        for candidate in role.candidates:
            people = ", ".join(candidate.logins) or "nobody"
            lines.append(f"      can still approve: {candidate.owner}: {people}")
    for reason in role.reasons:
        lines.append(f"      because {reason.message}")
    lines.extend(f"      note: {note}" for note in role.notes)
    return lines


def _review_text(review: ReviewRef) -> str:
    when = format_time(review.submitted_at) if review.submitted_at else "not submitted"
    commit = review.commit_id[:7] if review.commit_id else "no commit"
    return f"{review.login or '(deleted user)'} (review {review.review_id}, {when}, on {commit})"


def _versions(cr: ChangeRequest) -> str:
    current = cr.current_version or "(none)"
    text = f"{cr.change_type} {cr.target} {current} -> {cr.proposed_version}"
    if cr.rollback_of:
        text += f", rolls back {cr.rollback_of}"
    return text


# -- Markdown ---------------------------------------------------------------------------------


def render_markdown(decision: Decision) -> str:
    """The sticky PR comment (and job summary). Logins are written without '@' on purpose:
    the comment is rewritten on every event and must not ping people each time."""
    out = [
        COMMENT_MARKER,
        f"## Promotion approvals: {_MD_MARK[decision.status]}",
        "",
        f"**{_md(decision.summary[:1].upper() + decision.summary[1:])}.** "
        f"Head {_code(decision.head_sha[:12])} into "
        + (f"{_code(decision.base_ref)} at " if decision.base_ref else "base ")
        + f"{_code(decision.base_sha[:12])}; "
        "the policy and CODEOWNERS are read from the base branch.",
        "",
    ]
    if decision.problems:
        out.append("### Problems to fix")
        out.append("")
        out.extend(f"- {_code(p.location())}: {_md(p.message)}"
                   + (f" ({_md(p.hint)})" if p.hint else "") for p in decision.problems)
        out.append("")
    if decision.roles:
        out.append("| Role | Status | Approved by | Can still approve |")
        out.append("|---|---|---|---|")
        for role in decision.roles:
            out.append(_role_row(role))
        out.append("")
        out.append("<details><summary>Why these roles are required</summary>")
        out.append("")
        for role in decision.roles:
            out.append(f"- **{_md(role.role)}**")
            out.extend(f"  - {_md(reason.message)}" for reason in role.reasons)
            out.extend(f"  - _{_md(note)}_" for note in role.notes)
        out.append("")
        out.append("</details>")
        out.append("")
    if decision.change_requests:
        out.append("### What you are approving")
        out.append("")
        out.append("| Change request | Type | Target | Version | Artifacts (SHA-256) |")
        out.append("|---|---|---|---|---|")
        for cr in decision.change_requests:
            artifacts = "<br>".join(
                f"{_code(a.path)} {_code(a.sha256)}" for a in cr.artifacts
            )
            current = cr.current_version or "(none)"
            version = f"{_md(current)} → {_md(cr.proposed_version)}"
            if cr.rollback_of:
                version += f" (rolls back {_md(cr.rollback_of)})"
            out.append(
                f"| {_md(cr.change_id)}: {_md(cr.title)} | {_md(cr.change_type)} | "
                f"{_md(cr.target)} | {version} | {artifacts} |"
            )
        out.append("")
    if decision.blocking:
        out.append("### Changes requested")
        out.append("")
        out.extend(f"- {_review_md(r)}" for r in decision.blocking)
        out.append("")
    ignored = [*decision.ignored_reviews, *decision.unused_approvals]
    if ignored:
        out.append(f"<details><summary>Reviews that do not count ({len(ignored)})</summary>")
        out.append("")
        out.extend(f"- {_review_md(i.review)}: {_md(i.reason)}" for i in ignored)
        out.append("")
        out.append("</details>")
        out.append("")
    if decision.notes:
        out.append("**Notes**")
        out.append("")
        # notes quote commit identities and trailers: _md keeps every '@' from pinging
        out.extend("- " + _md(note) for note in decision.notes)
        out.append("")
    out.append(
        "<sub>Only GitHub reviews on the head commit count; one person fills one role. "
        "Reproduce offline: `promotion-bot approvals --snapshot pr.json`.</sub>"
    )
    return "\n".join(out) + "\n"


def _role_row(role: RoleDecision) -> str:
    count = f"{len(role.satisfied_by)}/{role.min_approvals}"
    status = f"{_MD_MARK[role.status]} ({count})"
    approved = "<br>".join(
        _review_md(a.review) + (f" _{_md(a.note)}_" if a.note else "") for a in role.satisfied_by
    )
    if role.blocked_by:
        blocked = "<br>".join(f"changes requested: {_review_md(r)}" for r in role.blocked_by)
        approved = f"{approved}<br>{blocked}" if approved else blocked
    still = ""
    if role.status is not Status.APPROVED:
        still = "<br>".join(
            f"{_code(c.owner)}: {_md(', '.join(c.logins)) or 'nobody'}" for c in role.candidates
        )
    return f"| **{_md(role.role)}** | {status} | {approved or '–'} | {still or '–'} |"


def _review_md(review: ReviewRef) -> str:
    when = format_time(review.submitted_at) if review.submitted_at else "not submitted"
    commit = _code(review.commit_id[:7]) if review.commit_id else "no commit"
    return f"{_md(review.login or '(deleted user)')} (review {review.review_id}, {when}, {commit})"


# Markdown's punctuation that can start markup (emphasis, links, images, HTML, entities, math,
# headings, tables), escaped with a backslash
_MD_SPECIAL = frozenset("\\`*_[]<>|~&$#!")
_ZWSP = "\u200b"
# what GitHub turns into pings, references or links even in plain text: @mentions (and e-mail
# addresses), #123 and GH-123 references, bare URLs and www. links
_LIVE_TEXT = re.compile(r"@|#(?=[0-9])|(?i:\bGH-)(?=[0-9])|(?i::)(?=//)|(?i:\bwww)(?=\.)")


def _md(text: str) -> str:
    """Make text that may come from a pull request inert (titles, paths, config values,
    logins): no markup, no HTML, no cell break, no mention, no reference, no link. A
    zero-width space after '@', '#', 'GH-', ':' before '//' and 'www' keeps GitHub from
    reading them; the text still reads the same."""
    flat = " ".join(text.split())
    live = _LIVE_TEXT.sub(lambda match: match.group(0) + _ZWSP, flat)
    return "".join(f"\\{char}" if char in _MD_SPECIAL else char for char in live)


def _code(text: str) -> str:
    """A code span (inside one, GitHub links and pings nothing): a fence longer than any run
    of backticks in the text, and '|' escaped so that a table cell cannot end early."""
    flat = " ".join(text.split()).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    if longest:
        return f"{fence} {flat} {fence}"
    return f"{fence}{flat}{fence}"


def render(decision: Decision, output_format: str) -> str:
    if output_format == "markdown":
        return render_markdown(decision)
    if output_format == "text":
        return render_text(decision)
    raise ValueError(f"unknown format {output_format!r}")
